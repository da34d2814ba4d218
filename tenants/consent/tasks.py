"""The consent ledger's retention job: proofs are kept ``retention_years`` after the consent
ended (PRODUCT.md retention matrix), then deleted. Issue 6 generalises retention; until then a
daily periodic task (webapp/sweeps.py) queues this job for every open tenant."""

from __future__ import annotations

from tenants.consent import services
from tenants.db import session
from webapp.jobs import tenant_task


@tenant_task()
def purge_ledger(slug: str) -> int:
    """Delete this tenant's expired proofs; idempotent (a second run finds nothing)."""
    return services.purge(session())
