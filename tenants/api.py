"""The only door from the control plane into tenant data.

``webapp`` imports this module and nothing else from ``tenants``. Everything here takes opaque
ids (a tenant slug, a participant id) and returns plain values or tenant-plane objects that the
caller must not keep beyond the unit of work.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Blueprint

from tenants import db, pagecache  # noqa: F401 -- its listeners keep copies true
from tenants.access import ROLES, Limits, TenantInfo

# Every tenant model, so ``metadata`` (create_all, migrations) knows all tables.
from tenants.audit import models as _audit_models  # noqa: F401
from tenants.consent import models as _consent_models  # noqa: F401
from tenants.db import (
    NAMING_CONVENTION,
    CrossPlaneError,
    InvalidSlug,
    NoTenant,
    TenantBase,
    UTCDateTime,
    activate,
    after_commit,
    commit,
    configure,
    current_slug,
    deactivate,
    dispose,
    done_writing,
    exists,
    in_tenant_context,
    make_engine,
    migration_connection_url,
    move_clock,
    schema_for,
    session_factory,
    tenant_context,
    utcnow,
    validate_slug,
    writing,
)
from tenants.events import models as _event_models  # noqa: F401
from tenants.fields import models as _field_models  # noqa: F401
from tenants.instructions import models as _instruction_models  # noqa: F401
from tenants.limits import OverLimit
from tenants.participants import models as _participant_models  # noqa: F401
from tenants.participants import services as participants
from tenants.ratings import models as _rating_models  # noqa: F401
from tenants.registration import models as _registration_models  # noqa: F401
from tenants.settings import models as _settings_models  # noqa: F401

__all__ = [
    "NAMING_CONVENTION",
    "ROLES",
    "CrossPlaneError",
    "InvalidSlug",
    "Limits",
    "NoTenant",
    "OverLimit",
    "TenantBase",
    "TenantInfo",
    "UTCDateTime",
    "activate",
    "add_participant",
    "after_commit",
    "blueprints",
    "commit",
    "configure",
    "count_participants",
    "current_slug",
    "deactivate",
    "dispose",
    "done_writing",
    "drop",
    "exists",
    "export_bundle",
    "in_tenant_context",
    "make_engine",
    "metadata",
    "migration_connection_url",
    "move_clock",
    "processing_config",
    "provision",
    "purge_consent_ledger",
    "schema_for",
    "seed_demo",
    "session_factory",
    "set_participant_password",
    "table_counts",
    "tenant_context",
    "utcnow",
    "validate_slug",
    "writing",
]

metadata = TenantBase.metadata


def blueprints() -> list[Blueprint]:
    """Tenant-facing blueprints, to be mounted under the ``/t/<tenant>`` parent."""
    from tenants.consent.views import bp as consent_bp
    from tenants.events.views import bp as events_bp
    from tenants.fields.views import bp as fields_bp
    from tenants.participants.views import bp as participants_bp
    from tenants.ratings.views import bp as ratings_bp
    from tenants.registration.views import bp as registration_bp
    from tenants.rights.views import bp as rights_bp
    from tenants.settings.views import bp as settings_bp

    return [events_bp, participants_bp, registration_bp, fields_bp, settings_bp, ratings_bp,
            consent_bp, rights_bp]


def provision(slug: str, revision: str | None) -> None:
    """Create a tenant's schema with every table, stamped at the tenant migration ``revision``."""
    db.create_schema(slug, revision)


def drop(slug: str) -> None:
    """Destroy a tenant's schema and all its data. Irreversible."""
    db.drop_schema(slug)


def export_bundle(slug: str, target: Path, *, revision: str | None,
                  generated_at: datetime) -> dict:
    """Write all of ``slug``'s data to the zip ``target`` (see tenants/bundle.py); returns the
    bundle's manifest (tables, row counts, revision, time)."""
    from tenants import bundle

    return bundle.write(slug, target, revision=revision, generated_at=generated_at)


def table_counts(slug: str) -> dict[str, int]:
    """Rows in each of ``slug``'s tables: what its destruction will remove."""
    from tenants import bundle

    return bundle.counts(slug)


def add_participant(slug: str, *, confirmed: bool = True, **fields: str) -> int:
    """Add a participant in its own unit of work (demo data, imports); returns its id."""
    with tenant_context(slug) as session:
        participant = participants.add(session, **fields)
        if confirmed:
            participant.email_confirmed_at = utcnow()
        return participant.id


def seed_demo(slug: str, people: list[tuple[str, str, str]], password: str) -> None:
    """Fill a new demo tenant (form, events, registrations)."""
    from tenants import demo

    with tenant_context(slug) as session:
        demo.seed(session, people, password)


def set_participant_password(slug: str, email: str, password: str) -> bool:
    """Give a participant a new password (demo logins); False if there is no such person."""
    with tenant_context(slug) as session:
        person = participants.find_by_email(session, email)
        if person is not None:
            participants.change_password(session, person, password)
        return person is not None


def purge_consent_ledger(slug: str) -> None:
    """Queue the job deleting ``slug``'s consent proofs past their retention."""
    from tenants.consent import tasks

    tasks.purge_ledger(slug)


def count_participants(slug: str) -> int:
    with tenant_context(slug) as session:
        return participants.count(session)


def processing_config(slug: str) -> dict:
    """What the tenant's processor register (GDPR Art. 30(2)) is generated from: its live
    configuration as plain values, without any participant's data."""
    from tenants.consent import services as consent_services
    from tenants.consent.models import ConsentConfig
    from tenants.fields import services as fields

    with tenant_context(slug) as session:
        consent = session.get(ConsentConfig, 1)  # absent until the banner is first configured
        services = consent_services.list_services(session)
        return {
            "standard_fields": fields.standard_modes(session),
            "custom_fields": [{"label": dict(f.label or {}), "purpose": dict(f.purpose or {}),
                               "type": f.type, "required": f.required}
                              for f in fields.active_fields(session)],
            "services": [{"name": s.name, "provider": s.provider, "purpose": s.purpose,
                          "location": s.location} for s in services],
            "consent_retention_years": consent.retention_years if consent else 5,
        }
