from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import TenantBase
from tenants.texts import JSONType

VISIBILITIES = ("nobody", "participants", "public")


class Settings(TenantBase):
    """The tenant's settings: one row, created with defaults on first read."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Languages the tenant writes its texts in (event texts, field labels); the first is default.
    languages: Mapped[list[str]] = mapped_column(JSONType, default=lambda: ["fr", "en"])
    # The widest participant-list visibility a participant may choose.
    max_visibility: Mapped[str] = mapped_column(String(20), default="participants")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
