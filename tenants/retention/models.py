"""The tenant's retention matrix and the receipts of its sweeps (no personal data in either)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from tenants.db import TenantBase


class RetentionRule(TenantBase):
    """The tenant's choice for one data kind; a kind without a row follows the default
    (``services.KINDS``)."""

    __tablename__ = "retention_rules"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    duration: Mapped[int]
    action: Mapped[str] = mapped_column(String(10))  # delete | anonymise
    updated_at: Mapped[datetime]


class RetentionRun(TenantBase):
    """One sweep of this tenant: its receipt. ``finished_at`` is None while it runs, or if it
    was interrupted: the next sweep carries on with the same receipt."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]


class RetentionCount(TenantBase):
    """How many rows of a data kind one step of a run handled, under which rule (a copy of the
    rule as it was, so a receipt stays true after the matrix changes)."""

    __tablename__ = "retention_counts"

    run_id: Mapped[int] = mapped_column(BigKey, ForeignKey("retention_runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    step: Mapped[str] = mapped_column(String(12), primary_key=True)
    duration: Mapped[int]
    unit: Mapped[str] = mapped_column(String(6))
    rows: Mapped[int] = mapped_column(default=0)
