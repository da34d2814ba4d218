"""Passwords for both planes: argon2id hashing, one policy, and verification that costs the same
whether or not the account exists (so timing never tells which e-mails have accounts)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with OWASP's recommended minimum (Password Storage Cheat Sheet: 19 MiB, 2 passes,
# 1 lane): about 20 ms of one core, against 0.15 s of four for the library's default (64 MiB,
# 3 passes, 4 lanes), which made a sign-up burst wait on hashing. Hashes made with other
# parameters still verify, and are replaced at the next sign-in (``needs_rehash``).
hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash (unknown account) verify a dummy one, same cost."""
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher.check_needs_rehash(password_hash)


def problems(password: str, *, email: str = "") -> list[str]:
    """Reasons (message ids) a password is too weak; empty when it is acceptable."""
    found = []
    if len(password) < MIN_PASSWORD_LENGTH:
        found.append("too_short")
    if len(set(password)) < 6:
        found.append("too_repetitive")
    local = email.strip().lower().split("@")[0]
    if local and len(local) >= 4 and local in password.lower():
        found.append("contains_email")
    return found
