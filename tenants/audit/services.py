"""Recording staff access to participants' data."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tenants.audit.models import AccessLog
from tenants.db import utcnow


def record(db: Session, *, member_id: int | None, action: str, target: str) -> None:
    db.add(AccessLog(member_id=member_id, action=action, target=target, at=utcnow()))
