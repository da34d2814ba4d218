"""The retention sweep's e-mail: an inactive account's owner is told 30 days before it is
deactivated, and how to keep it (signing in is enough)."""

from __future__ import annotations

from flask import current_app

from core import mail
from core.clock import utcnow
from core.jobs import tenant_task
from core.web.urls import external_url
from tenants.db import session
from tenants.participants.models import Participant
from tenants.retention import services
from tenants.retention.services import WARNING


@tenant_task()
def send_inactivity_warning(slug: str, participant_id: int) -> bool:
    """Sent once per warning: the sweep marks the account warned, then queues this (again an
    hour later if it was lost), which records when it went out; a second job, or a late one
    for an account used or deactivated meanwhile, sends nothing."""
    participant = session().get(Participant, participant_id)
    if (participant is None or not participant.is_active
            or participant.inactivity_warned_at is None
            or participant.inactivity_warning_sent_at is not None):
        return False
    sent = utcnow()
    language = participant.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    inactive = services.rule(session(), "inactive_accounts")
    mail.send(mail.render_message(
        participant.email, "retention/email/inactivity_warning", language,
        participant=participant, months=inactive.duration,
        deactivation=(sent + WARNING).date(),
        erasure=(sent + WARNING + services.REACTIVATION).date(),
        login_url=external_url("tenant.participants.login", tenant=slug)))
    participant.inactivity_warning_sent_at = sent
    return True
