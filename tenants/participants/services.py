"""Business operations on participants; each takes the tenant session, flushes, never commits."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenants.participants.models import Participant


def normalise_email(email: str) -> str:
    return email.strip().lower()


def add(db: Session, *, email: str, first_name: str = "", last_name: str = "",
        city: str = "") -> Participant:
    participant = Participant(email=normalise_email(email), first_name=first_name.strip(),
                              last_name=last_name.strip(), city=city.strip())
    db.add(participant)
    db.flush()
    return participant


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Participant)) or 0


def page(db: Session, *, offset: int = 0, limit: int = 50) -> list[Participant]:
    stmt = select(Participant).order_by(Participant.last_name, Participant.first_name,
                                        Participant.id).offset(offset).limit(limit)
    return list(db.scalars(stmt))


def get(db: Session, participant_id: int) -> Participant | None:
    return db.get(Participant, participant_id)
