"""Passwords, login sessions and login throttling.

Passwords are hashed with argon2id. A failed login always costs one hash verification, whether
or not the account exists, and answers the same message, so neither the text nor the timing
tells an attacker which e-mails have accounts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp.auth.models import Account, LoginFailure, LoginSession
from webapp.db import utcnow
from webapp.web import passwords, throttle

hash_password = passwords.hash_password
password_problems = passwords.problems


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_account(db: Session, *, email: str, password: str, display_name: str = "",
                   language: str = "fr", operator_role: str | None = None) -> Account:
    account = Account(email=normalise_email(email), password_hash=hash_password(password),
                      display_name=display_name, language=language,
                      operator_role=operator_role, password_changed_at=utcnow())
    db.add(account)
    db.flush()
    return account


@dataclass
class LoginResult:
    account: Account | None = None
    throttled: bool = False
    retry_after: int = 0


def authenticate(db: Session, email: str, password: str, client_ip: str) -> LoginResult:
    """Check credentials with throttling per e-mail and per client address."""
    cfg = current_app.config
    email = normalise_email(email)
    email_key, ip_key = throttle.key("email", email), throttle.key("ip", client_ip)
    if throttle.is_throttled(db, LoginFailure, {email_key: cfg["LOGIN_MAX_FAILURES"],
                                                ip_key: cfg["LOGIN_MAX_FAILURES_PER_IP"]}):
        return LoginResult(throttled=True, retry_after=cfg["LOGIN_FAILURE_WINDOW"])

    account = db.scalar(select(Account).where(Account.email == email))
    ok = passwords.verify(account.password_hash if account else None, password)
    if ok and account is not None and account.is_active:
        if passwords.needs_rehash(account.password_hash):
            account.password_hash = hash_password(password)
        throttle.clear(db, LoginFailure, email_key)
        return LoginResult(account=account)
    throttle.record_failure(db, LoginFailure, [email_key, ip_key])
    return LoginResult()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Session, account: Account) -> str:
    """Open a server-side login session; returns the Flask-Login id ``m:<token>``."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    db.add(LoginSession(token_hash=_token_hash(token), account_id=account.id, created_at=now,
                        expires_at=now + lifetime))
    db.flush()
    account.login_id = f"m:{token}"
    return account.login_id


def load_session(db: Session, login_id: str) -> Account | None:
    """The account behind a live login session id, or None if ended, expired or unknown."""
    kind, _, token = login_id.partition(":")
    if kind != "m" or not token:
        return None
    row = db.execute(
        select(Account).join(LoginSession, LoginSession.account_id == Account.id).where(
            LoginSession.token_hash == _token_hash(token), LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > utcnow(), Account.is_active.is_(True))).scalar()
    if row is not None:
        row.login_id = login_id
    return row


def end_session(db: Session, login_id: str | None) -> None:
    if login_id and login_id.startswith("m:"):
        db.execute(update(LoginSession).where(
            LoginSession.token_hash == _token_hash(login_id[2:])).values(revoked_at=utcnow()))


def end_all_sessions(db: Session, account: Account, *, keep: str | None = None) -> None:
    """Revoke every session of an account (password change, removal), except ``keep``."""
    stmt = update(LoginSession).where(LoginSession.account_id == account.id,
                                      LoginSession.revoked_at.is_(None))
    if keep and keep.startswith("m:"):
        stmt = stmt.where(LoginSession.token_hash != _token_hash(keep[2:]))
    db.execute(stmt.values(revoked_at=utcnow()))


def change_password(db: Session, account: Account, new_password: str) -> None:
    account.password_hash = hash_password(new_password)
    account.password_changed_at = utcnow()
    end_all_sessions(db, account, keep=account.login_id)
    db.flush()
