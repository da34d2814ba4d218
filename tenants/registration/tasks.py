"""Jobs of the registration feature: e-mails about a registration, and event reminders.

Jobs carry ids and re-read the current state, so a job that runs late or twice does the right
thing: a join link goes only to a registration that is still confirmed, and a reminder is
recorded in ``sent_reminders`` (committed) before its e-mail job is queued, so it is never sent
twice, while a failed delivery is retried by the e-mail job alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import mail
from core.clock import utcnow
from core.jobs import enqueue, tenant_task
from core.web.urls import external_url
from tenants.db import current_slug, session
from tenants.events.models import Event
from tenants.events.wording import event_moment, event_when
from tenants.messaging import email_texts
from tenants.participants.models import Participant
from tenants.registration import joining
from tenants.registration.models import Registration, SentReminder
from tenants.rights.models import is_restricted
from tenants.settings import services as settings
from tenants.texts import pick

# Which registration statuses each e-mail still makes sense for when the job runs.
EMAIL_STATUSES = {
    "confirmed": ("confirmed",), "promoted": ("confirmed",), "awaiting": ("awaiting",),
    "waitlisted": ("waitlisted",), "refused": ("refused",), "cancelled": ("cancelled",),
    "full": ("cancelled",), "event_cancelled": ("cancelled", "confirmed", "awaiting",
                                                "waitlisted", "pending"),
    "reminder": ("confirmed",), "resend": ("confirmed",), "event_moved": ("confirmed",),
}
# The only e-mails that carry the personal join link: it is never shown on a page.
JOIN_LINK_KINDS = ("confirmed", "promoted", "reminder", "resend", "event_moved")
# E-mails with a calendar file: the invitation (kept in step with the event's time)...
INVITE_KINDS = ("confirmed", "promoted", "resend", "event_moved")
# ...and its cancellation, for whoever had the invitation.
CANCEL_KINDS = ("cancelled", "event_cancelled")


def _calendar(kind: str, registration: Registration, participant: Participant, event: Event,
              title: str, language: str) -> tuple[mail.Attachment, ...]:
    """The .ics attached to this e-mail, if it carries one."""
    if kind in CANCEL_KINDS:
        had_invite = (registration.status == "confirmed" if kind == "event_cancelled"
                      else registration.confirmed_at is not None)
        if not had_invite:
            return ()
    elif kind not in INVITE_KINDS:
        return ()
    cancel = kind in CANCEL_KINDS
    description = pick(event.description, language, settings.languages(session())[0])
    content = joining.personal_file(current_slug(), registration, event, participant.email,
                                    title, description, cancel=cancel)
    return (joining.attachment(content, cancel),)


def _send(kind: str, registration: Registration, participant: Participant, event: Event,
          **extra: Any) -> None:

    if not participant.is_active:  # a deactivated account is not written to (retention)
        return
    language = participant.language
    if language not in current_app.config["LANGUAGES"]:
        language = current_app.config["BABEL_DEFAULT_LOCALE"]
    slug = current_slug()
    title = pick(event.title, language, settings.languages(session())[0])
    event_url = external_url("tenant.events.show", tenant=slug, event_id=event.id)
    join_url = joining.join_url(slug, registration) if kind in JOIN_LINK_KINDS else None
    # The tenant's own subject and message for this kind and language, if it wrote one.
    template, custom = email_texts.for_registration(
        session(), kind, language, participant=participant, event=event, title=title,
        event_url=event_url, join_url=join_url, offset_minutes=extra.get("offset_minutes", 0)
    ) or (f"registration/email/{kind}", {})
    message = mail.render_message(
        participant.email, template, language, **custom,
        attachments=_calendar(kind, registration, participant, event, title, language),
        participant=participant, event=event, registration=registration,
        title=title, event_when=event_when, event_moment=event_moment,
        join_url=join_url, join_opens_at=joining.opens_at(event), event_url=event_url,
        registrations_url=external_url("tenant.registration.mine", tenant=slug),
        **extra)
    mail.send(message)


def _load(registration_id: int) -> tuple[Registration, Participant, Event] | None:
    row = session().execute(
        select(Registration, Participant, Event)
        .join(Participant, Participant.id == Registration.participant_id)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.id == registration_id)).first()
    return None if row is None else (row[0], row[1], row[2])


@tenant_task()
def send_registration_email(slug: str, registration_id: int, kind: str,
                            offset_minutes: int = 0) -> bool:
    """E-mail a participant about their registration, if it is still in the matching state.

    ``offset_minutes`` is for reminders: how long before the start this one is.
    """
    loaded = _load(registration_id)
    if loaded is None:
        return False
    registration, participant, event = loaded
    if registration.status not in EMAIL_STATUSES[kind]:
        return False
    if is_restricted(session(), participant.id):  # art. 18: nothing but storage
        return False
    if kind == "reminder" and (event.status != "published" or event.starts_at <= utcnow()):
        return False
    _send(kind, registration, participant, event, offset_minutes=offset_minutes)
    return True


@tenant_task()
def send_reminders(slug: str, event_id: int, offset_minutes: int, starts_at: str) -> int:
    """Remind every confirmed registrant of an event; skips if the event moved or was cancelled.

    ``starts_at`` is the start time this reminder was scheduled for: a rescheduled event has
    newer jobs, and this one does nothing; so does a reminder the admin has unticked since.
    Returns how many reminders were queued.
    """

    db = session()
    event = db.get(Event, event_id)
    if (event is None or event.status != "published"
            or event.starts_at.isoformat() != starts_at or event.starts_at <= utcnow()
            or offset_minutes not in (event.reminders or [])):  # unticked since scheduled
        return 0
    queued = 0
    for registration_id in list(db.scalars(
            select(Registration.id).where(Registration.event_id == event_id,
                                          Registration.status == "confirmed")
            .order_by(Registration.id))):
        try:
            with db.begin_nested():
                db.add(SentReminder(registration_id=registration_id,
                                    offset_minutes=offset_minutes, starts_at=event.starts_at,
                                    sent_at=utcnow()))
        except IntegrityError:
            continue  # already reminded for this start time
        enqueue(send_registration_email, slug, registration_id, "reminder", offset_minutes)
        queued += 1
    return queued


def schedule_reminders(event: Event) -> None:
    """Queue the event's reminders for its current start time (in the outbox, from their time
    on: a job that finds the event moved or its reminder unticked does nothing)."""

    now = utcnow()
    for offset in sorted(set(event.reminders or [])):
        eta: datetime = event.starts_at - timedelta(minutes=offset)
        if eta > now:
            enqueue(send_reminders, current_slug(), event.id, offset,
                    event.starts_at.isoformat(), eta=eta)
