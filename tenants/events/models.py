from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from tenants.db import TenantBase
from tenants.texts import JSONType, Texts

DEFAULT_REMINDERS = [1440, 60]  # minutes before the start
# The personal join link works from this many minutes before the start (bounds, default)...
JOIN_OPENS_MINUTES = (0, 1440)
DEFAULT_JOIN_OPENS = 15
# ...until this long after the end (late arrivals, an event running over).
JOIN_CLOSES_AFTER_MINUTES = 60


class Seats:
    """The seats' properties of an event: for the mapped ``Event`` and a list's ``Listed``."""

    __slots__ = ()
    if TYPE_CHECKING:
        capacity: int | None  # None: unlimited
        seats_taken: int

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.seats_taken, 0)

    @property
    def is_full(self) -> bool:
        return self.seats_left == 0


class Event(Seats, TenantBase):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR seats_taken <= capacity", name="no_overbooking"),
        CheckConstraint("seats_taken >= 0", name="seats_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    title: Mapped[Texts] = mapped_column(JSONType)
    description: Mapped[Texts] = mapped_column(JSONType, default=dict)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    capacity: Mapped[int | None]  # None: unlimited
    seats_taken: Mapped[int] = mapped_column(default=0)
    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]
    approval: Mapped[str] = mapped_column(String(10), default="auto")  # auto | manual
    waitlist: Mapped[bool] = mapped_column(default=True)
    # The meeting address: staff and the join redirect only, never on a participant's page.
    join_url: Mapped[str] = mapped_column(String(2000), default="")
    join_opens_minutes: Mapped[int] = mapped_column(default=DEFAULT_JOIN_OPENS,
                                                    server_default=str(DEFAULT_JOIN_OPENS))
    # Raised at each change of time and at cancellation: the calendar files' SEQUENCE.
    calendar_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    reminders: Mapped[list[int]] = mapped_column(JSONType, default=lambda: list(DEFAULT_REMINDERS))
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft|published|cancelled
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


@dataclass(frozen=True, slots=True)
class Listed(Seats):
    """An event as a list shows it (the tenant home, the admin list's tabs), read as a row of
    ``LISTED`` columns rather than loaded as an ``Event``: what the list templates,
    ``wording.event_when`` and ``registration_state`` read, with the seats' properties."""

    id: int
    title: Texts
    description: Texts
    status: str
    capacity: int | None
    seats_taken: int
    waitlist: bool
    starts_at: datetime
    ends_at: datetime
    timezone: str
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None


LISTED = tuple(field.name for field in fields(Listed))
