"""The invitation e-mail, sent by a job after the request's commit; the daily deletion of
accounts left without a membership.

The job issues the link's token itself, in its own unit of work: no secret waits in the queue,
and sending again (a retry) issues a new link that replaces the previous one.
"""

from __future__ import annotations

from flask import current_app
from huey import crontab

from core import mail
from core.jobs import periodic_task, task
from core.web.urls import external_url
from webapp import db
from webapp.auth.models import Account
from webapp.members import services
from webapp.members.models import Invitation
from webapp.organisations.models import Tenant


@task()
def send_invitation(invitation_id: int) -> bool:
    session = db.session()
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None:
        return False  # revoked or used meanwhile
    tenant = session.get(Tenant, invitation.tenant_id)
    inviter = session.get(Account, invitation.invited_by_id) if invitation.invited_by_id else None
    language = tenant.default_language if tenant is not None else ""
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    token = services.issue_token(session, invitation)
    mail.send(mail.render_message(
        invitation.email, "members/email/invitation", language, invitation=invitation,
        organisation=tenant.name if tenant is not None else "",
        inviter=(inviter.display_name or inviter.email) if inviter is not None else "",
        link=external_url("invitations.accept", token=token), days=services.INVITATION_DAYS))
    return True


@periodic_task(crontab(hour="3", minute="40"))
def sweep_memberless_accounts() -> int:
    """Delete the accounts left without a membership for 30 days (``services``)."""
    deleted = services.sweep_memberless_accounts(db.session())
    db.commit()
    if deleted:
        current_app.logger.info("deleted %d accounts without a membership for %d days",
                                deleted, services.MEMBERLESS_DAYS)
    return deleted
