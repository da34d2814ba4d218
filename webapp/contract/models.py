from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase, Timestamps


class ContractEnd(Timestamps, ControlBase):
    """A tenant's contract has ended: its return window, its export bundle, its destruction.

    One per tenant, kept after the destruction (the certificate points at it).
    """

    __tablename__ = "contract_ends"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(30))  # see services.REASONS
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    ended_at: Mapped[datetime]
    window_days: Mapped[int]
    return_until: Mapped[datetime] = mapped_column(index=True)
    # The bundle's file name in the instance's bundle folder, once built.
    bundle_file: Mapped[str | None] = mapped_column(String(200))
    bundle_ready_at: Mapped[datetime | None]
    bundle_rows: Mapped[int | None]
    # Who may still read the certificate once memberships are gone (the owner at destruction).
    former_owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    # Rows per tenant table, counted before the schema is dropped (kept if the job crashes).
    inventory: Mapped[dict | None] = mapped_column(JSON)
    destroyed_at: Mapped[datetime | None]


class BundleDownload(ControlBase):
    """One download of an export bundle: who and when (the data return's evidence)."""

    __tablename__ = "bundle_downloads"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_end_id: Mapped[int] = mapped_column(
        ForeignKey("contract_ends.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    at: Mapped[datetime]


class DestructionCertificate(ControlBase):
    """What was destroyed, when, by which rule and by whom: no personal data, kept for good."""

    __tablename__ = "destruction_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(36), unique=True)
    contract_end_id: Mapped[int] = mapped_column(ForeignKey("contract_ends.id"), unique=True)
    # The tenant as it was (its registry row stays, as the invoices' counterpart).
    tenant_number: Mapped[int]
    tenant_slug: Mapped[str] = mapped_column(String(41))
    tenant_name: Mapped[str] = mapped_column(String(200))
    contract_ended_at: Mapped[datetime]
    end_reason: Mapped[str] = mapped_column(String(30))
    window_days: Mapped[int]
    schema_name: Mapped[str] = mapped_column(String(64))
    tables: Mapped[dict] = mapped_column(JSON)          # tenant table -> rows destroyed
    control_rows: Mapped[dict] = mapped_column(JSON)    # control table -> rows deleted
    bundle_deleted: Mapped[bool]
    bundle_downloads: Mapped[int]
    destroyed_at: Mapped[datetime]
