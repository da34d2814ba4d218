from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from tenants.db import TenantBase


class AccessLog(TenantBase):
    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    member_id: Mapped[int | None]  # control-plane account id (opaque here)
    action: Mapped[str] = mapped_column(String(40))  # e.g. participant.read, registrations.export
    target: Mapped[str] = mapped_column(String(100))  # e.g. participant:12, event:3
    at: Mapped[datetime] = mapped_column(index=True)
