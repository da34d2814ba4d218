from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase, Timestamps


class TenantStatus(enum.StrEnum):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    READ_ONLY = "read_only"     # billing lapsed: visible, nothing new may be written
    SUSPENDED = "suspended"     # closed by an operator: a clear page, no data shown
    ENDED = "ended"             # contract over: export window, then destruction
    DESTROYED = "destroyed"     # data destroyed after the contract: certificate and invoices stay


def _status_enum() -> Enum:
    return Enum(TenantStatus, native_enum=False, length=20,
                values_callable=lambda e: [m.value for m in e])


class Tenant(Timestamps, ControlBase):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(41), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[TenantStatus] = mapped_column(
        _status_enum(), default=TenantStatus.PROVISIONING, index=True)
    default_language: Mapped[str] = mapped_column(String(5), default="fr")
    # The tenant migration revision its schema is at; the fleet runner skips tenants at head.
    schema_revision: Mapped[str | None] = mapped_column(String(32), index=True)

    @property
    def is_open(self) -> bool:
        return self.status in (TenantStatus.ACTIVE, TenantStatus.READ_ONLY)


class StatusChange(ControlBase):
    """An operator's suspension or reactivation of a tenant, with the reason given: the record
    of who closed or reopened a client's space, when and why."""

    __tablename__ = "tenant_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    from_status: Mapped[TenantStatus] = mapped_column(_status_enum())
    to_status: Mapped[TenantStatus] = mapped_column(_status_enum())
    reason: Mapped[str] = mapped_column(Text)
    # The operator's account may be deleted later; the address at the time stays as proof.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    account_email: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime]


class ControllerIdentity(Timestamps, ControlBase):
    """Who the controller of a tenant's participant data is (GDPR Art. 28: Parvis processes on
    its behalf), and its data protection officer: given by the owner at onboarding, used by
    registers and notices. A tenant without one has not finished onboarding."""

    __tablename__ = "controller_identities"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    dpo_name: Mapped[str] = mapped_column(String(200))
    dpo_email: Mapped[str] = mapped_column(String(254))


class ProvisioningInstruction(ControlBase):
    """On whose instruction an operator opened a tenant from the console. Signup has the owner
    accept the DPA before provisioning; a tenant opened by an operator is provisioned first,
    its DPA acceptance pending (a banner asks its owner until they accept), so who asked for
    it, and which operator acted, is recorded here (PRODUCT.md, processor duties: the DPA is
    accepted by the tenant owner before provisioning)."""

    __tablename__ = "tenant_provisioning_instructions"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           primary_key=True)
    # The client's representative who asked for the space, as the operator was told.
    instructed_by_name: Mapped[str] = mapped_column(String(200))
    instructed_by_email: Mapped[str] = mapped_column(String(254))
    # The operator's account may be deleted later; the address at the time stays as proof.
    operator_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    operator_email: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime]
