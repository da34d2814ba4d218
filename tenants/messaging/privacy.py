"""The personal data of organisers' messages: who was sent which message (a delivery names a
registration) and which member sent it (declared for ``tenants.privacy``; see
``tenants.personal_data``)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.db import rowcount
from tenants.messaging.models import EventMessage, MessageDelivery
from tenants.participants.models import Participant
from tenants.personal_data import PersonalData
from tenants.registration.models import Registration


def _erase(db: Session, participant: Participant) -> int:
    return rowcount(db.execute(delete(MessageDelivery).where(
        MessageDelivery.registration_id.in_(select(Registration.id).where(
            Registration.participant_id == participant.id)))))


PERSONAL_DATA = (
    # Erased before the registrations they name (the registry's order); otherwise they go
    # with their registration (ON DELETE CASCADE), on the registrations' clock.
    PersonalData(
        "message_deliveries", (MessageDelivery.registration_id, MessageDelivery.message_id,
                               MessageDelivery.queued_at),
        retention=("registrations",), erase=_erase),
    PersonalData(
        "event_messages", (EventMessage.sent_by,),
        kept="with the event: the log of the organisers' messages names the member who sent "
             "each one by control-plane id, never a participant; deleted with the event"),
)
