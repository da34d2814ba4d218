"""Billing's periodic job: tenants move along the lifecycle as time passes."""

from __future__ import annotations

from huey import crontab

from webapp import db
from webapp.billing import services
from webapp.jobs import periodic_task


@periodic_task(crontab(minute="7"))
def lifecycle_sweep() -> int:
    """Hourly: grace periods that ended make tenants read-only, then suspended."""
    return services.sweep(db.session())
