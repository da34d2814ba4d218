from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase


class SupportGrant(ControlBase):
    """A tenant admin's time-limited permission for the platform's support to read its data.

    Active from ``granted_at`` until ``expires_at`` or ``revoked_at``, whichever comes first.
    """

    __tablename__ = "support_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    granted_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"))
    granted_by_email: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_email: Mapped[str] = mapped_column(String(254), default="")

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.granted_at <= now < self.expires_at
