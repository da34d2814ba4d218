"""Retention sweeps over the tenant fleet, run by the job worker (``flask jobs worker``).

The control plane keeps, per tenant, when it next has data to sweep (``RetentionSchedule``).
An hourly periodic task queues one job per tenant that is due, and only those, so a sweep costs
in proportion to the tenants with expiring data. Each job sweeps its one tenant
(``tenants.api.sweep_retention``: batches, receipt) and writes back that tenant's next due
date; a failure in one tenant never stops the others. A tenant brings its sweep forward when
data may expire earlier than planned (an account deleted by its owner, a shorter duration).

Every day, ``sweep_sign_in_records`` deletes the control plane's own sign-in records past their
retention (``services``), in batches, each committed with its count on the day's receipt.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from huey import crontab
from sqlalchemy import or_, select

from core.clock import utcnow
from core.jobs import enqueue, periodic_task, task
from tenants import api as tenants_api
from webapp import db
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant, TenantStatus
from webapp.retention import services
from webapp.retention.models import RetentionSchedule

# Tenants whose data is still kept: an ended tenant's data waits for its destruction as a whole.
SWEPT = (TenantStatus.ACTIVE, TenantStatus.READ_ONLY, TenantStatus.SUSPENDED)
# A queued sweep is not queued again for this long (it is still running, or has failed and
# will be tried again after that).
LEASE = timedelta(hours=6)


@periodic_task(crontab(minute="20"))
def queue_due_sweeps() -> int:
    """Queue the sweep of every tenant that is due; returns how many."""
    session, now = db.session(), utcnow()
    due = session.execute(
        select(Tenant, RetentionSchedule)
        .outerjoin(RetentionSchedule, RetentionSchedule.tenant_id == Tenant.id)
        .where(Tenant.status.in_(SWEPT),
               or_(RetentionSchedule.tenant_id.is_(None), RetentionSchedule.next_due_at <= now))
        .order_by(Tenant.id)).all()
    for tenant, schedule in due:
        if schedule is None:
            schedule = RetentionSchedule(tenant_id=tenant.id)
            session.add(schedule)
        schedule.next_due_at, schedule.queued_at = now + LEASE, now
        enqueue(sweep_tenant, tenant.slug)  # once this lease is committed
    return len(due)


@task()
def sweep_tenant(slug: str) -> None:
    """Sweep one tenant, then plan its next sweep."""
    next_due = tenants_api.sweep_retention(slug)
    session = db.session()
    tenant = org_services.get(session, slug)
    if tenant is None:  # deleted meanwhile
        return
    schedule = session.get(RetentionSchedule, tenant.id)
    if schedule is None:  # swept by hand (``flask jobs``), never queued
        schedule = RetentionSchedule(tenant_id=tenant.id, next_due_at=next_due)
        session.add(schedule)
    elif schedule.queued_at is not None and schedule.next_due_at < schedule.queued_at + LEASE:
        # Brought forward while this sweep ran: the earlier of the two.
        next_due = min(next_due, schedule.next_due_at)
    schedule.next_due_at, schedule.queued_at, schedule.swept_at = next_due, None, utcnow()


@tenants_api.retention_due_earlier.connect
def _bring_forward(slug: str, at: datetime) -> None:
    """A tenant has data due at ``at``: make its next sweep no later (the caller's unit of
    work commits it, with the change that made it due)."""
    session = db.session()
    tenant = org_services.get(session, slug)
    if tenant is None:
        return
    schedule = session.get(RetentionSchedule, tenant.id)
    if schedule is None:
        session.add(RetentionSchedule(tenant_id=tenant.id, next_due_at=at))
    elif at < schedule.next_due_at:
        schedule.next_due_at = at


@periodic_task(crontab(hour="3", minute="10"))
def sweep_sign_in_records() -> int:
    """Delete the members' and operators' sign-in sessions ended more than the platform's
    retention ago, and failed sign-ins past the throttling window; returns the sessions
    deleted. A run interrupted between batches keeps the counts of those it committed."""
    session = db.session()
    receipt = services.start_receipt(session)
    db.commit()
    while services.delete_sessions_batch(session, receipt) == services.BATCH:
        db.commit()  # one batch at a time: other writers are never held up for long
    services.delete_failures(session, receipt)
    receipt.finished_at = utcnow()
    db.commit()
    return receipt.sessions_deleted
