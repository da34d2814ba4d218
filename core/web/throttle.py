"""Throttling of failed sign-ins, for both planes, each with its own failures table.

A failure is stored under keyed hashes (HMAC with the secret key) of the e-mail and of the
client address, so the table holds no e-mail or address in clear. Keys carry the tenant when a
tenant's participants sign in, so one tenant's buckets never count against another's.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session


def key(kind: str, value: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def is_throttled(db: Session, model: Any, limits: dict[str, int]) -> bool:
    """True when any key has reached its limit of failures within the window."""
    since = datetime.now(UTC) - timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW"])
    return any(
        (db.scalar(select(func.count()).where(model.key == k, model.at >= since)) or 0) >= limit
        for k, limit in limits.items())


def record_failure(db: Session, model: Any, keys: list[str]) -> None:
    now = datetime.now(UTC)
    since = now - timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW"])
    db.execute(delete(model).where(model.at < since))
    db.add_all([model(key=k, at=now) for k in keys])
    db.flush()


def clear(db: Session, model: Any, k: str) -> None:
    db.execute(delete(model).where(model.key == k))
