"""The search and filters of the staff's participant list (a GET form: no CSRF token, nothing
is written); see ``tenants.participants.directory`` for what each filter selects."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Form, SearchField, SelectChoice, SelectField
from wtforms.validators import Length, Optional

from tenants.participants.forms import LANGUAGE_CHOICES

SEARCH_LENGTH = 200
YES_NO_ANY = [SelectChoice("", _l("All")), SelectChoice("yes", _l("Yes")),
              SelectChoice("no", _l("No"))]


def participant_filter(events: list[tuple[str, str]], status_labels: dict[str, Any]) -> type:
    """The form class; ``events``: (id, label) of the events offered, ``status_labels`` the
    registration statuses."""

    class ParticipantFilter(Form):
        q = SearchField(_l("Search (name or e-mail)"), validators=[
            Optional(), Length(max=SEARCH_LENGTH, message=_l(
                "The search is limited to %(max)d characters."))])
        event = SelectField(_l("Registered to"), default="", choices=[
            SelectChoice("", _l("Any event")),
            *(SelectChoice(key, label) for key, label in events)])
        status = SelectField(_l("Registration status"), default="", choices=[
            SelectChoice("", _l("All statuses")),
            *(SelectChoice(key, label) for key, label in status_labels.items())])
        language = SelectField(_l("Language"), default="",
                               choices=[SelectChoice("", _l("All")), *LANGUAGE_CHOICES])
        restricted = SelectField(_l("Processing restricted"), default="", choices=YES_NO_ANY)
        opted_in = SelectField(_l("News opt-in"), default="", choices=YES_NO_ANY)

    return ParticipantFilter
