"""Jobs: the register version checks, after a change of an organisation's services and every
night."""

from __future__ import annotations

from huey import crontab

from core.jobs import enqueue, periodic_task, task
from webapp import db
from webapp.dpa.services import INFORMED
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant
from webapp.registers import services


@task()
def remember_register(tenant_id: int) -> int | None:
    """Store a new version of the tenant's processor register if its content changed (queued
    after a change of its services commits); returns the latest version's number."""
    session = db.session()
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or tenant.status not in INFORMED:
        return None
    return services.remember(session, tenant.id, services.tenant_snapshot(session, tenant)).number


@periodic_task(crontab(hour="3", minute="40"))
def remember_registers() -> int:
    """Every night: the controller register, and a version check of every tenant's processor
    register (changes made in the tenant's own pages); returns how many tenants were queued."""
    session = db.session()
    services.remember(session, None, services.controller_snapshot(session))
    tenants = [t.id for t in org_services.all_tenants(session) if t.status in INFORMED]
    for tenant_id in tenants:
        enqueue(remember_register, tenant_id)
    return len(tenants)
