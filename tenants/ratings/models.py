from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import BigKey
from tenants.db import TenantBase
from tenants.events.models import Event
from tenants.participants.models import Participant

# pending: waits for a moderator · published: shown and counted · hidden: by a moderator, with a
# reason; never shown or counted again, whatever the author does.
STATUSES = ("pending", "published", "hidden")
MAX_COMMENT = 2000


class Rating(TenantBase):
    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("event_id", "participant_id"),
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
        # The review list's orders (newest first; highest or lowest first, read backwards or
        # forwards): a page of it is read in index order whatever the number of ratings.
        Index("ix_ratings_event_status_created", "event_id", "status", "created_at", "id"),
        Index("ix_ratings_event_status_stars", "event_id", "status", "stars", "created_at",
              "id"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigKey, ForeignKey("events.id", ondelete="CASCADE"))
    # None once the author's account is erased: "Former participant", stars kept.
    participant_id: Mapped[int | None] = mapped_column(
        BigKey, ForeignKey("participants.id", ondelete="SET NULL"), index=True)
    stars: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10))
    hidden_reason: Mapped[str] = mapped_column(String(500), default="")
    hidden_at: Mapped[datetime | None]
    # The member (control-plane account id, opaque here) who hid or approved it.
    moderated_by: Mapped[int | None]
    created_at: Mapped[datetime]  # when it was posted: starts the edit window
    edited_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    event: Mapped[Event] = relationship(lazy="raise")
    participant: Mapped[Participant | None] = relationship(lazy="raise")


class RatingCount(TenantBase):
    """How many ratings an event has per status and stars, kept in step with every change by
    ``services``: the event page's average, count and hidden notice read a few rows, whatever
    the number of ratings."""

    __tablename__ = "rating_counts"

    event_id: Mapped[int] = mapped_column(BigKey, ForeignKey("events.id", ondelete="CASCADE"),
                                          primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    stars: Mapped[int] = mapped_column(primary_key=True)
    ratings: Mapped[int] = mapped_column(default=0)


class RatingReport(TenantBase):
    """Someone reported a rating. ``reporter_key`` is a keyed hash of who reported (client
    address), so reports can be limited without storing the address."""

    __tablename__ = "rating_reports"
    __table_args__ = (UniqueConstraint("rating_id", "reporter_key"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    rating_id: Mapped[int] = mapped_column(BigKey, ForeignKey("ratings.id", ondelete="CASCADE"))
    reporter_key: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    details: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    resolved_at: Mapped[datetime | None]
