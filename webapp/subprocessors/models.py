"""The sub-processor list, its announced changes and the organisations' objections."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import ControlBase, Timestamps


def enum_type(cls: type[enum.Enum]) -> Enum:
    """How the processor duties store an enum: its values, as a string column."""
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Safeguard(enum.StrEnum):
    """Why a sub-processor (or a catalogue service) may receive the data (GDPR chapter V)."""

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
    safeguard: Mapped[Safeguard] = mapped_column(enum_type(Safeguard))
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
    kind: Mapped[ChangeKind] = mapped_column(enum_type(ChangeKind))
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
