"""Forms of participants' accounts: sign-in, password reset and change, visibility, language.

The registration form itself (e-mail, optional password, standard and custom fields) is built
per request from the tenant's design: see ``tenants.fields.answer_form``. Both use
``PasswordPolicy`` so every new password meets the same policy (``core.web.passwords``).
"""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)

from core.web import passwords

EMAIL_LENGTH = 254
PASSWORD_LENGTH = 1024  # argon2 hashes anything, but nobody needs more
LANGUAGE_CHOICES = [SelectChoice("fr", "Français", {"lang": "fr"}),
                    SelectChoice("en", "English", {"lang": "en"})]

PASSWORD_PROBLEMS = {
    "too_short": _l("Use at least %(num)d characters.", num=passwords.MIN_PASSWORD_LENGTH),
    "too_repetitive": _l("Use more different characters: this password repeats too few."),
    "contains_email": _l("Do not use your e-mail address in your password."),
}
VISIBILITY_LABELS = {
    "nobody": _l("Nobody: I do not appear in participant lists."),
    "participants": _l("Other participants: signed-in participants see my first name and the "
                       "initial of my last name."),
    "public": _l("Everyone: anyone visiting this site sees my first name and the initial of my "
                 "last name."),
}


class EmailAddress:
    """A deliverable-looking address in plain ASCII (``core.mail`` sends to ASCII addresses
    only); the field's data becomes the address with its domain lower-cased."""

    message = _l("Enter a valid e-mail address, such as name@example.org.")

    def __call__(self, form: Any, field: Any) -> None:
        value = (field.data or "").strip()
        if not value:
            return
        try:
            checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            raise ValidationError(str(self.message)) from None
        field.data = checked.normalized


class PasswordPolicy:
    """The shared policy, with reasons in the reader's language. The e-mail it must not contain
    is the form's ``email`` field, or ``form.account_email`` when the address is known."""

    def __call__(self, form: Any, field: Any) -> None:
        email = form.email.data if "email" in form else getattr(form, "account_email", "")
        found = passwords.problems(field.data or "", email=email or "")
        if found:
            raise ValidationError(" ".join(str(PASSWORD_PROBLEMS[p]) for p in found))


def email_field() -> EmailField:
    return EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")), Length(max=EMAIL_LENGTH),
        EmailAddress()], filters=[_strip], render_kw={"autocomplete": "email"})


def _password_field() -> PasswordField:
    return PasswordField(
        _l("Password"),
        description=_l("At least %(num)d characters.", num=passwords.MIN_PASSWORD_LENGTH),
        validators=[DataRequired(_l("Choose a password.")), Length(max=PASSWORD_LENGTH),
                    PasswordPolicy()],
        render_kw={"autocomplete": "new-password"})


def _confirm_field() -> PasswordField:
    return PasswordField(
        _l("Password again"),
        validators=[DataRequired(_l("Type the password a second time.")),
                    EqualTo("password", _l("The two passwords are different."))],
        render_kw={"autocomplete": "new-password"})


# The privacy note shown on the sign-up form (participants/signup.html): its version is recorded
# in the consent ledger with each sign-up. Change it whenever the note's wording changes.
PRIVACY_NOTE_VERSION = "2026-11-23"


def marketing_field() -> BooleanField:
    """The opt-in to the organisation's news, unticked unless the person ticks it."""
    return BooleanField(_l("Send me news of this organisation's next events by e-mail. You can "
                           "stop at any time."))


def new_password_fields() -> dict[str, PasswordField]:
    """A new password and its confirmation, as form class attributes."""
    return {"password": _password_field(), "password_confirm": _confirm_field()}


def optional_password_fields() -> dict[str, PasswordField]:
    """The sign-up's password and its confirmation, both optional: left blank, the account
    signs in by e-mailed links and codes, and nothing is hashed. Typed, the password meets the
    same policy as any new password and must be typed twice."""
    return {
        "password": PasswordField(
            _l("Password (optional)"),
            description=_l("Leave it blank to sign in with a link sent by e-mail. Otherwise, "
                           "at least %(num)d characters.", num=passwords.MIN_PASSWORD_LENGTH),
            validators=[Optional(), Length(max=PASSWORD_LENGTH), PasswordPolicy()],
            render_kw={"autocomplete": "new-password"}),
        "password_confirm": PasswordField(
            _l("Password again"),
            validators=[_SameAsPassword()], render_kw={"autocomplete": "new-password"})}


class _SameAsPassword:
    """The confirmation of an optional password: needed only when a password was typed."""

    def __call__(self, form: Any, field: Any) -> None:
        typed = form.password.data or ""
        if not typed and not field.data:
            raise StopValidation()
        if not field.data:
            raise StopValidation(str(_l("Type the password a second time.")))
        if field.data != typed:
            raise StopValidation(str(_l("The two passwords are different.")))


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    # No format check: a malformed address simply matches no account.
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")), Length(max=EMAIL_LENGTH)],
        render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class SignInLinkForm(FlaskForm):
    """Ask for a sign-in link and code by e-mail (no format check, as on the password form)."""

    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")), Length(max=EMAIL_LENGTH)],
        filters=[_strip], render_kw={"autocomplete": "email"})
    next = HiddenField()


class SignInCodeForm(FlaskForm):
    """The code of a sign-in e-mail, with the address it was sent to."""

    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")), Length(max=EMAIL_LENGTH)],
        filters=[_strip], render_kw={"autocomplete": "email"})
    code = StringField(_l("Code received by e-mail"), validators=[
        DataRequired(_l("Enter the code of the e-mail.")), Length(max=20)],
        filters=[_strip], description=_l("%(num)d digits.", num=6),
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
    next = HiddenField()


class SetPasswordForm(FlaskForm):
    """A first password, for an account that had none (signed in by e-mail)."""

    password = _password_field()
    password_confirm = _confirm_field()


class EmailForm(FlaskForm):
    """One e-mail address: to reset a password, or to send a confirmation link again."""

    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")), Length(max=EMAIL_LENGTH)],
        filters=[_strip], render_kw={"autocomplete": "email"})


class ResetForm(FlaskForm):
    """A new password, chosen after following an e-mailed reset link."""

    password = _password_field()
    password_confirm = _confirm_field()


class ChangePasswordForm(ResetForm):
    current = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")), Length(max=PASSWORD_LENGTH)],
        render_kw={"autocomplete": "current-password"})


def visibility_form(allowed: tuple[str, ...], current: str, *, submitted: bool) -> FlaskForm:
    """Who sees me in participant lists, among what the tenant allows; ``submitted``: read
    the request's form (else show the current choice)."""

    class VisibilityForm(FlaskForm):
        visibility = RadioField(
            _l("Who sees me in participant lists"),
            choices=[SelectChoice(v, VISIBILITY_LABELS[v]) for v in allowed],
            default=current if current in allowed else allowed[0],
            validators=[DataRequired(_l("Choose who sees you."))])

    return VisibilityForm() if submitted else VisibilityForm(formdata=None)


def language_field(default: str) -> SelectField:
    return SelectField(_l("Language of my e-mails"), choices=LANGUAGE_CHOICES, default=default,
                       validators=[DataRequired()])

