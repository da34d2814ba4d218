"""Forms of the registration pages: they carry no personal data, only choices and intents."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Form,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import Length, Optional

# A context where French agrees with "inscription" (feminine), unlike an event's status.
STATUS_LABELS = {
    "pending": _l("E-mail not confirmed"),
    "awaiting": _l("Awaiting approval"),
    "confirmed": lazy_pgettext("registration", "Confirmed"),
    "waitlisted": _l("Waiting list"),
    "cancelled": lazy_pgettext("registration", "Cancelled"),
    "refused": lazy_pgettext("registration", "Refused"),
}


class RegisterForm(FlaskForm):
    """The Register button: nothing but the CSRF token."""


class CancelForm(FlaskForm):
    """Cancelling takes two steps without JavaScript: the first POST asks, ``confirm`` does."""

    confirm = BooleanField()
    next = HiddenField(validators=[Optional(), Length(max=2000)])


class JoinLinkForm(FlaskForm):
    """Ask for the join link again (by e-mail only)."""


class DecisionForm(FlaskForm):
    """Approve or refuse; ``view`` says which page's row an htmx request swaps back."""

    view = SelectField(choices=[SelectChoice("roster", "roster"),
                                SelectChoice("approvals", "approvals")], default="roster")


class AttendanceForm(FlaskForm):
    """Mark registrants as attended (``attended`` 1) or not (0): one row or the ticked ones."""

    registration = SelectMultipleField(coerce=int, validate_choice=False)
    attended = SelectField(choices=[SelectChoice("1", "1"), SelectChoice("0", "0")])
    status = HiddenField(validators=[Optional(), Length(max=20)])  # the roster's filter


class RosterFilter(Form):
    """The roster's status filter (a GET form: no CSRF token, nothing is written)."""

    status = SelectField(_l("Status"), default="",
                         choices=[SelectChoice("", _l("All statuses")),
                                  *(SelectChoice(key, label)
                                    for key, label in STATUS_LABELS.items())])
