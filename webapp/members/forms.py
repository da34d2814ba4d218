from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from tenants.api import ROLES
from webapp.auth.forms import PASSWORD_LENGTH, new_password_fields

ROLE_LABELS = {
    "owner": _l("owner"),
    "admin": _l("administrator"),
    "manager": _l("manager"),
    "moderator": _l("moderator"),
    "viewer": _l("viewer"),
}


def role_choices(roles: tuple[str, ...] = ROLES) -> list[SelectChoice]:
    return [SelectChoice(role, ROLE_LABELS[role]) for role in roles]


class EmailAddress:
    """A deliverable-looking plain-ASCII address (``core.mail`` sends to ASCII addresses only)."""

    message = _l("Enter a valid e-mail address, such as name@example.org.")

    def __call__(self, form: Any, field: Any) -> None:
        try:
            checked = validate_email((field.data or "").strip(), check_deliverability=False,
                                     allow_smtputf8=False)
        except EmailNotValidError:
            raise ValidationError(str(self.message)) from None
        field.data = checked.normalized


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter an e-mail address.")), Length(max=254), EmailAddress()])
    # Choices are the roles the inviter may give; a forged value fails validation.
    role = SelectField(_l("Role"), choices=role_choices(), default="viewer")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices())


class TransferForm(FlaskForm):
    member = SelectField(_l("New owner"), coerce=int, choices=[], validate_choice=True)
    password = PasswordField(_l("Your password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=PASSWORD_LENGTH)])


class PolicyForm(FlaskForm):
    require_two_factor = BooleanField(_l("Require two-factor sign-in for every member"))


class AcceptForm(FlaskForm):
    """Accepting an invitation with a new account: the e-mail is the invited one."""

    display_name = StringField(_l("Your name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=200)])
    new_password, confirm = new_password_fields()

    def __init__(self, account_email: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_email = account_email
