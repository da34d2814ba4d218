from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.db import ControlBase, Timestamps


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class OperatorRole(enum.StrEnum):
    ADMIN = "admin"
    SUPPORT = "support"
    PRIVACY = "privacy"


class Account(Timestamps, ControlBase):
    """A person on the control plane: a tenant member, a platform operator, or both."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="fr")
    is_active: Mapped[bool] = mapped_column(default=True)
    operator_role: Mapped[OperatorRole | None] = mapped_column(_enum(OperatorRole))
    password_changed_at: Mapped[datetime | None]
    # Two-factor authentication (TOTP, RFC 6238). The secret is written when setup starts and
    # counts only once a first code confirmed it (``totp_enabled_at``). ``totp_last_step`` is
    # the time step of the last code accepted: a code is refused unless it is newer (replay).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    # Since when the account has had no membership (none left, and not an operator), as first
    # seen by the daily sweep; it is deleted 30 days later (webapp/members/services.py).
    memberless_since: Mapped[datetime | None]

    memberships: Mapped[list[Membership]] = relationship(back_populates="account",
                                                         cascade="all, delete-orphan")

    # Flask-Login protocol; the id is the login session's, not the account's.
    if TYPE_CHECKING:  # declared apart: a plain annotation here would be taken for a column
        login_id: str | None
    login_id = None  # per loaded instance: the login session id (not a column)
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str | None:
        return self.login_id

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None


class Membership(Timestamps, ControlBase):
    """A member's role in one tenant (owner, admin, manager, moderator, viewer)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    role: Mapped[str] = mapped_column(String(20))

    account: Mapped[Account] = relationship(back_populates="memberships")


class LoginSession(ControlBase):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LoginFailure(ControlBase):
    """A failed login, keyed by a keyed hash of the e-mail or of the client address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)


class RecoveryCode(ControlBase):
    """A single-use code that replaces a TOTP code once (lost phone). Only its SHA-256 is
    stored: a code is random (40 bits) and wrong guesses are throttled, so unlike a password
    it needs no slow hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
