"""Consent configuration (services, banner) and the ledger of choices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from tenants.db import TenantBase
from tenants.texts import JSONType

# Purpose categories, in the order the banner shows them; "necessary" needs no consent.
PURPOSES = ("necessary", "audience", "personalisation", "marketing", "embedded")
LOAD_KINDS = ("none", "script", "embed")


class ConsentService(TenantBase):
    """A third-party service the tenant uses on its pages, and what it loads once consented."""

    __tablename__ = "consent_services"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(20))
    # [{"name": "_pk_id", "lifetime": "13 months"}, …]: shown in the banner and policy page,
    # and expired on withdrawal.
    cookies: Mapped[list[dict]] = mapped_column(JSONType, default=list)
    location: Mapped[str] = mapped_column(String(100))
    load_kind: Mapped[str] = mapped_column(String(10), default="none")
    load_url: Mapped[str | None] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # A service enabled from the operators' catalogue (None: one the tenant described itself).
    catalogue_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    catalogue_version: Mapped[int | None] = mapped_column(Integer)
    # How a transfer outside the EU is framed ("scc", "adequacy"); None: processed in the EU.
    transfer_safeguard: Mapped[str | None] = mapped_column(String(20))
    # Outside the EU and not yet authorised by the tenant owner: neither shown nor loaded.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ConsentConfig(TenantBase):
    """The banner: one row. ``version`` is bumped by every change of a service or a text."""

    __tablename__ = "consent_config"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    # {"title": {lang: …}, "body": {lang: …}}; an empty text shows Parvis's default wording.
    texts: Mapped[dict] = mapped_column(JSONType, default=dict)
    lifetime_months: Mapped[int] = mapped_column(Integer, default=13)
    retention_years: Mapped[int] = mapped_column(Integer, default=5)
    # The tenant's notice says a signed-in participant's choices are tied to their account.
    link_participant: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    texts_hash: Mapped[str] = mapped_column(String(64), default="")


class ConsentEntry(TenantBase):
    """One choice, as proof. Never updated but for ``replaced_at``; purged after retention.

    ``consent_id`` is what the visitor's cookie holds; each new choice gets a new one and keeps
    the first as ``chain_id``, so one visitor's steps are one lookup and a cached entry never
    changes under another process (see visitor.visitor_state).
    """

    __tablename__ = "consent_ledger"
    __table_args__ = (
        Index("ix_consent_ledger_participant_id", "participant_id"),
        Index("ix_consent_ledger_chain_id", "chain_id"),
        Index("ix_consent_ledger_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    consent_id: Mapped[str] = mapped_column(String(43), unique=True)
    chain_id: Mapped[str] = mapped_column(String(43))
    kind: Mapped[str] = mapped_column(String(20))  # "cookies" | "registration"
    # cookies: {"<service id>": true|false}; registration: privacy/terms versions, marketing.
    choices: Mapped[dict] = mapped_column(JSONType)
    version: Mapped[int] = mapped_column(Integer)
    texts_hash: Mapped[str] = mapped_column(String(64))
    participant_id: Mapped[int | None] = mapped_column(BigKey)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    replaced_at: Mapped[datetime | None]
