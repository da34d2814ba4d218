"""The job outbox's row: a job queued by a unit of work is a row in that unit of work's database.

A request (or a job, a sweep) that queues a job writes a row in the same transaction as its own
writes, so the job exists exactly when those writes do: a rolled-back request leaves no job, a
process killed right after its commit leaves one that will run. The queue (Huey) only carries
wake-up messages naming a row; ``core.jobs`` runs a row and marks it done in the same
transaction as the job's effects, so a row runs to completion once however many messages name
it (at-least-once delivery, exactly-once effect).

Both planes keep such a table, of this shape: ``tenants.outbox.TenantJob`` in every tenant
schema, ``webapp.outbox.ControlJob`` in the control plane.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Index, String, Text, delete
from sqlalchemy.orm import Mapped, Session, mapped_column

# Done rows are kept a day: late wake-up messages for them must still find them done.
KEEP_DONE = timedelta(days=1)


def new_job_id(at: datetime) -> str:
    """The time in milliseconds (12 hex digits), then 80 random bits: ids sort by creation, so
    the table's index grows at one end, and an id is unique across planes and processes. It is
    also the e-mail idempotency key (``Message-ID``) of a delivery job."""
    return f"{int(at.timestamp() * 1000):012x}{secrets.token_hex(10)}"


class OutboxRow:
    """A queued job: what to run (``task``, ``args``), from when, and whether it is done.

    ``locked_until`` is set while a delivery (an e-mail) is being sent outside any
    transaction, so that a second runner does not send it at the same time. A delivery's
    ``args`` hold the e-mail until it is sent, then are emptied (``done_at`` kept a day).
    """

    if TYPE_CHECKING:  # a mixin: the declarative class that uses it provides the constructor
        def __init__(self, **kwargs: Any) -> None: ...

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task: Mapped[str] = mapped_column(String(120))
    args: Mapped[list | None] = mapped_column(JSON)
    run_after: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


def outbox_index() -> Index:
    """Serves both questions asked of an outbox: what is overdue, and what is done and old."""
    return Index("ix_job_outbox_pending", "done_at", "run_after")


def purge_done(session: Session, model: type[OutboxRow], now: datetime) -> None:
    """Delete rows done more than a day ago (one indexed range: nothing to do most times)."""
    session.execute(delete(model).where(model.done_at < now - KEEP_DONE)
                    .execution_options(synchronize_session=False))
