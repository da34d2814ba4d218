"""The signup e-mail, sent by a job after the request's commit, and the daily purge of the
signups never confirmed.

The job issues the token its link carries, in its own unit of work: no secret sits in the
queue. An address that already has an account gets a note saying so instead of a link, and the
person signing up sees the same page either way, so nobody learns who has an account.
"""

from __future__ import annotations

from flask import current_app
from huey import crontab

from core import mail
from core.jobs import periodic_task, task
from core.web.urls import external_url
from webapp import db
from webapp.signup import services
from webapp.signup.models import PendingSignup


@task()
def send_verification(signup_id: int) -> bool:
    session = db.session()
    signup = session.get(PendingSignup, signup_id)
    if signup is None:
        return False
    language = signup.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    if services.existing_account(session, signup.email) is not None:
        message = mail.render_message(
            signup.email, "signup/email/already_registered", language,
            login_url=external_url("auth.login", next="/signup"))
        mail.send(message)
        return True
    token = services.issue_link(session, signup)
    if token is None:
        return False
    mail.send(mail.render_message(
        signup.email, "signup/email/verify", language,
        days=services.LINK_LIFETIME.days, link=external_url("signup.verify", token=token)))
    return True


@periodic_task(crontab(hour="4", minute="10"))
def purge_expired_signups() -> int:
    """Daily: signups never confirmed are deleted once their link has expired."""
    return services.purge_expired(db.session())
