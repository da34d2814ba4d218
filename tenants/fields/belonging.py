"""Which registration each answer to the registration form belongs to, and so when it goes.

PRODUCT.md, "Retention and deletion": registrations and custom-field answers are kept from the
event's end (answers: the tenant's ``form_answers`` duration, 12 months by default, within
1-36 months and never longer than registrations). An answer belongs to the registration it
was given for: the registration made with the form (``attach``, also when a participant
registers again with their answers on file), or, for an answer changed later, the
participant's coming registration that ends last (``coming_registration``). Among the
registrations an answer serves, it stays with the one whose event ends last, and goes
``form_answers`` months after that event (``clock``; the sweep's step is declared in
``fields.privacy``), or with that registration if sooner (the foreign key cascades). An answer
to a question the form no longer asks is not carried to new registrations: it goes with the
event it was given for, however often its author registers again. An answer given for no
registration (an account made without an event) counts from its last change.

It imports no service (the registration services call ``attach``), so no import circle.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from tenants.events.models import Event
from tenants.fields.models import Answer, CustomField
from tenants.registration.models import ACTIVE, Registration


def _event_end() -> ColumnElement[datetime]:
    """The end of the event of the registration an answer belongs to (NULL: none)."""
    return (select(Event.ends_at).join(Registration, Registration.event_id == Event.id)
            .where(Registration.id == Answer.registration_id).scalar_subquery())


def clock() -> ColumnElement[datetime]:
    """When an answer's retention clock started: the end of the event of the registration it
    belongs to, or, belonging to none, its last change."""
    return func.coalesce(_event_end(), Answer.updated_at)


def coming_registration(db: Session, participant_id: int) -> int | None:
    """The registration an answer changed now is given for: the participant's live one whose
    event has not ended and ends last (None: none; the answer then counts from the change)."""
    return db.scalar(
        select(Registration.id).join(Event, Event.id == Registration.event_id)
        .where(Registration.participant_id == participant_id,
               Registration.status.in_(ACTIVE), Event.ends_at > utcnow())
        .order_by(Event.ends_at.desc(), Registration.id.desc()).limit(1))


def attach(db: Session, registration: Registration) -> None:
    """``registration`` was made with its participant's answers on file: each answer to a
    question the form still asks is given for it too, and belongs to it from now on unless
    the registration it belongs to ends later (one statement)."""
    ends = select(Event.ends_at).where(Event.id == registration.event_id).scalar_subquery()
    asked = select(CustomField.id).where(CustomField.archived_at.is_(None))
    db.execute(update(Answer).where(
        Answer.participant_id == registration.participant_id, Answer.field_id.in_(asked),
        or_(Answer.registration_id.is_(None), _event_end() <= ends))
        .values(registration_id=registration.id)
        .execution_options(synchronize_session=False))
