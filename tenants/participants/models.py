from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import BigKey
from tenants.db import TenantBase

# Standard registration fields besides e-mail and password, in form order.
STANDARD_FIELDS = ("first_name", "last_name", "mobile_phone", "city", "postal_code",
                   "job_function")


class Participant(TenantBase):
    __tablename__ = "participants"
    # The staff's list, in its order (participants.directory): a page reads its rows in order.
    __table_args__ = (Index("ix_participants_name", "last_name", "first_name", "id"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    mobile_phone: Mapped[str] = mapped_column(String(40), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    job_function: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(5), default="fr")
    # Who sees this person in participant lists: nobody, participants or public.
    visibility: Mapped[str] = mapped_column(String(20), default="nobody")
    # Double opt-in: None until the e-mailed link is followed.
    email_confirmed_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    # Retention (tenants/retention): the inactivity clock starts at the last sign-in (or at the
    # sign-up); a deactivated account cannot be used nor e-mailed, and is erased when its
    # window to reactivate closes. Reason: "inactive" (swept) or "deleted" (by its owner).
    last_active_at: Mapped[datetime | None] = mapped_column(index=True)
    inactivity_warned_at: Mapped[datetime | None]
    # When the warning e-mail actually went out: the 30 days before deactivation count from
    # here, so a lost or late e-mail never shortens them (tenants/retention/sweep.py).
    inactivity_warning_sent_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None] = mapped_column(index=True)
    deactivation_reason: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    @property
    def public_name(self) -> str:
        """First name and initial of the last name: the most a public list ever shows."""
        initial = f" {self.last_name[:1]}." if self.last_name else ""
        return f"{self.first_name}{initial}".strip()

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def has_password(self) -> bool:
        """False for an account that signs in only by e-mailed links and codes."""
        return bool(self.password_hash)

    @property
    def is_active(self) -> bool:
        """False once deactivated (inactive or deleted by its owner): no sign-in, no e-mail."""
        return self.deactivated_at is None


class ParticipantToken(TenantBase):
    """A secret handed to a participant: a login session, an e-mail confirmation, a reset.

    Only the SHA-256 of the token is stored; ``used_at`` ends it (logout, link followed).
    """

    __tablename__ = "participant_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    # session | confirm | reset | reactivate | login (e-mailed link) | code (e-mailed code)
    purpose: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ParticipantLoginFailure(TenantBase):
    """A failed participant sign-in, keyed by a keyed hash of the e-mail or client address."""

    __tablename__ = "participant_login_failures"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
