"""Passwords, login sessions, login throttling and two-factor authentication.

Passwords are hashed with argon2id. A failed login always costs one hash verification, whether
or not the account exists, and answers the same message, so neither the text nor the timing
tells an attacker which e-mails have accounts.

Two-factor authentication uses TOTP (RFC 6238: 6 digits, 30-second steps, one step of clock
drift either way) with 10 single-use recovery codes. Wrong codes are throttled like wrong
passwords, under their own key, so knowing the password does not reset the count.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
import segno
from flask import current_app
from sqlalchemy import Select, bindparam, delete, func, join, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import rowcount
from core.web import passwords, throttle
from webapp.auth.models import Account, LoginFailure, LoginSession, RecoveryCode

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


def live_session(*also: Any) -> Select:
    """The account of the live login session whose token hashes to ``token_hash`` at ``now``
    (the parameters ``session_parameters`` gives), with the columns ``also``: the caller
    builds it once (building and keying it cost more than running it)."""
    return (select(Account, *also)
            .select_from(join(LoginSession, Account, LoginSession.account_id == Account.id))
            .where(LoginSession.token_hash == bindparam("token_hash"),
                   LoginSession.revoked_at.is_(None), LoginSession.expires_at > bindparam("now"),
                   Account.is_active.is_(True)))


def session_parameters(login_id: str) -> dict[str, Any] | None:
    """What finds a login session id's live session (``live_session``); None for an id this
    application never issues."""
    kind, _, token = login_id.partition(":")
    if kind != "m" or not token:
        return None
    return {"token_hash": _token_hash(token), "now": utcnow()}


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


def check_password(account: Account, password: str) -> bool:
    """Re-check the signed-in account's password before a sensitive change."""
    return passwords.verify(account.password_hash, password)


# --- two-factor authentication ------------------------------------------------------------

TOTP_STEP = 30
RECOVERY_CODES = 10
ISSUER = "Parvis"


def begin_two_factor(account: Account) -> str:
    """The secret being set up: kept until a first code confirms it, so reloading the setup
    page shows the same QR code."""
    if account.totp_secret is None or account.has_two_factor:
        account.totp_secret = pyotp.random_base32()  # 160 bits
    return account.totp_secret


def provisioning_uri(account: Account) -> str:
    assert account.totp_secret is not None
    return pyotp.TOTP(account.totp_secret).provisioning_uri(name=account.email,
                                                            issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup: no image request, nothing for the CSP to allow."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=4, light="#fff",
                                                 svgclass="qr-code", lineclass=None)


def _digits(code: str) -> str:
    return re.sub(r"[\s-]", "", code)


def verify_totp(db: Session, account: Account, code: str) -> bool:
    """True for a current code not used before. The step is claimed with a conditional
    UPDATE, so the same code sent twice at once is accepted only once."""
    code = _digits(code)
    if account.totp_secret is None or not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(account.totp_secret)
    now = int(utcnow().timestamp()) // TOTP_STEP
    for step in (now - 1, now, now + 1):
        if secrets.compare_digest(totp.at(step * TOTP_STEP), code):
            claimed = db.execute(update(Account).where(
                Account.id == account.id,
                or_(Account.totp_last_step.is_(None), Account.totp_last_step < step),
            ).values(totp_last_step=step).execution_options(synchronize_session=False))
            if rowcount(claimed) != 1:
                return False  # replayed: this step, or a later one, was already used
            account.totp_last_step = step
            return True
    return False


def _code_hash(code: str) -> str:
    return hashlib.sha256(_digits(code).lower().encode()).hexdigest()


def new_recovery_codes(db: Session, account: Account) -> list[str]:
    """Replace the account's recovery codes; the codes are shown once and never stored."""
    db.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    codes = [f"{h[:5]}-{h[5:]}" for h in (secrets.token_hex(5) for _ in range(RECOVERY_CODES))]
    db.add_all([RecoveryCode(account_id=account.id, code_hash=_code_hash(code))
                for code in codes])
    db.flush()
    return codes


def use_recovery_code(db: Session, account: Account, code: str) -> bool:
    used = db.execute(update(RecoveryCode).where(
        RecoveryCode.account_id == account.id, RecoveryCode.code_hash == _code_hash(code),
        RecoveryCode.used_at.is_(None)).values(used_at=utcnow()))
    return rowcount(used) == 1


def recovery_codes_left(db: Session, account: Account) -> int:
    return db.scalar(select(func.count()).where(RecoveryCode.account_id == account.id,
                                               RecoveryCode.used_at.is_(None))) or 0


def confirm_two_factor(db: Session, account: Account, code: str) -> list[str] | None:
    """Turn two-factor sign-in on once ``code`` matches the secret being set up; returns the
    recovery codes to show, or None for a wrong code."""
    if account.has_two_factor or not verify_totp(db, account, code):
        return None
    account.totp_enabled_at = utcnow()
    return new_recovery_codes(db, account)


def disable_two_factor(db: Session, account: Account) -> None:
    account.totp_secret = account.totp_enabled_at = account.totp_last_step = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account.id))
    db.flush()


@dataclass
class CodeResult:
    ok: bool = False
    throttled: bool = False
    retry_after: int = 0
    recovery_used: bool = False


def check_second_factor(db: Session, account: Account, code: str, client_ip: str) -> CodeResult:
    """The second sign-in step: a TOTP code or a recovery code, throttled per account and
    per client address like passwords."""
    cfg = current_app.config
    account_key = throttle.key("totp", str(account.id))
    ip_key = throttle.key("ip", client_ip)
    if throttle.is_throttled(db, LoginFailure, {account_key: cfg["LOGIN_MAX_FAILURES"],
                                                ip_key: cfg["LOGIN_MAX_FAILURES_PER_IP"]}):
        return CodeResult(throttled=True, retry_after=cfg["LOGIN_FAILURE_WINDOW"])
    if verify_totp(db, account, code):
        throttle.clear(db, LoginFailure, account_key)
        return CodeResult(ok=True)
    if use_recovery_code(db, account, code):
        throttle.clear(db, LoginFailure, account_key)
        return CodeResult(ok=True, recovery_used=True)
    throttle.record_failure(db, LoginFailure, [account_key, ip_key])
    return CodeResult()
