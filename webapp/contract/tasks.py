"""Contract-end jobs: the bundle's build, the destruction after the return window, and the
10-year purge of invoice records. Jobs take ids and re-read their rows: a job queued twice, or
after the work was done, does nothing."""

from __future__ import annotations

from datetime import timedelta

from huey import crontab
from sqlalchemy import select

from core.clock import utcnow
from core.jobs import enqueue, periodic_task, task
from webapp import db
from webapp.contract import services
from webapp.contract.models import ContractEnd

REMINDER = timedelta(days=7)  # before the destruction


@periodic_task(crontab(hour="9", minute="15"))
def remind_before_destruction() -> int:
    """Daily: a week before its return window closes, a tenant's owners and admins are reminded
    to download its data (the one run whose day falls in that last week's first day)."""
    now = utcnow()
    ids = list(db.session().scalars(select(ContractEnd.id).where(
        ContractEnd.destroyed_at.is_(None), ContractEnd.bundle_ready_at.is_not(None),
        ContractEnd.return_until > now + REMINDER - timedelta(days=1),
        ContractEnd.return_until <= now + REMINDER)))
    for contract_end_id in ids:
        enqueue(services.send_notice, contract_end_id, "reminder")
    return len(ids)


@periodic_task(crontab(minute="25"))
def build_missing_bundles() -> int:
    """Queue the build of every bundle still missing (see ``services.bundles_missing``)."""
    ids = [end.id for end in services.bundles_missing(db.session())]
    for contract_end_id in ids:
        enqueue(services.prepare_bundle, contract_end_id)
    return len(ids)


@periodic_task(crontab(hour="4", minute="10"))
def destroy_due() -> int:
    """Queue the destruction of every tenant whose return window is over; returns how many."""
    ids = [end.id for end in services.due(db.session())]
    for contract_end_id in ids:
        enqueue(destroy, contract_end_id)
    return len(ids)


@task()
def destroy(contract_end_id: int) -> bool:
    """Destroy one ended tenant (re-runnable after a crash); False if already done."""
    session = db.session()
    end = session.get(ContractEnd, contract_end_id)
    if end is None or end.destroyed_at is not None:
        return False
    services.destroy(session, end)
    return True


@periodic_task(crontab(hour="4", minute="40"))
def purge_invoices() -> int:
    """Delete invoice records past their 10 years, and DPA acceptances past their 5 years
    after the tenant's destruction; returns how many rows."""
    return services.purge_invoices(db.session()) + services.purge_contract_proofs(db.session())
