from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import BigKey
from tenants.db import TenantBase
from tenants.events.models import Event
from tenants.participants.models import Participant
from tenants.texts import JSONType

# pending: e-mail not confirmed yet · awaiting: manual approval · confirmed: holds a seat ·
# waitlisted: waits for a seat · cancelled: by the participant · refused: by a manager.
STATUSES = ("pending", "awaiting", "confirmed", "waitlisted", "cancelled", "refused")
ACTIVE = ("pending", "awaiting", "confirmed", "waitlisted")


def new_join_token() -> str:
    """The secret of a personal join link: 256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


class Registration(TenantBase):
    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "participant_id"),
        Index("ix_registrations_event_status_created", "event_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigKey, ForeignKey("events.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]  # set by services: it orders the waiting list
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # First join through the personal link, or set by staff (opens rating the event).
    attended_at: Mapped[datetime | None]
    # The personal join link's secret (/t/<slug>/join/<token>): never an id.
    join_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_join_token)
    # Raised when the participant cancels or registers again: added to the event's sequence
    # in this registrant's calendar files, so each newer file replaces the older.
    calendar_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # The member (control-plane account id, opaque here) who approved or refused.
    decided_by: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    event: Mapped[Event] = relationship(lazy="raise")
    participant: Mapped[Participant] = relationship(lazy="raise")


class SentReminder(TenantBase):
    """A reminder already sent, so a retried or duplicated reminder job sends nothing twice."""

    __tablename__ = "sent_reminders"
    __table_args__ = (UniqueConstraint("registration_id", "offset_minutes", "starts_at"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("registrations.id", ondelete="CASCADE"))
    offset_minutes: Mapped[int]
    starts_at: Mapped[datetime]
    sent_at: Mapped[datetime]


class AnswerChange(TenantBase):
    """A registrant changed their answers to the registration form before the event: which
    questions (standard field keys, ``field:<id>`` for custom ones) and when, for the
    organiser. Not the former values: a correction replaces them (GDPR Art. 16)."""

    __tablename__ = "answer_changes"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    changed_at: Mapped[datetime]
    fields: Mapped[list[str]] = mapped_column(JSONType)
