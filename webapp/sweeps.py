"""Periodic sweeps over the tenant fleet, run by the job worker (``flask jobs worker``).

The periodic task only lists the tenants (control plane) and queues one job per tenant, which
does the tenant's own work in its own unit of work; a failure in one tenant never stops the
others. Issue 6 (retention) is to generalise this to every data kind of the retention matrix.
"""

from __future__ import annotations

from huey import crontab

from tenants import api as tenants_api
from webapp import db
from webapp.billing import tasks as _billing_tasks  # noqa: F401 -- its periodic task
from webapp.contract import tasks as _contract_tasks  # noqa: F401 -- its periodic tasks
from webapp.jobs import periodic_task
from webapp.organisations import services as org_services
from webapp.organisations.models import TenantStatus
from webapp.signup import tasks as _signup_tasks  # noqa: F401 -- its periodic task

# Tenants whose data is still kept: an ended tenant's data waits for its destruction as a whole.
SWEPT = (TenantStatus.ACTIVE, TenantStatus.READ_ONLY, TenantStatus.SUSPENDED)


@periodic_task(crontab(hour="3", minute="20"))
def purge_consent_ledgers() -> int:
    """Queue the consent ledger's retention job for every tenant; returns how many."""
    slugs = [t.slug for t in org_services.all_tenants(db.session()) if t.status in SWEPT]
    for slug in slugs:
        tenants_api.purge_consent_ledger(slug)
    return len(slugs)
