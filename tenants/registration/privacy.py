"""The personal data of registrations: who registered to which event, when, the reminders
sent to them and when they changed their answers (declared for ``tenants.privacy``; see
``tenants.personal_data``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.orm import Session

from tenants.events.models import Event
from tenants.participants.models import Participant
from tenants.personal_data import PersonalData, Step, after, each, when
from tenants.registration import services as registrations
from tenants.registration.models import ACTIVE, AnswerChange, Registration, SentReminder
from tenants.retention.services import Rule
from tenants.texts import pick


def _export(db: Session, participant: Participant, language: str, default: str,
            ) -> list[dict[str, Any]]:
    changed: dict[int, list[str]] = {}
    for registration_id, at in db.execute(
            select(AnswerChange.registration_id, AnswerChange.changed_at)
            .join(Registration, Registration.id == AnswerChange.registration_id)
            .where(Registration.participant_id == participant.id)
            .order_by(AnswerChange.changed_at, AnswerChange.id)):
        changed.setdefault(registration_id, []).append(when(at))
    return [{"event": pick(event.title, language, default),
             "event_starts_at": when(event.starts_at), "status": registration.status,
             "registered_at": when(registration.created_at),
             "confirmed_at": when(registration.confirmed_at),
             "cancelled_at": when(registration.cancelled_at),
             "answers_changed_at": changed.get(registration.id, [])}
            for registration, event in db.execute(
                select(Registration, Event).join(Event, Event.id == Registration.event_id)
                .where(Registration.participant_id == participant.id)
                .order_by(Registration.created_at))]


def _delete_rows(db: Session, ids: list) -> None:
    db.execute(delete(SentReminder).where(SentReminder.registration_id.in_(ids)))
    db.execute(delete(AnswerChange).where(AnswerChange.registration_id.in_(ids)))
    db.execute(delete(Registration).where(Registration.id.in_(ids)))


def _erase(db: Session, participant: Participant) -> int:
    """Cancelled through the registration services first, so freed seats go to the waiting
    lists; then deleted with their reminders."""
    owned = list(db.scalars(select(Registration).where(
        Registration.participant_id == participant.id).order_by(Registration.id)))
    for registration in owned:
        if registration.status in ACTIVE:
            registrations.cancel(db, registration)
    ids = [registration.id for registration in owned]
    if ids:
        _delete_rows(db, ids)
    return len(ids)


def _due(rule: Rule, now: datetime) -> Select:
    return (select(Registration.id).join(Event, Event.id == Registration.event_id)
            .where(Event.ends_at < rule.cutoff(now)).order_by(Registration.id))


def _delete(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    _delete_rows(db, ids)


def _next(db: Session, rule: Rule) -> datetime | None:
    return after(db.scalar(select(func.min(Event.ends_at)).where(
        exists().where(Registration.event_id == Event.id))), rule)


PERSONAL_DATA = (
    PersonalData(
        "registrations",
        (Registration.participant_id, Registration.status, Registration.created_at,
         Registration.confirmed_at, Registration.cancelled_at, Registration.attended_at,
         Registration.decided_by, Registration.updated_at, SentReminder.registration_id,
         SentReminder.sent_at, AnswerChange.registration_id, AnswerChange.changed_at,
         AnswerChange.fields),
        retention=("registrations",), export=_export, erase=_erase,
        steps=(Step("registrations", "deleted", _l("registrations deleted"),
                    _due, each(_delete), _next),)),
)
