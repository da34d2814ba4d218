"""The control plane's side of retention: when each tenant is next due for its sweep, and the
platform's own sign-in records (their rule and the receipts of their daily sweep)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase


class RetentionSchedule(ControlBase):
    """When a tenant is next due for its retention sweep; no row: never swept yet (due)."""

    __tablename__ = "retention_schedules"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           primary_key=True)
    next_due_at: Mapped[datetime] = mapped_column(index=True)
    queued_at: Mapped[datetime | None]
    swept_at: Mapped[datetime | None]


class ControlRetentionRule(ControlBase):
    """The platform's choice for one kind of its own data (today ``sign_in_records``, the
    members' and operators' sign-in sessions); no row: the default (``services``). Who changed
    it last, and when, is kept with it."""

    __tablename__ = "control_retention_rules"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    duration: Mapped[int]
    unit: Mapped[str] = mapped_column(String(6))
    updated_at: Mapped[datetime]
    # The operator's account may be deleted later; the address at the time stays.
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"))
    updated_by_email: Mapped[str] = mapped_column(String(254))


class ControlRetentionReceipt(ControlBase):
    """One run of the daily sweep of the control plane's sign-in records: the rule as it was,
    the cut-off and the counts; no personal data. ``finished_at`` is None while it runs or if
    it was interrupted (its batches committed so far are counted)."""

    __tablename__ = "control_retention_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    # Sign-in sessions: kept ``session_months`` after they ended; those ended before the
    # cut-off were deleted.
    session_months: Mapped[int]
    session_cutoff: Mapped[datetime]
    sessions_deleted: Mapped[int] = mapped_column(default=0)
    # Failed sign-ins: kept for the throttling window (seconds).
    failure_window: Mapped[int]
    failures_deleted: Mapped[int] = mapped_column(default=0)
