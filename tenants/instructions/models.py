from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from tenants.db import TenantBase


class Instruction(TenantBase):
    """One change of a privacy-relevant setting. ``summary`` describes the setting, never a
    participant: the log is kept for the life of the tenant."""

    __tablename__ = "instructions"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    member_id: Mapped[int | None]  # control-plane account id (opaque here); None: the platform
    area: Mapped[str] = mapped_column(String(20), index=True)  # one of services.AREAS
    summary: Mapped[str] = mapped_column(String(500))
    at: Mapped[datetime] = mapped_column(index=True)
