"""When each tenant is next due for its retention sweep (the control plane's side of it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
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
