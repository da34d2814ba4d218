from __future__ import annotations

import enum

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase, Timestamps


class TenantStatus(enum.StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    READ_ONLY = "read_only"     # billing lapsed: visible, nothing new may be written
    SUSPENDED = "suspended"     # closed by an operator: a clear page, no data shown
    ENDED = "ended"             # contract over: export window, then destruction


class Tenant(Timestamps, ControlBase):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(41), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[TenantStatus] = mapped_column(
        Enum(TenantStatus, native_enum=False, length=20,
             values_callable=lambda e: [m.value for m in e]),
        default=TenantStatus.PROVISIONING, index=True)
    default_language: Mapped[str] = mapped_column(String(5), default="fr")
    # The tenant migration revision its schema is at; the fleet runner skips tenants at head.
    schema_revision: Mapped[str | None] = mapped_column(String(32), index=True)

    @property
    def is_open(self) -> bool:
        return self.status in (TenantStatus.ACTIVE, TenantStatus.READ_ONLY)
