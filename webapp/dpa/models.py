"""The DPA's acceptances: proof of which version each organisation agreed to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase


class DpaAcceptance(ControlBase):
    """A tenant owner's acceptance of one DPA version: proof of what was agreed, by whom, when."""

    __tablename__ = "dpa_acceptances"
    # Also the index for a tenant's acceptances (its leading column).
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(20))
    # The account may be deleted later; its address at the time stays as the proof of who.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    account_email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5))
    text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime]
