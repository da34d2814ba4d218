"""The catalogue of third-party services and the owners' transfer authorisations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase, Timestamps
from webapp.subprocessors.models import Safeguard, enum_type


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
    safeguard: Mapped[Safeguard] = mapped_column(enum_type(Safeguard))  # not EU: a transfer
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
