"""Jobs: e-mails to tenant owners about sub-processor changes, sent after the commit; the
register version checks.

``inform_owners`` fans out one job per owner account, so a failing address is retried alone.
A job re-reads the change and the account: a change deleted or an owner deactivated meanwhile
sends nothing.
"""

from __future__ import annotations

from flask import current_app
from huey import crontab

from webapp import db, mail
from webapp.auth.models import Account
from webapp.jobs import enqueue, periodic_task, task
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant
from webapp.processor import services, versions
from webapp.processor.models import SubProcessorChange
from webapp.web.urls import external_url


@task()
def inform_owners(change_id: int) -> int:
    """Queue the e-mail to every owner; returns how many were queued."""
    owners = services.owners_to_inform(db.session())
    for account_id in owners:
        enqueue(email_owner, change_id, account_id)
    return len(owners)


@task()
def email_owner(change_id: int, account_id: int) -> bool:
    session = db.session()
    change = session.get(SubProcessorChange, change_id)
    account = session.get(Account, account_id)
    tenants = services.owners_to_inform(session, account_id).get(account_id, [])
    if change is None or account is None or not tenants:
        return False
    language = account.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    links = [(t.name, external_url("processor.owner_changes", slug=t.slug)) for t in tenants]
    mail.send(mail.render_message(
        account.email, "processor/email/sub_processor_change", language, change=change,
        entry=change.sub_processor, links=links,
        public_list=external_url("processor.sub_processors")))
    return True


@task()
def remember_register(tenant_id: int) -> int | None:
    """Store a new version of the tenant's processor register if its content changed (queued
    after a change of its services commits); returns the latest version's number."""
    session = db.session()
    tenant = session.get(Tenant, tenant_id)
    if tenant is None or tenant.status not in services.INFORMED:
        return None
    return versions.remember(session, tenant.id, versions.tenant_snapshot(session, tenant)).number


@periodic_task(crontab(hour="3", minute="40"))
def remember_registers() -> int:
    """Every night: the controller register, and a version check of every tenant's processor
    register (changes made in the tenant's own pages); returns how many tenants were queued."""
    session = db.session()
    versions.remember(session, None, versions.controller_snapshot())
    tenants = [t.id for t in org_services.all_tenants(session) if t.status in services.INFORMED]
    for tenant_id in tenants:
        enqueue(remember_register, tenant_id)
    return len(tenants)
