"""E-mails about a participant's account, sent by jobs after the request's commit.

Each job issues the token its link carries, in its own unit of work: no secret ever sits in
the queue's storage, and a job that fails before committing leaves no usable token behind (a
retry issues a new one). A job re-reads the account, so a late or repeated job does the right
thing: no confirmation link for an address confirmed meanwhile, and no second link within
``RESEND_INTERVAL`` (a form sent in a loop cannot flood someone's mailbox).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from core import mail
from core.jobs import tenant_task
from core.web.urls import external_url
from tenants.db import session
from tenants.events.models import Event
from tenants.participants import services
from tenants.participants.models import Participant
from tenants.settings import services as settings
from tenants.texts import pick

RESEND_INTERVAL = timedelta(minutes=1)


def _send(participant: Participant, template: str, **context: Any) -> None:
    language = participant.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    message = mail.render_message(participant.email, f"participants/email/{template}",
                                  language, participant=participant, **context)
    mail.send(message)


def _link_token(participant: Participant, purpose: str) -> str | None:
    """A new token for an e-mailed link, or None if one went out a moment ago."""
    db = session()
    if services.recently_issued(db, participant, purpose, RESEND_INTERVAL):
        return None
    return services.issue_token(db, participant, purpose)


@tenant_task()
def send_confirmation(slug: str, participant_id: int, event_id: int | None = None) -> bool:
    """The double opt-in e-mail; ``event_id``: the event the participant is registering to."""
    db = session()
    participant = db.get(Participant, participant_id)
    if participant is None or participant.is_confirmed:
        return False
    token = _link_token(participant, "confirm")
    if token is None:
        return False
    event = db.get(Event, event_id) if event_id else None
    title = (pick(event.title, participant.language, settings.languages(db)[0])
             if event is not None else "")
    _send(participant, "confirm", event_title=title,
          days=services.TOKEN_LIFETIMES["confirm"].days,
          link=external_url("tenant.participants.confirm", tenant=slug, token=token))
    return True


@tenant_task()
def send_password_reset(slug: str, participant_id: int) -> bool:
    participant = session().get(Participant, participant_id)
    if participant is None:
        return False
    token = _link_token(participant, "reset")
    if token is None:
        return False
    hours = int(services.TOKEN_LIFETIMES["reset"].total_seconds() // 3600)
    _send(participant, "reset", hours=hours,
          link=external_url("tenant.participants.reset_password", tenant=slug, token=token),
          forgot_url=external_url("tenant.participants.forgot_password", tenant=slug))
    return True


@tenant_task()
def send_signup_attempt(slug: str, participant_id: int, event_id: int | None = None) -> bool:
    """Someone tried to sign up with an address that has an account: tell its owner (the
    person signing up is told only to check their inbox, so nobody learns who has an account).
    An unconfirmed owner also gets a new confirmation link; a confirmed one a sign-in link
    back to the event (``event_id``) they were registering to."""
    db = session()
    participant = db.get(Participant, participant_id)
    if participant is None:
        return False
    confirm_link = sign_in_link = None
    if not participant.is_confirmed:
        token = _link_token(participant, "confirm")
        if token is not None:
            confirm_link = external_url("tenant.participants.confirm", tenant=slug, token=token)
    elif participant.is_active and not services.recently_issued(
            db, participant, "login", RESEND_INTERVAL):
        event = db.get(Event, event_id) if event_id else None
        target = (url_for_event(slug, event.id) if event is not None else "")
        token, _code = services.issue_sign_in(db, participant)
        sign_in_link = _sign_in_url(slug, token, target)
    _send(participant, "signup_attempt", confirm_link=confirm_link, sign_in_link=sign_in_link,
          minutes=_sign_in_minutes(), has_password=participant.has_password,
          login_url=external_url("tenant.participants.login", tenant=slug),
          forgot_url=external_url("tenant.participants.forgot_password", tenant=slug))
    return True


def url_for_event(slug: str, event_id: int) -> str:
    """The event page's path (a same-site ``next`` for a sign-in link)."""
    return urlsplit(external_url("tenant.events.show", tenant=slug, event_id=event_id)).path


def _sign_in_url(slug: str, token: str, target: str) -> str:
    values: dict[str, Any] = {"tenant": slug, "token": token}
    if target:
        values["next"] = target
    return external_url("tenant.participants.link_sign_in", **values)


def _sign_in_minutes() -> int:
    return int(services.TOKEN_LIFETIMES["login"].total_seconds() // 60)


@tenant_task()
def send_sign_in_link(slug: str, email: str, language: str, target: str = "") -> bool:
    """A sign-in link and code, asked for on the sign-in page. The request got the same
    answer whatever the address; here the address's owner learns more: an account gets its
    link and code (none again within ``RESEND_INTERVAL``: the last one still works), an
    address without one is told so once per throttling window, with the way to register."""
    db = session()
    participant = services.find_by_email(db, email)
    if participant is None:
        if not services.should_tell_stranger(db, email):
            return False
        if language not in current_app.config["LANGUAGES"]:
            language = current_app.config["BABEL_DEFAULT_LOCALE"]
        mail.send(mail.render_message(
            email, "participants/email/sign_in_unknown", language,
            signup_url=external_url("tenant.participants.signup", tenant=slug)))
        return True
    if services.recently_issued(db, participant, "login", RESEND_INTERVAL):
        return False
    token, code = services.issue_sign_in(db, participant)
    _send(participant, "sign_in", code=code, minutes=_sign_in_minutes(),
          link=_sign_in_url(slug, token, target))
    return True
