"""Recording staff access to participants' data."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tenants import pagecache
from tenants.audit.models import AccessLog
from tenants.db import utcnow

pagecache.not_shown(AccessLog.__tablename__)  # staff reading data changes no public page


def record(db: Session, *, member_id: int | None, action: str, target: str) -> None:
    db.add(AccessLog(member_id=member_id, action=action, target=target, at=utcnow()))


def record_many(db: Session, *, member_id: int | None, action: str,
                targets: Iterable[str]) -> None:
    """One entry per target, in one statement (a page showing several events' registrants)."""
    now = utcnow()
    rows = [{"member_id": member_id, "action": action, "target": target, "at": now}
            for target in targets]
    if rows:
        db.execute(insert(AccessLog), rows)
