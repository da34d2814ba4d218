"""Signup forms. The account's password follows the one policy (``core.web.passwords``)."""

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
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from core.web import passwords
from webapp.billing import plans

PASSWORD_PROBLEMS = {
    "too_short": _l("Use at least %(num)d characters.", num=passwords.MIN_PASSWORD_LENGTH),
    "too_repetitive": _l("Use more different characters: this password repeats too few."),
    "contains_email": _l("Do not use your e-mail address in your password."),
}
# Each language is named in itself (an autonym), so it is not translated.
LANGUAGE_CHOICES = [SelectChoice("fr", "Français", {"lang": "fr"}),
                    SelectChoice("en", "English", {"lang": "en"})]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class EmailAddress:
    """A deliverable-looking ASCII address (``core.mail`` sends to ASCII addresses only)."""

    message = _l("Enter a valid e-mail address, such as name@example.org.")

    def __call__(self, form: Any, field: Any) -> None:
        if not field.data:
            return
        try:
            checked = validate_email(field.data, check_deliverability=False,
                                     allow_smtputf8=False)
        except EmailNotValidError:
            raise ValidationError(str(self.message)) from None
        field.data = checked.normalized


def _password_policy(form: Any, field: Any) -> None:
    found = passwords.problems(field.data or "", email=form.email.data or "")
    if found:
        raise ValidationError(" ".join(str(PASSWORD_PROBLEMS[p]) for p in found))


def plan_field() -> HiddenField:
    return HiddenField(validators=[DataRequired(_l("Choose one of the plans."))])


STALE = _l("The terms or the agreement changed while you were reading them. Please read the "
           "current versions and accept them.")


class AccountForm(FlaskForm):
    plan = plan_field()
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")), Length(max=254), EmailAddress()],
        filters=[_strip], render_kw={"autocomplete": "email"})
    password = PasswordField(
        _l("Password"),
        description=_l("At least %(num)d characters.", num=passwords.MIN_PASSWORD_LENGTH),
        validators=[DataRequired(_l("Choose a password.")), Length(max=1024), _password_policy],
        render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(_l("Type the password a second time.")),
                    EqualTo("password", _l("The two passwords are different."))],
        render_kw={"autocomplete": "new-password"})


class OrganisationForm(FlaskForm):
    """The organisation's name, and the terms and DPA, accepted in the versions shown."""

    plan = plan_field()
    name = StringField(_l("Organisation name"), validators=[
        DataRequired(_l("Enter the organisation's name.")), Length(max=200)], filters=[_strip],
        render_kw={"autocomplete": "organization"})
    terms_version = HiddenField(validators=[DataRequired(STALE)])
    dpa_version = HiddenField(validators=[DataRequired(STALE)])
    accept_terms = BooleanField(
        _l("I have read and accept the terms of service on behalf of my organisation."),
        validators=[DataRequired(_l("Accept the terms of service to continue."))])
    accept_dpa = BooleanField(
        _l("I have read and accept the data processing agreement on behalf of my "
           "organisation."),
        validators=[DataRequired(_l("Accept the data processing agreement to continue."))])


class PaymentForm(FlaskForm):
    plan = RadioField(_l("Plan"), choices=[SelectChoice(code) for code in plans.PLANS],
                      validators=[DataRequired(_l("Choose one of the plans."))])


class OnboardingForm(FlaskForm):
    name = StringField(_l("Organisation name"), validators=[
        DataRequired(_l("Enter the organisation's name.")), Length(max=200)], filters=[_strip])
    slug = StringField(_l("Address name"), description=_l(
        "Lowercase letters, digits and hyphens; it appears in your space's address, "
        "e.g. /t/my-club/."),
        validators=[DataRequired(_l("Enter an address name.")), Length(max=41)],
        filters=[_strip])
    default_language = SelectField(_l("Default language"), choices=LANGUAGE_CHOICES)
    legal_name = StringField(_l("Legal name of the controller"), description=_l(
        "The organisation responsible for your participants' data, as registered."),
        validators=[DataRequired(_l("Enter the controller's legal name.")), Length(max=200)],
        filters=[_strip])
    address = TextAreaField(_l("Postal address"), validators=[
        DataRequired(_l("Enter the controller's postal address.")), Length(max=500)],
        filters=[_strip], render_kw={"rows": 3, "autocomplete": "street-address"})
    dpo_name = StringField(_l("Data protection officer or contact"), description=_l(
        "The person participants can write to about their data."),
        validators=[DataRequired(_l("Enter the name of the data protection officer or "
                                    "contact.")), Length(max=200)], filters=[_strip])
    dpo_email = EmailField(_l("Their e-mail address"), validators=[
        DataRequired(_l("Enter the data protection contact's e-mail address.")),
        Length(max=254), EmailAddress()], filters=[_strip])
