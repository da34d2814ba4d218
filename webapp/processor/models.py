from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import ControlBase, Timestamps


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


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


class Safeguard(enum.StrEnum):
    """Why a sub-processor may receive the data (GDPR chapter V)."""

    EU = "eu"                # processed within the EU/EEA: no transfer
    ADEQUACY = "adequacy"    # a country with an adequacy decision (Art. 45)
    SCC = "scc"              # standard contractual clauses (Art. 46(2)(c))


class ChangeKind(enum.StrEnum):
    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


class SubProcessor(Timestamps, ControlBase):
    """An entry of the public sub-processor list, with its texts in French and English.

    Listed between ``listed_from`` and ``listed_until``; a new entry is a draft (not public)
    until a change announcing it gives it an effective date.
    """

    __tablename__ = "sub_processors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose_fr: Mapped[str] = mapped_column(Text)
    purpose_en: Mapped[str] = mapped_column(Text)
    data_fr: Mapped[str] = mapped_column(Text)
    data_en: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(200))
    safeguard: Mapped[Safeguard] = mapped_column(_enum(Safeguard))
    listed_from: Mapped[date | None]
    listed_until: Mapped[date | None]

    def text(self, name: str, language: str) -> str:
        return getattr(self, f"{name}_{'en' if language == 'en' else 'fr'}")


class SubProcessorChange(ControlBase):
    """An announced change of sub-processor, open to objections until ``objection_deadline``."""

    __tablename__ = "sub_processor_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_processor_id: Mapped[int] = mapped_column(
        ForeignKey("sub_processors.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ChangeKind] = mapped_column(_enum(ChangeKind))
    note_fr: Mapped[str] = mapped_column(Text, default="")
    note_en: Mapped[str] = mapped_column(Text, default="")
    effective_on: Mapped[date]
    announced_at: Mapped[datetime]
    objection_deadline: Mapped[datetime]
    announced_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"))

    sub_processor: Mapped[SubProcessor] = relationship(lazy="joined")

    def note(self, language: str) -> str:
        return self.note_en if language == "en" else self.note_fr


class Objection(ControlBase):
    """A tenant's objection to a change: one per tenant and change."""

    __tablename__ = "sub_processor_objections"
    # Also the index for a change's objections (its leading column).
    __table_args__ = (UniqueConstraint("change_id", "tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(
        ForeignKey("sub_processor_changes.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    account_email: Mapped[str] = mapped_column(String(254))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class ThirdPartyService(Timestamps, ControlBase):
    """An entry of the operators' catalogue of third-party services (video platform,
    analytics, CRM…) that tenants may enable on their pages. ``version`` goes up with every
    change, so an authorisation names what the owner was shown."""

    __tablename__ = "third_party_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(20))  # a consent purpose (tenants.consent)
    description_fr: Mapped[str] = mapped_column(Text)
    description_en: Mapped[str] = mapped_column(Text)
    data_fr: Mapped[str] = mapped_column(Text)
    data_en: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(100))  # country where the data is processed
    safeguard: Mapped[Safeguard] = mapped_column(_enum(Safeguard))  # not EU: a transfer
    # [{"name": "_pk_id", "lifetime": "13 months"}, …], as the cookie banner lists them.
    cookies: Mapped[list[dict]] = mapped_column(JSON, default=list)
    load_kind: Mapped[str] = mapped_column(String(10))  # none, script, embed
    load_url: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, default=1)

    @property
    def outside_eu(self) -> bool:
        return self.safeguard != Safeguard.EU

    def text(self, name: str, language: str) -> str:
        return getattr(self, f"{name}_{'en' if language == 'en' else 'fr'}")

    def plain(self) -> dict:
        """What the tenant plane stores when a tenant enables it (``tenants.api``)."""
        return {"id": self.id, "version": self.version, "name": self.name,
                "provider": self.provider, "purpose": self.purpose,
                "cookies": [dict(c) for c in self.cookies or ()], "location": self.location,
                "load_kind": self.load_kind, "load_url": self.load_url,
                "safeguard": self.safeguard.value if self.outside_eu else None}


class TransferAuthorisation(ControlBase):
    """A tenant owner's authorisation of a transfer outside the EU by one catalogue service,
    as proof: the version, destination and safeguard they were shown, who and when."""

    __tablename__ = "transfer_authorisations"
    # Also the index for a tenant's authorisations (its leading column).
    __table_args__ = (UniqueConstraint("tenant_id", "service_id", "service_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_services.id", ondelete="CASCADE"), index=True)
    service_version: Mapped[int]
    service_name: Mapped[str] = mapped_column(String(100))
    destination: Mapped[str] = mapped_column(String(100))
    safeguard: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    account_email: Mapped[str] = mapped_column(String(254))
    authorised_at: Mapped[datetime]


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
