"""Billing's jobs: tenants move along the lifecycle as time passes, and their owners and admins
are told by e-mail whenever billing changes what their space can do."""

from __future__ import annotations

from huey import crontab

from webapp import db
from webapp.billing import services
from webapp.jobs import periodic_task, task
from webapp.members import services as members
from webapp.organisations.models import Tenant
from webapp.web.urls import external_url

NOTICES = ("past_due", "read_only", "suspended", "restored")


@periodic_task(crontab(minute="7"))
def lifecycle_sweep() -> int:
    """Hourly: grace periods that ended make tenants read-only, then suspended."""
    return services.sweep(db.session())


@task()
def send_status_notice(tenant_id: int, kind: str) -> int:
    """E-mail the organisation's owners and admins what billing just did (one of ``NOTICES``);
    nothing if the space has moved on since (a later notice tells). Returns how many."""
    session = db.session()
    tenant = session.get(Tenant, tenant_id)
    notice = services.notice(session, tenant_id)
    now = notice.kind if notice is not None else "restored"
    if tenant is None or kind not in NOTICES or now != kind:
        return 0
    return members.email_owners_and_admins(
        session, tenant_id, "billing/email/status", kind=kind, organisation=tenant.name,
        until=notice.until if notice else None,
        link=external_url("billing.subscription", slug=tenant.slug))
