from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase


class PendingSignup(ControlBase):
    """A signup waiting for its e-mail to be verified. The account is created only when the
    link is followed (and this row deleted), so an unverified address never has an account;
    rows whose link expired are purged daily. Only the SHA-256 of the link's token is stored,
    and the password only as its argon2id hash."""

    __tablename__ = "pending_signups"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5))
    plan: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class TermsAcceptance(ControlBase):
    """An account's acceptance of one version of Parvis's terms of service, for a tenant:
    which text (version, language, SHA-256), who, when."""

    __tablename__ = "terms_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), index=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    account_email: Mapped[str] = mapped_column(String(254))
    version: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5))
    text_sha256: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime]
