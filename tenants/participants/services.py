"""Participants' accounts: sign-up with double opt-in, sign-in, sessions, reset, profile.

A password is optional: an account without one signs in by a one-time link or code sent by
e-mail (``request_sign_in`` / ``sign_in_by_link`` / ``sign_in_by_code``); one with one may
use either.

Each function takes the tenant session, flushes and never commits. Secrets handed out
(session cookies, e-mailed links) are random tokens whose SHA-256 only is stored, per tenant.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, has_request_context
from flask import session as cookie
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, load_only

from core.clock import utcnow
from core.db import insert_unless_exists, rowcount, table_of
from core.web import passwords, throttle
from tenants import limits, pagecache
from tenants.db import current_slug
from tenants.participants.models import (
    STANDARD_FIELDS,
    Participant,
    ParticipantLoginFailure,
    ParticipantToken,
)
from tenants.registration import services as registrations
from tenants.rights.models import restricted_ids

# Sign-ins, resets and failed attempts change no public page.
pagecache.not_shown(ParticipantToken.__tablename__, ParticipantLoginFailure.__tablename__)

TOKEN_LIFETIMES = {"confirm": timedelta(days=7), "reset": timedelta(hours=2),
                   "reactivate": timedelta(minutes=15),
                   # The e-mailed sign-in link and code: short-lived, single use, and spending
                   # one spends the other.
                   "login": timedelta(minutes=15), "code": timedelta(minutes=15)}
CODE_DIGITS = 6
LANGUAGES = ("fr", "en")


def normalise_email(email: str) -> str:
    return email.strip().lower()


# --- accounts ------------------------------------------------------------------------------


class EmailTaken(Exception):
    """One account per e-mail per tenant."""

def find_by_email(db: Session, email: str) -> Participant | None:
    return db.scalar(select(Participant).where(Participant.email == normalise_email(email)))


def should_tell_owner(db: Session, participant: Participant) -> bool:
    """Whether to e-mail the owner of an address someone just tried to sign up with: once per
    address per throttling window, so the sign-up form cannot be used to flood an inbox."""
    bucket = throttle.key("signup-attempt", f"{current_slug()}:{participant.email}")
    if throttle.is_throttled(db, ParticipantLoginFailure, {bucket: 1}):
        return False
    throttle.record_failure(db, ParticipantLoginFailure, [bucket])
    return True


def add(db: Session, *, email: str, password: str | None = None,
        password_hash: str | None = None, language: str = "fr", **fields: str) -> Participant:
    """Create an account (unconfirmed) and return it; ``EmailTaken`` if the address has one.
    ``fields`` are standard fields (first_name, city…); ``password`` is hashed here, see
    ``create`` for a hash made beforehand."""
    if password_hash is None:
        password_hash = hash_password(password) if password else ""
    participant_id = create(db, email=email, password_hash=password_hash, language=language,
                            **fields)
    if participant_id is None:
        raise EmailTaken(normalise_email(email))
    return db.get_one(Participant, participant_id)


def create(db: Session, *, email: str, password_hash: str = "", language: str = "fr",
           **fields: str) -> int | None:
    """Create an account (unconfirmed) with one statement and nothing read first: its id, or
    None when the address has an account (the unique constraint says so; nothing is written
    and the transaction goes on). ``fields`` are standard fields (first_name, city…).

    ``password_hash``: the password already hashed (``hash_password``), by a caller that hashes
    before it takes the write lock (argon2 takes tens of milliseconds; other writers would
    wait that long).
    """
    limits.check("participants",
                 lambda: db.execute(select(func.count()).select_from(Participant)).scalar_one())
    unknown = set(fields) - set(STANDARD_FIELDS)
    if unknown:
        raise ValueError(f"not standard fields: {sorted(unknown)}")
    table = table_of(Participant)
    return db.scalar(insert_unless_exists(db, table, "email").values(
        email=normalise_email(email), language=language, password_hash=password_hash,
        password_changed_at=utcnow() if password_hash else None,
        **{k: (v or "").strip() for k, v in fields.items()}).returning(table.c.id))


def hash_password(password: str) -> str:
    """A password's hash, to hand to ``add`` (slow on purpose: call it before writing)."""
    return passwords.hash_password(password)


def update_profile(db: Session, participant: Participant, **fields: str) -> None:
    for name, value in fields.items():
        if name not in STANDARD_FIELDS:
            raise ValueError(name)
        setattr(participant, name, (value or "").strip())
    db.flush()


def set_visibility(db: Session, participant: Participant, visibility: str,
                   allowed: tuple[str, ...]) -> None:
    if visibility not in allowed:
        raise ValueError(visibility)
    participant.visibility = visibility
    db.flush()


def set_language(db: Session, participant: Participant, language: str) -> None:
    """The language of the participant's e-mails."""
    if language not in LANGUAGES:
        raise ValueError(language)
    participant.language = language
    db.flush()


def listed(db: Session, visibilities: tuple[str, ...], *, offset: int = 0,
           limit: int = 50) -> list[Participant]:
    """Confirmed participants who chose one of ``visibilities``, by name (one statement; only
    the names are read, all a participant list may show)."""
    if not visibilities:
        return []
    return list(db.scalars(
        select(Participant).options(load_only(Participant.first_name, Participant.last_name))
        .where(Participant.visibility.in_(visibilities),
               Participant.email_confirmed_at.is_not(None),
               Participant.deactivated_at.is_(None),
               Participant.id.not_in(restricted_ids()))  # art. 18: listed nowhere
        .order_by(Participant.first_name, Participant.last_name, Participant.id)
        .offset(offset).limit(limit)))


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Participant)) or 0


def page(db: Session, *, offset: int = 0, limit: int = 50) -> list[Participant]:
    stmt = select(Participant).order_by(Participant.last_name, Participant.first_name,
                                        Participant.id).offset(offset).limit(limit)
    return list(db.scalars(stmt))


def get(db: Session, participant_id: int) -> Participant | None:
    return db.get(Participant, participant_id)


# --- tokens --------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(db: Session, participant: Participant, purpose: str,
                lifetime: timedelta | None = None) -> str:
    """A new secret for ``participant`` (session, confirm or reset); returns it in clear."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(ParticipantToken(token_hash=_hash(token), participant_id=participant.id,
                            purpose=purpose, created_at=now,
                            expires_at=now + (lifetime or TOKEN_LIFETIMES[purpose])))
    db.flush()
    return token


def _live_token(db: Session, token: str, purpose: str) -> ParticipantToken | None:
    if not token or len(token) > 100:
        return None
    return db.scalar(select(ParticipantToken).where(
        ParticipantToken.token_hash == _hash(token), ParticipantToken.purpose == purpose,
        ParticipantToken.used_at.is_(None), ParticipantToken.expires_at > utcnow()))


def token_owner(db: Session, token: str, purpose: str, *, live: bool = True,
                ) -> Participant | None:
    """Whom a token was issued to, without spending it; ``live=False`` also finds a token that
    was used or has expired (to tell "already confirmed" from "unknown link")."""
    if live:
        row = _live_token(db, token, purpose)
    elif token and len(token) <= 100:
        row = db.scalar(select(ParticipantToken).where(
            ParticipantToken.token_hash == _hash(token), ParticipantToken.purpose == purpose))
    else:
        row = None
    return db.get(Participant, row.participant_id) if row is not None else None


def recently_issued(db: Session, participant: Participant, purpose: str,
                    within: timedelta) -> bool:
    """Whether a ``purpose`` token went to this participant less than ``within`` ago (so a
    form sent in a loop cannot flood someone's mailbox)."""
    return db.scalar(select(func.count()).select_from(ParticipantToken).where(
        ParticipantToken.participant_id == participant.id, ParticipantToken.purpose == purpose,
        ParticipantToken.created_at > utcnow() - within)) != 0


def use_token(db: Session, token: str, purpose: str) -> Participant | None:
    """Spend a one-time token; the participant it was for, or None (unknown, used, expired)."""
    row = _live_token(db, token, purpose)
    if row is None:
        return None
    spent = db.execute(update(ParticipantToken).where(
        ParticipantToken.token_hash == row.token_hash, ParticipantToken.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    return db.get(Participant, row.participant_id) if rowcount(spent) == 1 else None


def confirm_email(db: Session, token: str) -> Participant | None:
    """Follow the double opt-in link: the account becomes active (its registrations move on)."""
    participant = use_token(db, token, "confirm")
    if participant is not None:
        _mark_confirmed(db, participant)
    db.flush()
    return participant


def _mark_confirmed(db: Session, participant: Participant) -> None:
    if participant.email_confirmed_at is None:
        participant.email_confirmed_at = utcnow()

        registrations.participant_confirmed(db, participant)


def reset_password(db: Session, token: str, new_password: str = "", *,
                   password_hash: str | None = None) -> Participant | None:
    """Spend a reset link and set the new password (``password_hash``: hashed already, before
    the write transaction, see ``add``)."""
    participant = use_token(db, token, "reset")
    if participant is not None:
        change_password(db, participant, new_password, password_hash=password_hash)
        # Following an e-mailed link also proves the address.
        _mark_confirmed(db, participant)
        db.flush()
    return participant


def change_password(db: Session, participant: Participant, new_password: str = "", *,
                    password_hash: str | None = None) -> None:
    """Set a new password (or its ``password_hash``, see ``add``) and end every other session
    of this participant."""
    participant.password_hash = password_hash or hash_password(new_password)
    participant.password_changed_at = utcnow()
    keep = cookie.get(_cookie_key()) if has_request_context() else None
    stmt = update(ParticipantToken).where(ParticipantToken.participant_id == participant.id,
                                          ParticipantToken.purpose == "session",
                                          ParticipantToken.used_at.is_(None))
    if keep:
        stmt = stmt.where(ParticipantToken.token_hash != _hash(keep))
    db.execute(stmt.values(used_at=utcnow()))
    db.flush()


# --- sign-in and sessions --------------------------------------------------------------------


@dataclass
class SignIn:
    participant: Participant | None = None
    throttled: bool = False
    retry_after: int = 0


def _login_keys(email: str, client_ip: str) -> tuple[str, str]:
    """The throttling buckets of a sign-in attempt in this tenant: its address, its client."""
    slug = current_slug()
    return (throttle.key("p-email", f"{slug}:{email}"),
            throttle.key("p-ip", f"{slug}:{client_ip}"))


def _login_throttled(db: Session, email_key: str, ip_key: str) -> bool:
    cfg = current_app.config
    return throttle.is_throttled(db, ParticipantLoginFailure,
                                 {email_key: cfg["LOGIN_MAX_FAILURES"],
                                  ip_key: cfg["LOGIN_MAX_FAILURES_PER_IP"]})


def authenticate(db: Session, email: str, password: str, client_ip: str) -> SignIn:
    """Check credentials, throttled per e-mail and per client address within this tenant."""
    cfg = current_app.config
    email = normalise_email(email)
    email_key, ip_key = _login_keys(email, client_ip)
    if _login_throttled(db, email_key, ip_key):
        return SignIn(throttled=True, retry_after=cfg["LOGIN_FAILURE_WINDOW"])
    participant = find_by_email(db, email)
    if passwords.verify(participant.password_hash if participant else None, password):
        assert participant is not None
        if passwords.needs_rehash(participant.password_hash):
            participant.password_hash = passwords.hash_password(password)
        throttle.clear(db, ParticipantLoginFailure, email_key)
        return SignIn(participant=participant)
    throttle.record_failure(db, ParticipantLoginFailure, [email_key, ip_key])
    return SignIn()


def _cookie_key() -> str:
    return f"p:{current_slug()}"


def sign_in(db: Session, participant: Participant) -> None:
    """Open a session for ``participant`` in this tenant (kept in the cookie under p:<slug>)."""
    lifetime = timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])
    cookie[_cookie_key()] = issue_token(db, participant, "session", lifetime)
    participant.last_active_at = utcnow()
    # A sign-in starts the inactivity count again.
    participant.inactivity_warned_at = participant.inactivity_warning_sent_at = None
    g.participant = participant


def hold_for_reactivation(db: Session, participant: Participant) -> None:
    """The right password for a deactivated account: remember who, briefly, so that the next
    page may offer to reactivate it (no session is opened until the owner chooses to)."""
    cookie[f"pr:{current_slug()}"] = issue_token(db, participant, "reactivate")


def held_for_reactivation(db: Session, *, spend: bool = False) -> Participant | None:
    """Whom ``hold_for_reactivation`` remembered in this browser (``spend``: for the last time)."""
    key = f"pr:{current_slug()}"
    token = cookie.pop(key, None) if spend else cookie.get(key)
    if not isinstance(token, str):
        return None
    return use_token(db, token, "reactivate") if spend else token_owner(db, token, "reactivate")


# --- sign-in by e-mail (a one-time link or code) -----------------------------------------------


def sign_in_request_throttled(db: Session, email: str, client_ip: str) -> int:
    """Count a request for a sign-in e-mail against the address and the client address (known
    address or not: the answer must not tell); seconds to wait when over the limit, else 0."""
    cfg = current_app.config
    slug = current_slug()
    keys = {throttle.key("p-link-email", f"{slug}:{normalise_email(email)}"):
            cfg["LOGIN_MAX_FAILURES"],
            throttle.key("p-link-ip", f"{slug}:{client_ip}"): cfg["LOGIN_MAX_FAILURES_PER_IP"]}
    if throttle.is_throttled(db, ParticipantLoginFailure, keys):
        return int(cfg["LOGIN_FAILURE_WINDOW"])
    throttle.record_failure(db, ParticipantLoginFailure, list(keys))
    return 0


def should_tell_stranger(db: Session, email: str) -> bool:
    """Whether to e-mail an address without an account that asked for a sign-in link: once
    per address per throttling window (the form cannot be used to flood an inbox)."""
    bucket = throttle.key("signin-unknown", f"{current_slug()}:{normalise_email(email)}")
    if throttle.is_throttled(db, ParticipantLoginFailure, {bucket: 1}):
        return False
    throttle.record_failure(db, ParticipantLoginFailure, [bucket])
    return True


def _code_hash(participant_id: int, code: str) -> str:
    # Keyed by the account: the same six digits for two people are two rows.
    return _hash(f"code:{participant_id}:{code}")


def issue_sign_in(db: Session, participant: Participant) -> tuple[str, str]:
    """A sign-in link token and a numeric code for ``participant`` (returned in clear; only
    their hashes are stored). Earlier unused ones stop working: one live pair at a time."""
    _spend_sign_in(db, participant.id)
    db.execute(delete(ParticipantToken).where(ParticipantToken.participant_id == participant.id,
                                              ParticipantToken.purpose == "code"))
    token = issue_token(db, participant, "login")
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    now = utcnow()
    db.add(ParticipantToken(token_hash=_code_hash(participant.id, code),
                            participant_id=participant.id, purpose="code", created_at=now,
                            expires_at=now + TOKEN_LIFETIMES["code"]))
    db.flush()
    return token, code


def _spend_sign_in(db: Session, participant_id: int) -> None:
    db.execute(update(ParticipantToken).where(
        ParticipantToken.participant_id == participant_id,
        ParticipantToken.purpose.in_(("login", "code")), ParticipantToken.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))


def sign_in_by_link(db: Session, token: str) -> Participant | None:
    """Spend an e-mailed sign-in link (and the code sent with it); following it proves the
    address, so an unconfirmed account becomes confirmed (its registrations move on)."""
    participant = use_token(db, token, "login")
    if participant is not None:
        _spend_sign_in(db, participant.id)
        _mark_confirmed(db, participant)
        db.flush()
    return participant


def sign_in_by_code(db: Session, email: str, code: str, client_ip: str) -> SignIn:
    """Check an e-mailed code, throttled like a password (the same buckets, so guesses at a
    code and at a password count together); a right code is spent with its link."""
    cfg = current_app.config
    email = normalise_email(email)
    email_key, ip_key = _login_keys(email, client_ip)
    if _login_throttled(db, email_key, ip_key):
        return SignIn(throttled=True, retry_after=cfg["LOGIN_FAILURE_WINDOW"])
    participant = find_by_email(db, email)
    code = code.strip().replace(" ", "")
    row = None
    if participant is not None and code.isdigit() and len(code) == CODE_DIGITS:
        row = db.scalar(select(ParticipantToken).where(
            ParticipantToken.token_hash == _code_hash(participant.id, code),
            ParticipantToken.purpose == "code", ParticipantToken.used_at.is_(None),
            ParticipantToken.expires_at > utcnow()))
    if participant is None or row is None:
        throttle.record_failure(db, ParticipantLoginFailure, [email_key, ip_key])
        return SignIn()
    spent = db.execute(update(ParticipantToken).where(
        ParticipantToken.token_hash == row.token_hash, ParticipantToken.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False))
    if rowcount(spent) != 1:  # spent by another request meanwhile
        return SignIn()
    _spend_sign_in(db, participant.id)
    _mark_confirmed(db, participant)
    throttle.clear(db, ParticipantLoginFailure, email_key)
    db.flush()
    return SignIn(participant=participant)


def current(db: Session) -> Participant | None:
    """The participant signed in to this tenant in this browser, or None (cached per request)."""
    if "participant" not in g:
        token = cookie.get(_cookie_key())
        g.participant = None
        if isinstance(token, str) and 0 < len(token) <= 100:
            # One statement: this runs on every page a participant sees.
            g.participant = db.scalar(
                select(Participant)
                .join(ParticipantToken, ParticipantToken.participant_id == Participant.id)
                .where(ParticipantToken.token_hash == _hash(token),
                       ParticipantToken.purpose == "session",
                       ParticipantToken.used_at.is_(None),
                       ParticipantToken.expires_at > utcnow()))
    return g.participant


def sign_out(db: Session) -> None:
    token = cookie.pop(_cookie_key(), None)
    if isinstance(token, str):
        db.execute(update(ParticipantToken).where(ParticipantToken.token_hash == _hash(token))
                   .values(used_at=utcnow()))
    g.participant = None
