"""The stored versions of the registers of processing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase


class RegisterVersion(ControlBase):
    """One version of a register of processing: a tenant's processor register (Art. 30(2)) or,
    with no tenant, the platform's controller register (Art. 30(1)). ``snapshot`` holds what
    the register is generated from, so a version reads in either language."""

    __tablename__ = "register_versions"
    __table_args__ = (Index("ix_register_versions_tenant_id_number", "tenant_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    number: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime]
