"""Messages sent to an event's registrants, each recipient's delivery, and the tenant's own
texts for the registration e-mails."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from tenants.db import TenantBase
from tenants.texts import JSONType, Texts


class EventMessage(TenantBase):
    """One message an organiser sent to chosen registrants of an event (the message log)."""

    __tablename__ = "event_messages"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigKey, ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(10), default="message")  # message | followup
    news: Mapped[bool] = mapped_column(default=False)  # to opted-in people, unsubscribe link
    subject: Mapped[Texts] = mapped_column(JSONType)  # language -> text
    body: Mapped[Texts] = mapped_column(JSONType)
    audiences: Mapped[list[str]] = mapped_column(JSONType)
    sent_by: Mapped[int | None]  # the member (control-plane account id)
    created_at: Mapped[datetime]
    recipients: Mapped[int] = mapped_column(default=0)  # deliveries planned
    left_out_restricted: Mapped[int] = mapped_column(default=0)
    left_out_news: Mapped[int] = mapped_column(default=0)  # news: not opted in
    sent: Mapped[int] = mapped_column(default=0)  # e-mails queued so far
    next_batch_at: Mapped[datetime | None]  # the rate bound: no batch before this time
    finished_at: Mapped[datetime | None]


class MessageDelivery(TenantBase):
    """One recipient of a message: pending until its batch queues the e-mail (once)."""

    __tablename__ = "message_deliveries"
    __table_args__ = (UniqueConstraint("message_id", "registration_id"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("event_messages.id", ondelete="CASCADE"))
    registration_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|queued|skipped
    queued_at: Mapped[datetime | None]


class EmailTemplate(TenantBase):
    """The tenant's text of one registration e-mail in one language (none: Parvis's default)."""

    __tablename__ = "email_templates"
    __table_args__ = (UniqueConstraint("kind", "language"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
