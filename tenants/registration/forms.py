"""Forms of the registration pages: they carry no personal data, only choices and intents."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, HiddenField, SelectChoice, SelectField
from wtforms.validators import Length, Optional

STATUS_LABELS = {
    "pending": _l("E-mail not confirmed"),
    "awaiting": _l("Awaiting approval"),
    "confirmed": _l("Confirmed"),
    "waitlisted": _l("Waiting list"),
    "cancelled": _l("Cancelled"),
    "refused": _l("Refused"),
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


class RosterFilter(Form):
    """The roster's status filter (a GET form: no CSRF token, nothing is written)."""

    status = SelectField(_l("Status"), default="",
                         choices=[SelectChoice("", _l("All statuses")),
                                  *(SelectChoice(key, label)
                                    for key, label in STATUS_LABELS.items())])
