from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from core.web import passwords

PASSWORD_LENGTH = 1024  # argon2 hashes anything, but nobody needs more
PASSWORD_PROBLEMS = {
    "too_short": _l("Use at least %(num)d characters.", num=passwords.MIN_PASSWORD_LENGTH),
    "too_repetitive": _l("Use more different characters: this password repeats too few."),
    "contains_email": _l("Do not use your e-mail address in your password."),
}


class LoginForm(FlaskForm):
    # No format check here: a malformed address simply does not match an account.
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=PASSWORD_LENGTH)])
    next = HiddenField()


class PasswordPolicy:
    """The platform's password policy, with reasons in the reader's language; the e-mail the
    password must not contain is ``form.account_email``."""

    def __call__(self, form: Any, field: Any) -> None:
        found = passwords.problems(field.data or "", email=getattr(form, "account_email", ""))
        if found:
            raise ValidationError(" ".join(str(PASSWORD_PROBLEMS[p]) for p in found))


def new_password_fields() -> tuple[PasswordField, PasswordField]:
    return (
        PasswordField(_l("New password"), validators=[
            DataRequired(_l("Choose a password.")), Length(max=PASSWORD_LENGTH),
            PasswordPolicy()], description=_l("At least %(num)d characters.",
                                              num=passwords.MIN_PASSWORD_LENGTH)),
        PasswordField(_l("Repeat the new password"), validators=[
            DataRequired(_l("Repeat the password.")),
            EqualTo("new_password", _l("The two passwords are different."))]),
    )


def code_field(label: Any = None) -> StringField:
    return StringField(label or _l("Code"), validators=[
        DataRequired(_l("Enter the code.")), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class CodeForm(FlaskForm):
    """The second sign-in step: a code from the app, or a recovery code."""

    code = code_field(_l("Code from your authentication app, or a recovery code"))


class SetupForm(FlaskForm):
    code = code_field(_l("Code shown by the app"))


class ConfirmForm(FlaskForm):
    """Password and a second factor again, before two-factor sign-in is turned off or its
    recovery codes are replaced."""

    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=PASSWORD_LENGTH)])
    code = code_field(_l("Code from your authentication app, or a recovery code"))


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=PASSWORD_LENGTH)])
    new_password, confirm = new_password_fields()

    def __init__(self, account_email: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_email = account_email
