"""Breach e-mails, sent by jobs after the request's commit.

``notify_tenant`` tells one organisation's owners, admins and DPO (one job per organisation, so the
24-hour clock of each stops when its own e-mails leave). ``send_notice`` fans the participant
notice out to one job per participant, so a failing address is retried alone. A job reads the
tenant plane before the control plane, and each through its own short unit of work: a job never
holds two connections (one pool for both on PostgreSQL).
"""

from __future__ import annotations

from flask import current_app

from core import mail
from core.clock import utcnow
from core.jobs import enqueue, task
from core.web.urls import external_url
from tenants import api as tenants_api
from webapp import db
from webapp.breaches import services
from webapp.breaches.models import AffectedTenant
from webapp.members import services as members


def _language(language: str) -> str:
    if language in current_app.config["LANGUAGES"]:
        return language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@task()
def notify_tenant(affected_id: int) -> int:
    """E-mail the organisation's owners, admins and DPO; returns how many were e-mailed."""
    session = db.session()
    affected = session.get(AffectedTenant, affected_id)
    if affected is None or affected.notified_at is not None:
        return 0
    contacts = members.owners_and_admins(session, affected.tenant_id)
    slug = affected.tenant.slug
    link = external_url("breaches.tenant_breach", slug=slug, breach_id=affected.breach_id)
    addresses = [(account.email, account.language) for account in contacts]
    dpo = services.dpo_address(session, affected.tenant_id)
    if dpo and dpo.lower() not in {email.lower() for email, _ in addresses}:
        addresses.append((dpo, affected.tenant.default_language))
    for email, language in addresses:
        mail.send(mail.render_message(
            email, "breaches/email/controller_notice", _language(language),
            affected=affected, breach=affected.breach, link=link,
            organisation=affected.tenant_name, tenant_name=None,  # Parvis writes as itself
            deadline=services.cnil_clock(affected, utcnow()).deadline))
    services.mark_notified(session, affected, [email for email, _ in addresses])
    return len(addresses)


@task()
def send_notice(slug: str, affected_id: int) -> int:
    """Queue the notice to every confirmed participant; returns how many were queued."""
    recipients = tenants_api.breach_notice_recipients(slug)
    session = db.session()
    affected = session.get(AffectedTenant, affected_id)
    if affected is None or affected.notice_sent_at is None or affected.notice_recipients:
        return 0
    for participant_id in recipients:
        enqueue(email_participant, slug, affected_id, participant_id)
    affected.notice_recipients = len(recipients)
    services.log(session, affected.breach_id, "notice_emailed", tenant_id=affected.tenant_id,
                 detail=str(len(recipients)))
    return len(recipients)


@task()
def email_participant(slug: str, affected_id: int, participant_id: int) -> bool:
    contact = tenants_api.breach_notice_contact(slug, participant_id)
    if contact is None:
        return False
    affected = db.session().get(AffectedTenant, affected_id)
    if affected is None or affected.notice_sent_at is None:
        return False
    address, language = contact
    mail.send(mail.render_message(address, "breaches/email/participant_notice",
                                  _language(language), notice=affected.notice,
                                  tenant_name=affected.tenant_name))
    return True
