from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from tenants.db import TenantBase
from tenants.texts import JSONType, Texts

FIELD_TYPES = ("text", "textarea", "number", "date", "choice", "multichoice", "checkbox",
               "email", "phone", "url", "country")
FREE_TEXT_TYPES = ("text", "textarea")
CHOICE_TYPES = ("choice", "multichoice")
STANDARD_MODES = ("off", "optional", "required")


class StandardField(TenantBase):
    """Whether a standard field (first name, city…) is asked; absent row = the default."""

    __tablename__ = "standard_fields"

    key: Mapped[str] = mapped_column(String(30), primary_key=True)
    mode: Mapped[str] = mapped_column(String(10))  # off | optional | required


class CustomField(TenantBase):
    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    type: Mapped[str] = mapped_column(String(20))  # one of FIELD_TYPES; fixed at creation
    label: Mapped[Texts] = mapped_column(JSONType)
    help: Mapped[Texts] = mapped_column(JSONType, default=dict)
    purpose: Mapped[Texts] = mapped_column(JSONType, default=dict)
    # [{"key": "k3f9", "label": {"fr": …, "en": …}, "archived": false}, …]; keys never change.
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    required: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    # Bounds as text: a number ("0", "2.5") or an ISO date ("2026-01-31"), per the type.
    min_value: Mapped[str | None] = mapped_column(String(40))
    max_value: Mapped[str | None] = mapped_column(String(40))
    # Shown only when another field's answer equals (or, for multiple choice, contains) a value.
    condition_field_id: Mapped[int | None] = mapped_column(
        BigKey, ForeignKey("custom_fields.id", ondelete="SET NULL"))
    condition_value: Mapped[str | None] = mapped_column(String(200))
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    def active_options(self) -> list[dict[str, Any]]:
        return [o for o in self.options if not o.get("archived")]


class Answer(TenantBase):
    """A participant's answer to a custom field: a string, a number, a list of option keys…

    It belongs to the registration it was last given for (``registration_id``: the one, among
    those it served, whose event ends last; see ``belonging``) and is deleted with it at
    the latest; its retention clock is that event's end (``belonging.clock``). An answer given
    for no registration yet (an account made without an event) counts from its last change.
    """

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("participant_id", "field_id"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    field_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("custom_fields.id", ondelete="CASCADE"), index=True)
    registration_id: Mapped[int | None] = mapped_column(
        BigKey, ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
