"""Recording the tenant's instructions, in the unit of work of the change itself."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from tenants import access, pagecache
from tenants.instructions.models import Instruction

pagecache.not_shown(Instruction.__tablename__)  # the log is shown to staff only

AREAS = ("fields", "retention", "services", "visibility", "ratings", "consent", "registration",
         "timezone")


def record(db: Session, area: str, summary: str, *, member_id: int | None = None) -> None:
    """Log a change of ``area`` made by the signed-in member (or ``member_id``)."""
    if area not in AREAS:
        raise ValueError(f"unknown instruction area {area!r}")
    db.add(Instruction(member_id=member_id if member_id is not None else access.member_id(),
                       area=area, summary=summary[:500], at=utcnow()))


def page(db: Session, offset: int, limit: int) -> tuple[int, list[Instruction]]:
    """The total and ``limit`` instructions from ``offset``, newest first."""
    total = db.scalar(select(func.count()).select_from(Instruction)) or 0
    rows = db.scalars(select(Instruction).order_by(Instruction.at.desc(), Instruction.id.desc())
                      .offset(offset).limit(limit))
    return total, list(rows)


def every(db: Session) -> list[Instruction]:
    """The whole log, oldest first (the export)."""
    return list(db.scalars(select(Instruction).order_by(Instruction.at, Instruction.id)))
