"""An event's registrations as CSV, for spreadsheets: safe to open, readable, and bounded in SQL.

- Formula injection (OWASP "CSV Injection"): a cell starting with ``=``, ``+``, ``-``, ``@``, a
  tab or a carriage return is prefixed with ``'`` so a spreadsheet shows it as text instead of
  running it. Nothing else is changed: CSV is not HTML, values are written as typed.
- UTF-8 with a byte-order mark, so Excel reads accents right; headers in the reader's language.
- Streamed in batches of ``BATCH`` registrations: one statement reads the fields, one the
  registrations with their participants, and one per batch the answers, whatever the numbers of
  registrants and fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from core.web.spreadsheet import BOM, csv_line, csv_lines
from tenants.db import tenant_context
from tenants.events.models import Event
from tenants.fields import services as fields
from tenants.fields.answers import answers_for, display_value
from tenants.fields.models import Answer, CustomField
from tenants.participants.models import Participant
from tenants.registration.forms import STATUS_LABELS
from tenants.registration.models import Registration
from tenants.rights.models import restricted_ids
from tenants.settings import services as settings
from tenants.texts import pick

BATCH = 1000
# Standard fields other than the names, which are always exported, in form order.
STANDARD_LABELS = {"mobile_phone": _l("Mobile phone"), "city": _l("City"),
                   "postal_code": _l("Postal code"), "job_function": _l("Job function")}


def filename(event: Event) -> str:
    return f"registrations-{event.id}.csv"


def _columns(db: Session, event_id: int) -> list[CustomField]:
    """Active fields, then removed ones that this event's registrants answered (one query)."""
    registrants = select(Registration.participant_id).where(Registration.event_id == event_id)
    answered = exists().where(Answer.field_id == CustomField.id,
                              Answer.participant_id.in_(registrants))
    return list(db.scalars(
        select(CustomField).where(or_(CustomField.archived_at.is_(None), answered))
        .order_by(CustomField.archived_at.is_not(None), CustomField.position, CustomField.id)))


def stream(slug: str, event_id: int, zone_name: str, language: str) -> Iterator[str]:
    """The CSV text, header first, then one chunk per batch of registrations.

    Read in a unit of work of its own: a streamed body is read after the request's unit of work
    has ended, and nothing here may outlive the download.
    """
    with tenant_context(slug) as db:
        yield from _rows(db, event_id, ZoneInfo(zone_name), language)


def _rows(db: Session, event_id: int, zone: ZoneInfo, language: str) -> Iterator[str]:
    default = settings.languages(db)[0]
    modes = fields.standard_modes(db)
    standard = [key for key in STANDARD_LABELS if modes.get(key, "off") != "off"]
    columns = _columns(db, event_id)

    def label(field: CustomField) -> str:
        text = pick(field.label, language, default)
        return _("%(label)s (removed)", label=text) if field.archived_at else text

    yield BOM + csv_line([
        _("Last name"), _("First name"), _("E-mail"),
        *(str(STANDARD_LABELS[key]) for key in standard),
        _("Status"), _("Registered at (%(zone)s)", zone=zone.key),
        *(label(field) for field in columns)])
    result = db.execute(
        select(Registration, Participant)
        .join(Participant, Participant.id == Registration.participant_id)
        .where(Registration.event_id == event_id,
               # Art. 18: a participant who restricted processing is in no export.
               Registration.participant_id.not_in(restricted_ids()))
        .order_by(Registration.created_at, Registration.id)
        .execution_options(yield_per=BATCH))
    for batch in result.partitions():
        answers = answers_for(db, [participant.id for _registration, participant in batch])
        rows = []
        for registration, participant in batch:
            mine: dict[int, Any] = answers.get(participant.id, {})
            values = [display_value(field, mine[field.id], language, default)
                      if field.id in mine else "" for field in columns]
            rows.append([
                participant.last_name, participant.first_name, participant.email,
                *(getattr(participant, key) for key in standard),
                str(STATUS_LABELS[registration.status]),
                registration.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                *values])
        yield csv_lines(rows)
