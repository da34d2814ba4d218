"""Jobs of the registration feature: e-mails about a registration, and event reminders.

Jobs carry ids and re-read the current state, so a job that runs late or twice does the right
thing: a join link goes only to a registration that is still confirmed, and a reminder is
recorded in ``sent_reminders`` before it leaves, so it is never sent twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tenants.db import current_slug, session, utcnow
from tenants.events.models import Event
from tenants.participants.models import Participant
from tenants.registration.models import Registration, SentReminder
from tenants.texts import pick
from webapp import mail
from webapp.jobs import huey, tenant_task

# Which registration statuses each e-mail still makes sense for when the job runs.
EMAIL_STATUSES = {
    "confirmed": ("confirmed",), "promoted": ("confirmed",), "awaiting": ("awaiting",),
    "waitlisted": ("waitlisted",), "refused": ("refused",), "cancelled": ("cancelled",),
    "full": ("cancelled",), "event_cancelled": ("cancelled", "confirmed", "awaiting",
                                                "waitlisted", "pending"),
}
JOIN_LINK_KINDS = ("confirmed", "promoted", "reminder", "resend")


def _send(kind: str, registration: Registration, participant: Participant, event: Event,
          **extra: object) -> None:
    language = participant.language
    message = mail.render_message(
        participant.email, f"registration/email/{kind}", language,
        participant=participant, event=event, registration=registration,
        title=pick(event.title, language),
        join_url=event.join_url if kind in JOIN_LINK_KINDS else None,
        event_url=url_for("tenant.events.show", tenant=current_slug(), event_id=event.id,
                          _external=True),
        registrations_url=url_for("tenant.registration.mine", tenant=current_slug(),
                                  _external=True),
        **extra)
    mail.send(message)


def _load(registration_id: int) -> tuple[Registration, Participant, Event] | None:
    row = session().execute(
        select(Registration, Participant, Event)
        .join(Participant, Participant.id == Registration.participant_id)
        .join(Event, Event.id == Registration.event_id)
        .where(Registration.id == registration_id)).first()
    return None if row is None else (row[0], row[1], row[2])


@tenant_task(retries=3, retry_delay=60)
def send_registration_email(slug: str, registration_id: int, kind: str) -> bool:
    """E-mail a participant about their registration, if it is still in the matching state."""
    loaded = _load(registration_id)
    if loaded is None:
        return False
    registration, participant, event = loaded
    allowed = ("confirmed",) if kind == "resend" else EMAIL_STATUSES[kind]
    if registration.status not in allowed:
        return False
    _send(kind, registration, participant, event)
    return True


@tenant_task(retries=3, retry_delay=60)
def send_reminders(slug: str, event_id: int, offset_minutes: int, starts_at: str) -> int:
    """Remind every confirmed registrant of an event; skips if the event moved or was cancelled.

    ``starts_at`` is the start time this reminder was scheduled for: a rescheduled event has
    newer jobs, and this one does nothing.
    """
    db = session()
    event = db.get(Event, event_id)
    if (event is None or event.status != "published"
            or event.starts_at.isoformat() != starts_at or event.starts_at <= utcnow()):
        return 0
    sent = 0
    for registration, participant in db.execute(
            select(Registration, Participant)
            .join(Participant, Participant.id == Registration.participant_id)
            .where(Registration.event_id == event_id, Registration.status == "confirmed")):
        try:
            with db.begin_nested():
                db.add(SentReminder(registration_id=registration.id,
                                    offset_minutes=offset_minutes, starts_at=event.starts_at,
                                    sent_at=utcnow()))
        except IntegrityError:
            continue  # already reminded for this start time
        _send("reminder", registration, participant, event, offset_minutes=offset_minutes)
        sent += 1
    return sent


def schedule_reminders(event: Event) -> None:
    """Queue the event's reminders for its current start time (after commit)."""
    from webapp.jobs import enqueue

    now = utcnow()
    for offset in sorted(set(event.reminders or [])):
        eta: datetime = event.starts_at - timedelta(minutes=offset)
        if eta > now:
            enqueue(_schedule, send_reminders, current_slug(), event.id, offset,
                    event.starts_at.isoformat(), eta=eta)


def _schedule(task, *args: object, eta: datetime) -> None:  # type: ignore[no-untyped-def]
    # Immediate mode (tests) has no scheduler: the task is called by the test when due.
    if not huey.immediate:
        task.schedule(args=args, eta=eta)
