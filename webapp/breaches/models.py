from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import ControlBase
from webapp.organisations.models import Tenant


class Scope(enum.StrEnum):
    """What an incident touches, from which the affected organisations are computed."""

    PLATFORM = "platform"    # every organisation whose data Parvis holds
    COMPONENT = "component"  # the organisations that use one component (services.COMPONENTS)
    TENANTS = "tenants"      # organisations listed by the operator


class Breach(ControlBase):
    """An incident as the operator recorded it (the facts the CNIL form asks for)."""

    __tablename__ = "breaches"

    id: Mapped[int] = mapped_column(primary_key=True)
    nature: Mapped[str] = mapped_column(Text)
    data_categories: Mapped[str] = mapped_column(Text)
    people_estimate: Mapped[int]
    records_estimate: Mapped[int | None]
    consequences: Mapped[str] = mapped_column(Text)
    measures: Mapped[str] = mapped_column(Text)
    aware_at: Mapped[datetime]
    scope: Mapped[Scope] = mapped_column(Enum(
        Scope, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]))
    component: Mapped[str] = mapped_column(String(40), default="")
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"))

    affected: Mapped[list[AffectedTenant]] = relationship(
        back_populates="breach", order_by="AffectedTenant.tenant_name")


class AffectedTenant(ControlBase):
    """One organisation an incident affects: its notification, CNIL draft and participant notice.

    ``cnil_draft`` and ``notice`` hold the organisation's own wording (keys are the form's
    fields); empty until it first saves, the pages pre-fill them from the incident.
    """

    __tablename__ = "breach_tenants"
    # Also the index for an incident's organisations (its leading column).
    __table_args__ = (UniqueConstraint("breach_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    tenant_name: Mapped[str] = mapped_column(String(200))
    participants: Mapped[int]  # the organisation's participants when the incident was recorded
    notified_at: Mapped[datetime | None]
    notified_to: Mapped[str] = mapped_column(Text, default="")  # addresses, one per line
    cnil_draft: Mapped[dict] = mapped_column(JSON, default=dict)
    cnil_filed_at: Mapped[datetime | None]
    late_reason: Mapped[str] = mapped_column(Text, default="")
    notice: Mapped[dict] = mapped_column(JSON, default=dict)
    notice_sent_at: Mapped[datetime | None]
    notice_recipients: Mapped[int | None]

    breach: Mapped[Breach] = relationship(back_populates="affected", lazy="joined")
    tenant: Mapped[Tenant] = relationship()


class BreachEvent(ControlBase):
    """A line of the breach register: one time-stamped step (Art. 33(5) documentation)."""

    __tablename__ = "breach_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    breach_id: Mapped[int] = mapped_column(ForeignKey("breaches.id", ondelete="CASCADE"),
                                           index=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(254), default="")  # an address, or "" for Parvis
    detail: Mapped[str] = mapped_column(Text, default="")
