"""Registers as operations: their version history, what their pages and exports show, and the
organisation's instructions log.

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
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.web.spreadsheet import csv_line
from tenants import api as tenants_api
from webapp.auth.models import Account
from webapp.organisations.models import Tenant
from webapp.registers import controller
from webapp.registers import tenant as tenant_register
from webapp.registers.models import RegisterVersion
from webapp.retention import services as retention
from webapp.subprocessors import services as subprocessors

INSTRUCTIONS_PER_PAGE = 50
INSTRUCTION_AREAS = {
    "fields": _l("Registration form"), "retention": _l("Retention"),
    "services": _l("Third-party services"), "visibility": _l("Visibility"),
    "ratings": _l("Ratings"), "consent": _l("Cookie banner"),
    "registration": _l("Registrations"), "timezone": _l("Time zone"),
}


# --- versions ------------------------------------------------------------------------------------


def digest(snapshot: dict) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def latest(session: Session, tenant_id: int | None) -> RegisterVersion | None:
    return session.scalar(select(RegisterVersion).where(_of(tenant_id))
                          .order_by(RegisterVersion.number.desc()).limit(1))


def _of(tenant_id: int | None):
    return (RegisterVersion.tenant_id.is_(None) if tenant_id is None
            else RegisterVersion.tenant_id == tenant_id)


def remember(session: Session, tenant_id: int | None, snapshot: dict) -> RegisterVersion:
    """The latest version if ``snapshot`` is the same, else a new version holding it."""
    sha = digest(snapshot)
    last = latest(session, tenant_id)
    if last is not None and last.sha256 == sha:
        return last
    version = RegisterVersion(tenant_id=tenant_id, number=last.number + 1 if last else 1,
                              sha256=sha, snapshot=snapshot, created_at=utcnow())
    session.add(version)
    session.flush()
    return version


def tenant_snapshot(session: Session, tenant: Tenant) -> dict:
    return tenant_register.snapshot(tenant.slug, subprocessors.listed(
        session, utcnow().date()))


def controller_snapshot(session: Session) -> dict:
    """The platform's register in both languages, generated from what is stored now (its
    sign-in records' columns and retention): a change of either is a new version."""
    facts = retention.facts(session)
    return {"fr": controller.rows("fr", facts), "en": controller.rows("en", facts)}


def history(session: Session, tenant_id: int | None) -> list[RegisterVersion]:
    return list(session.scalars(select(RegisterVersion).where(_of(tenant_id))
                                .order_by(RegisterVersion.number.desc())))


def get(session: Session, tenant_id: int | None, number: int) -> RegisterVersion | None:
    return session.scalar(select(RegisterVersion).where(_of(tenant_id),
                                                        RegisterVersion.number == number))


# --- what the pages and exports show ------------------------------------------------------------


def controller_version(session: Session, number: int | None) -> RegisterVersion | None:
    """The controller register's latest version (stored now if the register changed), or
    version ``number`` (None if there is none)."""
    if number is None:
        return remember(session, None, controller_snapshot(session))
    return get(session, None, number)


def tenant_version(session: Session, tenant: Tenant, number: int | None) -> RegisterVersion | None:
    """The tenant register's latest version (stored now if its content changed), or version
    ``number`` (None if there is none)."""
    if number is None:
        return remember(session, tenant.id, tenant_snapshot(session, tenant))
    return get(session, tenant.id, number)


def _csv(headings: list[str], rows: list[list[str]]) -> str:
    """Each cell made formula-safe; the BOM makes spreadsheet software read UTF-8."""
    return "\ufeff" + csv_line(headings) + "".join(csv_line(row) for row in rows)


def controller_csv(version: RegisterVersion, language: str) -> str:
    return _csv([str(h) for h in controller.HEADINGS.values()], version.snapshot[language])


def tenant_rows(version: RegisterVersion, language: str) -> list[list[str]]:
    return [line.cells() for line in tenant_register.build(version.snapshot, language)]


def tenant_csv(version: RegisterVersion, language: str) -> str:
    return _csv([str(h) for h in tenant_register.HEADINGS], tenant_rows(version, language))


# --- the instructions log --------------------------------------------------------------------


def member_names(session: Session, rows: list[dict]) -> dict[int, str]:
    """Member names (or addresses) by account id, from the control plane."""
    ids = {r["member_id"] for r in rows if r["member_id"] is not None}
    if not ids:
        return {}
    accounts = session.scalars(select(Account).where(Account.id.in_(ids)))
    return {a.id: (a.display_name or a.email) for a in accounts}


@dataclass(frozen=True)
class InstructionsPage:
    rows: list[dict[str, Any]]
    who: dict[int, str]
    page: int
    pages: int
    total: int


def instructions_page(session: Session, slug: str, page: int) -> InstructionsPage | None:
    """Page ``page`` of the tenant's instructions, newest first (None: no such page)."""
    total, rows = tenants_api.instructions(slug, (page - 1) * INSTRUCTIONS_PER_PAGE,
                                           INSTRUCTIONS_PER_PAGE)
    pages = max((total + INSTRUCTIONS_PER_PAGE - 1) // INSTRUCTIONS_PER_PAGE, 1)
    if page > pages:
        return None
    return InstructionsPage(rows, member_names(session, rows), page, pages, total)


def instructions_csv(session: Session, slug: str) -> str:
    _total, rows = tenants_api.instructions(slug)
    who = member_names(session, rows)
    return _csv([_("Time (UTC)"), _("Area"), _("Change"), _("By")], [[
        r["at"].strftime("%Y-%m-%d %H:%M:%S"), str(INSTRUCTION_AREAS.get(r["area"], r["area"])),
        r["summary"], who.get(r["member_id"], "") if r["member_id"] else _("Platform")]
        for r in rows])
