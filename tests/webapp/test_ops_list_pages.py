"""Pagination of the operator console's lists that grow with data (issue 18, item 5): the
tenant registry, the DPA acceptances by organisation, the breach register, the destruction
certificates, the refused webhooks and the sign-in sweep receipts (tests/pagination_helpers)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from core.clock import utcnow
from tests.fixtures.people import english, sign_in_operator
from tests.pagination_helpers import check_pages
from webapp import db
from webapp.billing.models import RejectedWebhook
from webapp.breaches.models import AffectedTenant, Breach, BreachEvent, Scope
from webapp.contract.models import ContractEnd, DestructionCertificate
from webapp.organisations.models import Tenant, TenantStatus
from webapp.retention.models import ControlRetentionReceipt

N = 55


def registry_rows(app: Flask) -> list[str]:
    """N registry rows more (rows only: these pages read no tenant's schema); every slug."""
    with app.app_context():
        session = db.session()
        session.add_all(Tenant(slug=f"pg-{i:03d}", name=f"Paged {i:03d}",
                               status=TenantStatus.ACTIVE) for i in range(N))
        session.commit()
        return list(session.scalars(select(Tenant.slug)))


def test_the_tenant_registry_comes_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    slugs = registry_rows(app)
    english(sign_in_operator(client, "ops@parvis.test", "support"))
    check_pages(client, "/ops/tenants", [f"/t/{slug}/<" for slug in slugs],
                f"Tenant registry: {len(slugs)} organisations")


def test_the_dpa_acceptances_come_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    slugs = registry_rows(app)
    english(sign_in_operator(client, "ops@parvis.test", "support"))
    check_pages(client, "/ops/dpa", [f"/t/{slug}/<" for slug in slugs],
                f"{len(slugs)} organisations", fragment=False)


def test_the_breach_register_comes_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        now = utcnow()
        breach = Breach(nature="Lost laptop", data_categories="e-mail", people_estimate=1,
                        consequences="none", measures="wiped", aware_at=now,
                        scope=Scope.PLATFORM, recorded_at=now)
        session.add(breach)
        session.flush()
        session.add_all(BreachEvent(breach_id=breach.id, at=now + timedelta(seconds=i),
                                    action="recorded", detail=f"Step detail {i:03d}")
                        for i in range(N))
        session.commit()
    english(sign_in_operator(client, "privacy@parvis.test", "privacy"))
    check_pages(client, "/ops/breaches", [f"Step detail {i:03d}" for i in range(N)],
                f"of {N}", param="steps", fragment=False)
    assert "Lost laptop" in client.get("/ops/breaches?steps=2&page=abc").text


def test_an_incidents_organisations_come_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    """A platform-wide incident affects every organisation: its page lists them in pages, and
    the incidents' list counts them with one grouped query."""
    registry_rows(app)
    with app.app_context():
        session = db.session()
        now = utcnow()
        breach = Breach(nature="Backup exposed", data_categories="e-mail", people_estimate=1,
                        consequences="none", measures="rotated", aware_at=now,
                        scope=Scope.PLATFORM, recorded_at=now)
        session.add(breach)
        session.flush()
        session.add_all(AffectedTenant(
            breach_id=breach.id, tenant_id=tenant.id, tenant_name=tenant.name, participants=0,
            notified_at=now if tenant.slug < "pg-010" else None)
            for tenant in session.scalars(select(Tenant).where(Tenant.slug.like("pg-%"))))
        session.commit()
        breach_id = breach.id
    english(sign_in_operator(client, "privacy@parvis.test", "privacy"))
    check_pages(client, f"/ops/breaches/{breach_id}", [f"<td>Paged {i:03d}</td>" for i in range(N)],
                f"{N} organisations", fragment=False)
    assert f"<td>10 / {N}</td>" in client.get("/ops/breaches").text


def test_the_destruction_certificates_come_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    registry_rows(app)
    with app.app_context():
        session = db.session()
        now = utcnow()
        references = []
        for tenant in session.scalars(select(Tenant).where(Tenant.slug.like("pg-%"))):
            end = ContractEnd(tenant_id=tenant.id, reason="cancelled", ended_at=now,
                              window_days=30, return_until=now)
            session.add(end)
            session.flush()
            references.append(str(uuid.uuid4()))
            session.add(DestructionCertificate(
                reference=references[-1], contract_end_id=end.id, tenant_number=tenant.id,
                tenant_slug=tenant.slug, tenant_name=tenant.name, contract_ended_at=now,
                end_reason="cancelled", window_days=30, schema_name=f"t_{tenant.slug}",
                tables={}, control_rows={}, bundle_deleted=True, bundle_downloads=0,
                destroyed_at=now - timedelta(minutes=len(references))))
        session.commit()
    english(sign_in_operator(client, "ops@parvis.test", "support"))
    check_pages(client, "/ops/certificates", references,
                f"{N} organisations destroyed", fragment=False)


def test_the_refused_webhooks_come_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        now = utcnow()
        session.add_all(RejectedWebhook(
            body_sha256=f"{i:064d}", reason="not_json", event_id=f"evt_{i:03d}",
            received_at=now, last_received_at=now - timedelta(minutes=i)) for i in range(N))
        session.commit()
        total = session.scalar(select(func.count()).select_from(RejectedWebhook))
    english(sign_in_operator(client, "ops@parvis.test", "support"))
    check_pages(client, "/ops/billing/refused-webhooks", [f"evt_{i:03d}<" for i in range(N)],
                f"{total} refused webhooks", fragment=False)


def test_the_sign_in_sweep_receipts_come_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        now = utcnow()
        session.add_all(ControlRetentionReceipt(
            started_at=now - timedelta(days=i), finished_at=now, session_months=6,
            session_cutoff=now, sessions_deleted=7000 + i, failure_window=900)
            for i in range(N))
        session.commit()
    english(sign_in_operator(client, "privacy@parvis.test", "privacy"))
    check_pages(client, "/ops/sign-in-records", [f"<td>{7000 + i}</td>" for i in range(N)],
                f"{N} sweeps of the sign-in records", fragment=False)
