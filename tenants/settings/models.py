from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from core.zones import DEFAULT_ZONE
from tenants.db import TenantBase
from tenants.texts import JSONType

VISIBILITIES = ("nobody", "participants", "public")
# Ratings: who may rate, who sees the reviews, and the default order of the review list.
RATERS = ("attended", "confirmed")
RATING_VISIBILITIES = ("public", "participants", "staff")
RATING_ORDERS = ("newest", "highest", "lowest")
# Bounds of the ratings windows, in days.
RATING_WINDOW_DAYS = (1, 365)
RATING_EDIT_DAYS = (0, 365)


def new_config_version() -> int:
    """A configuration version (tenants/settings/version.py): random, never 0."""
    return secrets.randbits(62) + 1


class Settings(TenantBase):
    """The tenant's settings: one row, created with defaults on first read."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    # Languages the tenant writes its texts in (event texts, field labels); the first is default.
    languages: Mapped[list[str]] = mapped_column(JSONType, default=lambda: ["fr", "en"])
    # The widest participant-list visibility a participant may choose.
    max_visibility: Mapped[str] = mapped_column(String(20), default="participants")
    # Ratings: "attended" (marked by staff) or "confirmed" (a confirmed registration is enough,
    # for tenants that do not track attendance); both only after the event's end.
    ratings_raters: Mapped[str] = mapped_column(String(12), default="attended")
    ratings_window_days: Mapped[int] = mapped_column(default=30)  # after the event's end
    ratings_edit_days: Mapped[int] = mapped_column(default=30)  # after posting
    ratings_autopublish_stars: Mapped[bool] = mapped_column(default=True)
    ratings_premoderate_comments: Mapped[bool] = mapped_column(default=True)
    ratings_visibility: Mapped[str] = mapped_column(String(12), default="public")
    ratings_order: Mapped[str] = mapped_column(String(10), default="newest")
    # The zone of every time the tenant's pages and e-mails show outside an event's own (lists,
    # ledgers, receipts), and the zone a new event starts in.
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE,
                                          server_default=DEFAULT_ZONE)
    # Replaced by a new random number with every change to the form's design (these settings,
    # standard and custom fields): processes keep what they built from it until it changes
    # (tenants/settings/version.py). 0: unknown, nothing kept.
    config_version: Mapped[int] = mapped_column(BigInteger, default=new_config_version,
                                                server_default="0")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
