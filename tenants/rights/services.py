"""Erasing a participant: every feature's part, in one unit of work.

Order matters: ratings keep their stars without an author first; registrations are cancelled
through the registration services, so freed seats go to the waiting lists, and only then
deleted; consent proofs are unlinked; last the participant's own rows and the participant.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tenants.consent.models import ConsentEntry
from tenants.fields.models import Answer
from tenants.participants.models import Participant, ParticipantToken
from tenants.ratings import services as ratings
from tenants.registration import services as registrations
from tenants.registration.models import ACTIVE, Registration, SentReminder


@dataclass(frozen=True)
class Erased:
    """What an erasure removed (counts only: no personal data), for the audit trail."""

    ratings: int
    registrations: int


def erase(db: Session, participant: Participant) -> Erased:
    """Erase ``participant`` for good. Their ratings stay in the averages as "Former
    participant" with the comment removed; their seats are released."""
    rated = ratings.erase_author(db, participant.id)
    owned = list(db.scalars(select(Registration).where(
        Registration.participant_id == participant.id).order_by(Registration.id)))
    for registration in owned:
        if registration.status in ACTIVE:
            registrations.cancel(db, registration)
    ids = [registration.id for registration in owned]
    if ids:
        db.execute(delete(SentReminder).where(SentReminder.registration_id.in_(ids)))
        db.execute(delete(Registration).where(Registration.id.in_(ids)))
    # Consent proofs stay (without personal data) but no longer point at anyone: a later
    # participant could be given the same id.
    db.execute(update(ConsentEntry).where(ConsentEntry.participant_id == participant.id)
               .values(participant_id=None))
    db.execute(delete(Answer).where(Answer.participant_id == participant.id))
    db.execute(delete(ParticipantToken).where(ParticipantToken.participant_id == participant.id))
    db.delete(participant)
    db.flush()
    return Erased(ratings=rated, registrations=len(ids))
