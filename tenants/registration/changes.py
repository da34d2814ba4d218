"""A registrant changes their answers to the registration form until the event starts, and the
organiser sees which questions changed and when (issue 19, item 6).

The answers are the participant's (one per question, ``fields.answers``), so a change made for
one registration is a change to the answers on file; it is recorded (``AnswerChange``) against
that registration. The form is the registration form itself (``fields.answer_form``), so its
checks are the same; a blank required answer or one to a question not asked is refused there.
Only the names of the changed questions are kept, not the former values: a correction
replaces them. The records go with their registration (cascade, and the registrations'
retention step deletes them explicitly).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.web.pagination import Page, paginate
from tenants.events.models import Event
from tenants.fields import answers
from tenants.fields.answer_form import STANDARD_LABELS, AnswersForm
from tenants.fields.models import CustomField
from tenants.participants.models import Participant
from tenants.registration.models import ACTIVE, AnswerChange, Registration
from tenants.registration.services import RegistrationError
from tenants.texts import pick


def may_change(registration: Registration, event: Event, now: datetime | None = None) -> bool:
    """A live registration to a published event that has not started yet."""
    now = now or utcnow()
    return (registration.status in ACTIVE and event.status == "published"
            and event.starts_at > now)


def _snapshot(db: Session, participant: Participant, keys: Iterable[str]) -> dict[str, Any]:
    """The participant's standard fields asked by the form and every custom answer on file."""
    found: dict[str, Any] = {key: getattr(participant, key) or "" for key in keys}
    stored = answers.answers_for(db, [participant.id]).get(participant.id, {})
    found.update({f"field:{field_id}": value for field_id, value in stored.items()})
    return found


def change_answers(db: Session, registration: Registration, participant: Participant,
                   form: AnswersForm) -> list[str]:
    """Store a validated registration form for ``registration``'s participant and record what
    changed (nothing when nothing did). Returns the changed keys.

    RegistrationError("not_allowed") once the event has started, or for a registration that
    is no longer live: the answers then stay as they were given.
    """
    event = db.get(Event, registration.event_id, populate_existing=True)  # as it is now
    if event is None or not may_change(registration, event):
        raise RegistrationError("not_allowed")
    before = _snapshot(db, participant, form.standard)
    answers.save_answers(db, participant, form)
    after = _snapshot(db, participant, form.standard)
    changed = sorted(key for key in before.keys() | after.keys()
                     if before.get(key) != after.get(key))
    if changed:
        db.add(AnswerChange(registration_id=registration.id, changed_at=utcnow(),
                            fields=changed))
        db.flush()
    return changed


def history_page(db: Session, registration_id: int, page: int) -> Page[AnswerChange]:
    """A page of one registration's answer changes, newest first, and how many there are (one
    statement): a registrant may change their answers any number of times before the event."""
    return paginate(db, select(AnswerChange).where(AnswerChange.registration_id == registration_id)
                    .order_by(AnswerChange.changed_at.desc(), AnswerChange.id.desc()), page)


def labels(db: Session, changes: Iterable[AnswerChange], language: str,
           default: str) -> dict[str, str]:
    """The question each changed key names, in ``language`` (removed questions included)."""
    keys = {key for change in changes for key in change.fields}
    ids = [int(key.split(":", 1)[1]) for key in keys
           if key.startswith("field:") and key.split(":", 1)[1].isdigit()]
    found = {key: str(STANDARD_LABELS[key]) for key in keys if key in STANDARD_LABELS}
    if ids:
        for field in db.scalars(select(CustomField).where(CustomField.id.in_(ids))):
            found[f"field:{field.id}"] = pick(field.label, language, default)
    return found


def latest(db: Session, registration_ids: Iterable[int]) -> dict[int, datetime]:
    """When each of these registrations last had its answers changed (the roster's note)."""
    ids = list(registration_ids)
    if not ids:
        return {}
    rows = db.execute(select(AnswerChange.registration_id, func.max(AnswerChange.changed_at))
                      .where(AnswerChange.registration_id.in_(ids))
                      .group_by(AnswerChange.registration_id))
    return {registration_id: at for registration_id, at in rows}
