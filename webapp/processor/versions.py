"""Version history of the registers of processing.

A register is generated on each view; what it is generated from (its snapshot) is hashed and
stored as a new version only when the hash differs from the latest version's, so checking costs
one indexed query. A tenant's processor register (Art. 30(2)) changes with its configuration
and the sub-processor list; the platform's controller register (Art. 30(1), ``tenant_id``
None) with a release. Versions are checked when a register is viewed or exported, after a
change of third-party services, and every night for every tenant (``tasks``).
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp import db as control_db
from webapp.organisations.models import Tenant
from webapp.processor import register, services, tenant_register
from webapp.processor.models import RegisterVersion


def digest(snapshot: dict) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def latest(session: Session, tenant_id: int | None) -> RegisterVersion | None:
    return session.scalar(select(RegisterVersion).where(_of(tenant_id))
                          .order_by(RegisterVersion.number.desc()).limit(1))


def _of(tenant_id: int | None):  # type: ignore[no-untyped-def]
    return (RegisterVersion.tenant_id.is_(None) if tenant_id is None
            else RegisterVersion.tenant_id == tenant_id)


def remember(session: Session, tenant_id: int | None, snapshot: dict) -> RegisterVersion:
    """The latest version if ``snapshot`` is the same, else a new version holding it."""
    sha = digest(snapshot)
    last = latest(session, tenant_id)
    if last is not None and last.sha256 == sha:
        return last
    version = RegisterVersion(tenant_id=tenant_id, number=last.number + 1 if last else 1,
                              sha256=sha, snapshot=snapshot, created_at=control_db.utcnow())
    session.add(version)
    session.flush()
    return version


def tenant_snapshot(session: Session, tenant: Tenant) -> dict:
    return tenant_register.snapshot(tenant.slug, services.listed(session,
                                                                 control_db.utcnow().date()))


def controller_snapshot() -> dict:
    return {"fr": register.rows("fr"), "en": register.rows("en")}


def history(session: Session, tenant_id: int | None) -> list[RegisterVersion]:
    return list(session.scalars(select(RegisterVersion).where(_of(tenant_id))
                                .order_by(RegisterVersion.number.desc())))


def get(session: Session, tenant_id: int | None, number: int) -> RegisterVersion | None:
    return session.scalar(select(RegisterVersion).where(_of(tenant_id),
                                                        RegisterVersion.number == number))
