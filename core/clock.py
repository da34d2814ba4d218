"""The clock of both planes: every feature reads the time through ``utcnow()``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Added to the wall clock by every ``utcnow()`` reader: tests move time forward with it (the
# ``clock`` fixture); it is always zero in production.
_clock_offset = timedelta(0)


def utcnow() -> datetime:
    """The current time, for every feature of both planes (never ``datetime.now`` directly)."""
    return datetime.now(UTC) + _clock_offset


def move_clock(offset: timedelta) -> None:
    """Tests only: make ``utcnow()`` run ``offset`` ahead of the wall clock in this process."""
    global _clock_offset
    _clock_offset = offset
