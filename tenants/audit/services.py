"""Recording staff access to participants' data."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, insert, select
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


def count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(AccessLog)) or 0


def page(db: Session, *, offset: int, limit: int) -> list[AccessLog]:
    """The log, newest first (the index on ``at`` serves the order)."""
    return list(db.scalars(select(AccessLog).order_by(AccessLog.at.desc(), AccessLog.id.desc())
                           .offset(offset).limit(limit)))
