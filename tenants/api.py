"""The only door from the control plane into tenant data.

``webapp`` imports this module and nothing else from ``tenants``. Everything here takes opaque
ids (a tenant slug, a participant id) and returns plain values or tenant-plane objects that the
caller must not keep beyond the unit of work.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.clock import utcnow
from tenants import (
    bundle,
    db,
    demo,
    pagecache,  # noqa: F401 -- its listeners keep copies true
)
from tenants.access import ROLES, Limits, TenantInfo

# Every tenant model, so ``metadata`` (create_all, migrations) knows all tables.
from tenants.audit import models as _audit_models  # noqa: F401
from tenants.audit import services as audit
from tenants.audit.models import AccessLog
from tenants.consent import banner as consent_banner
from tenants.consent import catalogue as consent_catalogue
from tenants.consent import models as _consent_models  # noqa: F401
from tenants.consent.models import ConsentService
from tenants.db import (
    InvalidSlug,
    NoTenant,
    TenantBase,
    activate,
    after_commit,
    commit,
    configure,
    current_slug,
    deactivate,
    dispose,
    exists,
    fleet_migration_engine,
    in_tenant_context,
    migration_connection_url,
    schema_for,
    select_migration_schema,
    session,
    tenant_context,
    validate_slug,
)
from tenants.events import models as _event_models  # noqa: F401
from tenants.fields import models as _field_models  # noqa: F401
from tenants.fields import services as fields
from tenants.instructions import models as _instruction_models  # noqa: F401
from tenants.instructions import services as log
from tenants.limits import OverLimit
from tenants.messaging import models as _messaging_models  # noqa: F401
from tenants.outbox import TenantJob
from tenants.participants import models as _participant_models  # noqa: F401
from tenants.participants import services as participants
from tenants.participants.models import Participant
from tenants.ratings import models as _rating_models  # noqa: F401
from tenants.registration import models as _registration_models  # noqa: F401
from tenants.retention import models as _retention_models  # noqa: F401
from tenants.retention import services as _retention
from tenants.retention import services as retention
from tenants.retention import sweep
from tenants.rights import forwarding
from tenants.rights import models as _rights_models  # noqa: F401
from tenants.rights import services as _rights
from tenants.rights.forms import KIND_LABELS as RIGHTS_KIND_LABELS
from tenants.rights.forms import CodeForm as RightsCodeForm
from tenants.rights.forms import RequestForm as RightsRequestForm
from tenants.settings import models as _settings_models  # noqa: F401
from tenants.settings import services as settings_services

# Sent with a tenant slug and ``at``: that tenant has data due before its planned sweep.
retention_due_earlier = _retention.due_earlier
# The tenants' connection-log kind (default, bounds, unit): the control plane keeps its own
# sign-in records within the same bounds (PRODUCT.md, "Retention and deletion"); and the
# calendar arithmetic of retention durations.
connection_logs = _retention.BY_KEY["connection_logs"]
retention_shift = _retention.shift
# The rights request form and its e-mailed code, whose rules the platform's own intake follows
# (webapp.rights_intake): one form, one code lifetime, one number of attempts, one resend pace.

__all__ = [
    "RIGHTS_KIND_LABELS",
    "ROLES",
    "SUPPORT_READ",
    "InvalidSlug",
    "Limits",
    "NoTenant",
    "OverLimit",
    "RightsCodeForm",
    "RightsRequestForm",
    "TenantBase",
    "TenantInfo",
    "TenantJob",
    "activate",
    "add_participant",
    "after_commit",
    "authorise_catalogue_transfer",
    "breach_notice_contact",
    "breach_notice_recipients",
    "catalogue_state",
    "check_consent_service",
    "commit",
    "configure",
    "connection_logs",
    "count_participants",
    "current_slug",
    "deactivate",
    "disable_catalogue_service",
    "dispose",
    "drop",
    "enable_catalogue_service",
    "exists",
    "export_bundle",
    "fleet_migration_engine",
    "forward_rights_request",
    "in_tenant_context",
    "instructions",
    "knows_address",
    "metadata",
    "migration_connection_url",
    "processing_config",
    "provision",
    "record_access",
    "retention_due_earlier",
    "retention_shift",
    "rights_due_on",
    "schema_for",
    "seed_demo",
    "select_migration_schema",
    "session",
    "set_participant_password",
    "support_reads",
    "sweep_retention",
    "table_counts",
    "tenant_context",
    "time_zone",
    "validate_slug",
]

metadata = TenantBase.metadata


def time_zone() -> str | None:
    """The active tenant's time zone, for the pages and e-mails written in its context; None
    outside one (the platform's zone applies)."""
    return settings_services.time_zone(session()) if in_tenant_context() else None


def provision(slug: str, revision: str | None) -> None:
    """Create a tenant's schema with every table, stamped at the tenant migration ``revision``,
    and the one-row tables (settings, cookie banner) with their defaults: made here rather than
    on first read, since a read that writes fails on SQLite under load."""

    db.create_schema(slug, revision)
    try:
        with tenant_context(slug, writer=True) as session:
            settings_services.ensure(session)
            consent_banner.get_row(session)
    except Exception:
        db.drop_schema(slug)
        raise


def drop(slug: str) -> None:
    """Destroy a tenant's schema and all its data. Irreversible."""
    db.drop_schema(slug)


def export_bundle(slug: str, target: Path, *, revision: str | None,
                  generated_at: datetime) -> dict:
    """Write all of ``slug``'s data to the zip ``target`` (see tenants/bundle.py); returns the
    bundle's manifest (tables, row counts, revision, time)."""

    return bundle.write(slug, target, revision=revision, generated_at=generated_at)


def table_counts(slug: str) -> dict[str, int]:
    """Rows in each of ``slug``'s tables: what its destruction will remove."""

    return bundle.counts(slug)


def add_participant(slug: str, *, confirmed: bool = True, **fields: Any) -> int:
    """Add a participant in its own unit of work (demo data, imports); returns its id."""
    with tenant_context(slug) as session:
        participant = participants.add(session, **fields)
        if confirmed:
            participant.email_confirmed_at = utcnow()
        return participant.id


def seed_demo(slug: str, people: list[tuple[str, str, str]], password: str) -> None:
    """Fill a new demo tenant (form, events, registrations)."""

    with tenant_context(slug) as session:
        demo.seed(session, people, password)


def set_participant_password(slug: str, email: str, password: str) -> bool:
    """Give a participant a new password (demo logins); False if there is no such person."""
    with tenant_context(slug) as session:
        person = participants.find_by_email(session, email)
        if person is not None:
            participants.change_password(session, person, password)
        return person is not None


def sweep_retention(slug: str) -> datetime:
    """Run ``slug``'s retention sweep now (batches committed as they go, a receipt written);
    returns when the tenant next has data to sweep."""

    with tenant_context(slug, writer=True) as session:
        return sweep.run(session)


def count_participants(slug: str) -> int:
    with tenant_context(slug) as session:
        return participants.count(session)


def processing_config(slug: str) -> dict:
    """What the tenant's processor register (GDPR Art. 30(2)) is generated from: its live
    configuration as plain values, without any participant's data."""

    with tenant_context(slug) as session:
        services = consent_banner.list_services(session)
        return {
            "standard_fields": fields.standard_modes(session),
            "custom_fields": [{"label": dict(f.label or {}), "purpose": dict(f.purpose or {}),
                               "type": f.type, "required": f.required}
                              for f in fields.active_fields(session)],
            # Blocked services (a transfer not authorised) are neither used nor listed.
            "services": [{"name": s.name, "provider": s.provider, "purpose": s.purpose,
                          "location": s.location, "safeguard": s.transfer_safeguard,
                          "cookies": [dict(c) for c in s.cookies or ()]}
                         for s in services if not s.blocked],
            # The retention matrix as the tenant set it: kind -> unit, duration, action.
            "retention": {key: {"unit": rule.kind.unit, "duration": rule.duration,
                                "action": rule.action}
                          for key, rule in retention.rules(session).items()},
        }


# --- third-party services and instructions (webapp.processor) ------------------------------
# These work in the active tenant's unit of work: the caller activates the tenant, and the
# request commits both planes together.


def catalogue_state() -> dict[int, dict]:
    """The active tenant's catalogue services: catalogue id -> its version and whether it is
    blocked (a transfer outside the EU not yet authorised)."""

    rows = db.session().scalars(select(ConsentService).where(
        ConsentService.catalogue_id.is_not(None)))
    return {row.catalogue_id: {"version": row.catalogue_version, "blocked": row.blocked}
            for row in rows if row.catalogue_id is not None}


def enable_catalogue_service(entry: dict, member_id: int) -> None:
    """Enable a catalogue entry (``ThirdPartyService.plain()``); blocked if outside the EU."""

    consent_catalogue.enable_catalogue(db.session(), entry, member_id)


def disable_catalogue_service(catalogue_id: int, member_id: int) -> bool:
    return consent_catalogue.disable_catalogue(db.session(), catalogue_id, member_id)


def authorise_catalogue_transfer(catalogue_id: int, version: int, member_id: int) -> bool:
    """Unblock the service if it is enabled, blocked, and at ``version``; else change nothing."""

    return consent_catalogue.authorise_transfer(db.session(), catalogue_id, version,
                                                member_id) is not None


def check_consent_service(purpose: str, cookies: list[dict], load_kind: str,
                          load_url: str | None) -> None:
    """The banner's rules for a service (ValueError naming the wrong part)."""

    consent_banner.check_service(purpose, cookies, load_kind, load_url)


def instructions(slug: str, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
    """``slug``'s instructions log: the total and the rows (newest first; all with no limit,
    oldest first), as plain values."""

    with tenant_context(slug) as session:
        if limit is None:
            rows = log.every(session)
            total = len(rows)
        else:
            total, rows = log.page(session, offset, limit)
        return total, [{"member_id": r.member_id, "area": r.area, "summary": r.summary,
                        "at": r.at} for r in rows]


# --- breaches and support access (webapp.breaches, webapp.support) ---------------------------

SUPPORT_READ = "support.read"  # the access-log action of a page read under a support grant


def breach_notice_recipients(slug: str) -> list[int]:
    """The participants a breach notice goes to: every confirmed address. Restricted and
    deactivated accounts included: their data is still held, and Art. 34 asks to tell every
    person whose data the breach touches (a legal duty, not processing restriction stops)."""

    with tenant_context(slug) as session:
        return list(session.scalars(select(Participant.id).where(
            Participant.email_confirmed_at.is_not(None)).order_by(Participant.id)))


def breach_notice_contact(slug: str, participant_id: int) -> tuple[str, str] | None:
    """(address, language) of a confirmed participant, or None (gone or unconfirmed since)."""

    with tenant_context(slug) as session:
        person = session.get(Participant, participant_id)
        if person is None or not person.is_confirmed:
            return None
        return person.email, person.language


def record_access(member_id: int, action: str, target: str) -> None:
    """Log a staff read in the current request's tenant access log (its unit of work)."""

    audit.record(db.session(), member_id=member_id, action=action, target=target[:100])


def support_reads(slug: str, limit: int = 200) -> list[tuple[int | None, str, object]]:
    """The newest support reads of ``slug``'s data: (operator id, page, time)."""

    with tenant_context(slug) as session:
        rows = session.execute(select(AccessLog.member_id, AccessLog.target, AccessLog.at)
                               .where(AccessLog.action == SUPPORT_READ)
                               .order_by(AccessLog.at.desc(), AccessLog.id.desc()).limit(limit))
        return [(member_id, target, at) for member_id, target, at in rows]


# --- rights requests received by the platform (webapp.rights_intake) ------------------------


def rights_due_on(received: date) -> date:
    """When a request received on ``received`` is due: one calendar month later (art. 12(3))."""
    return _rights.add_months(received, 1)


def knows_address(slug: str, email: str) -> bool:
    """Whether ``slug`` has an account with this address (a read, no write lock taken)."""

    with tenant_context(slug) as session:
        return forwarding.knows(session, email)


def forward_rights_request(slug: str, *, email: str, kind: str, details: str, language: str,
                           received_at: datetime, platform_id: int) -> int | None:
    """Open a request the platform received in ``slug``'s rights inbox, its legal clock started
    at ``received_at``; returns its id there (the same id if forwarded again), or None when no
    account has the address."""

    with tenant_context(slug, writer=True) as session:
        request = forwarding.forward(session, email=email, kind=kind, details=details,
                                     language=language, received_at=received_at,
                                     platform_id=platform_id)
        return request.id if request is not None else None
