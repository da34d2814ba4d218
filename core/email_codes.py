"""Six-digit codes e-mailed to prove an address: the rights requests of a tenant and of the
platform.

A code lives ``CODE_LIFETIME``, allows ``MAX_ATTEMPTS`` tries, and is not sent again within
``RESEND_INTERVAL`` of the last one (a form sent in a loop cannot flood an inbox). The row
holding it keeps a keyed hash only (a copy of the table does not let anyone try the million
codes offline), scoped to the row (``scope``: which plane or tenant, and the row's id), so a
code never proves another request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

CODE_LIFETIME = timedelta(minutes=30)
MAX_ATTEMPTS = 5
RESEND_INTERVAL = timedelta(minutes=1)
# Requests nobody verified hold an address and nothing else of use: gone after a day.
UNVERIFIED_KEPT = timedelta(days=1)


class HoldsCode(Protocol):
    code_hash: str
    code_expires_at: datetime | None
    code_attempts: int


def unverified(db: Session, model: Any, *, email: str, kind: str,
               now: datetime) -> Any | None:
    """The request of ``model`` (a table of requests with ``email``, ``kind``, ``status`` and
    ``created_at``) still waiting for its code for this address and right, if any; those nobody
    verified within ``UNVERIFIED_KEPT`` are deleted first (an address and nothing of use)."""
    db.execute(delete(model).where(model.status == "unverified",
                                   model.created_at < now - UNVERIFIED_KEPT))
    return db.scalar(select(model).where(model.email == email, model.kind == kind,
                                         model.status == "unverified"))


def _hash(scope: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{scope}:{code}".encode(), hashlib.sha256).hexdigest()


def issue(holder: HoldsCode, scope: str, now: datetime) -> str | None:
    """A new code for ``holder`` (replacing its last one), or None within ``RESEND_INTERVAL`` of
    the last one (which still works)."""
    if (holder.code_expires_at is not None
            and holder.code_expires_at - CODE_LIFETIME > now - RESEND_INTERVAL):
        return None
    code = f"{secrets.randbelow(10**6):06d}"
    holder.code_hash = _hash(scope, code)
    holder.code_expires_at = now + CODE_LIFETIME
    holder.code_attempts = 0
    return code


@dataclass(frozen=True)
class Checked:
    outcome: str  # right | wrong | expired (no code, out of time or of tries)
    attempts_left: int = 0


def check(holder: HoldsCode, scope: str, code: str, now: datetime) -> Checked:
    """Check a typed code; a wrong one uses a try, a right one is used up."""
    if (holder.code_expires_at is None or holder.code_expires_at <= now
            or holder.code_attempts >= MAX_ATTEMPTS):
        return Checked("expired")
    if not hmac.compare_digest(holder.code_hash, _hash(scope, code.strip())):
        holder.code_attempts += 1
        left = MAX_ATTEMPTS - holder.code_attempts
        return Checked("wrong" if left else "expired", attempts_left=left)
    holder.code_hash, holder.code_expires_at = "", None
    return Checked("right")
