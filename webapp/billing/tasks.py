"""Billing's periodic job: tenants move along the lifecycle as time passes (their owners and
admins are told by ``services.send_status_notice``)."""

from __future__ import annotations

from huey import crontab

from core.jobs import periodic_task
from webapp import db
from webapp.billing import services


@periodic_task(crontab(minute="7"))
def lifecycle_sweep() -> int:
    """Hourly: grace periods that ended make tenants read-only, then suspended."""
    return services.sweep(db.session())
