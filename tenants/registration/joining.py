"""Personal join links and calendar files.

A confirmed registrant joins through ``/t/<slug>/join/<token>``: the token is the
registration's own secret (256 random bits, never an id), the first use records attendance
(``attended_at``, one conditional UPDATE, so a second join keeps the first time) and the
answer is a redirect to the event's meeting address, which therefore never has to appear in
an e-mail or on a page. It works from ``join_opens_minutes`` before the start until
``JOIN_CLOSES_AFTER_MINUTES`` after the end, for a confirmed registration of a live event.

Calendar files carry the event in its own time zone (``core.ics``). Their UID is the event's,
the same in every file about it; their SEQUENCE is the event's (raised at each change of time
and at cancellation) plus the registration's (raised when its registrant cancels or registers
again), so each file sent replaces the one before. A registrant's file holds their personal
link; the public one holds the event page only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session, contains_eager

from core import ics
from core.clock import utcnow
from core.db import rowcount
from core.mail import Attachment
from core.web.urls import external_url
from tenants.events.models import JOIN_CLOSES_AFTER_MINUTES, Event
from tenants.registration.models import Registration

MAX_TOKEN = 64  # longer is not one of ours: refused before any query


@dataclass(frozen=True)
class Join:
    """What a join link leads to: ``state`` is ``open`` (then ``redirect`` is set),
    ``not_yet`` (``opens_at`` says when), ``over``, ``cancelled`` (the event),
    ``not_confirmed`` (the registration), ``no_address`` (the organiser has not set it)."""

    state: str
    registration: Registration
    opens_at: datetime
    redirect: str = ""


def by_token(db: Session, token: str) -> Registration | None:
    """The registration a join link names, with its event (one statement), or None."""
    if not token or len(token) > MAX_TOKEN:
        return None
    return db.scalar(
        select(Registration).join(Registration.event).options(contains_eager(Registration.event))
        .where(Registration.join_token == token))


def opens_at(event: Event) -> datetime:
    return event.starts_at - timedelta(minutes=event.join_opens_minutes)


def closes_at(event: Event) -> datetime:
    return event.ends_at + timedelta(minutes=JOIN_CLOSES_AFTER_MINUTES)


def join(db: Session, registration: Registration, now: datetime | None = None) -> Join:
    """Where the link leads now; records attendance (first join only) when it leads to the
    meeting."""
    now = now or utcnow()
    event = registration.event
    opening = opens_at(event)
    if event.status == "cancelled":
        return Join("cancelled", registration, opening)
    if registration.status != "confirmed" or event.status != "published":
        return Join("not_confirmed", registration, opening)
    if now > closes_at(event):
        return Join("over", registration, opening)
    if now < opening:
        return Join("not_yet", registration, opening)
    if not event.join_url:
        return Join("no_address", registration, opening)
    record_attendance(db, registration, now)
    return Join("open", registration, opening, redirect=event.join_url)


def record_attendance(db: Session, registration: Registration, at: datetime) -> bool:
    """Set the first join time, if none is recorded (a staff mark or an earlier join stays)."""
    changed = rowcount(db.execute(
        update(Registration)
        .where(Registration.id == registration.id, Registration.status == "confirmed",
               Registration.attended_at.is_(None))
        .values(attended_at=at).execution_options(synchronize_session=False)))
    if changed:
        registration.attended_at = at
    return changed == 1


def join_url(slug: str, registration: Registration) -> str:
    """The personal link, absolute (for e-mails and calendar files)."""
    return external_url("tenant.joining.join", tenant=slug, token=registration.join_token)


# --- calendar files ---------------------------------------------------------------------------


def uid(slug: str, event: Event) -> str:
    host = urlsplit(current_app.config.get("BASE_URL", "")).hostname or "parvis.invalid"
    return f"event-{event.id}.{slug}@{host}"


def _organizer() -> str:
    return parseaddr(current_app.config["MAIL_FROM"])[1]


def public_file(slug: str, event: Event, title: str, description: str) -> str:
    """The event's .ics for anyone: the event page as its link, no join link."""
    page = external_url("tenant.events.show", tenant=slug, event_id=event.id)
    cancelled = event.status == "cancelled"
    return ics.calendar(ics.CalendarEvent(
        uid=uid(slug, event), sequence=event.calendar_sequence, starts_at=event.starts_at,
        ends_at=event.ends_at, timezone=event.timezone, summary=title,
        description="\n\n".join(part for part in (description, page) if part), url=page,
        updated_at=event.updated_at), "CANCEL" if cancelled else "PUBLISH")


def personal_file(slug: str, registration: Registration, event: Event, email: str,
                  title: str, description: str, cancel: bool = False) -> str:
    """A registrant's .ics: their personal join link as link and location, or a cancellation
    (the event is cancelled, or so is their registration)."""
    link = join_url(slug, registration)
    cancel = cancel or event.status == "cancelled" or registration.status != "confirmed"
    return ics.calendar(ics.CalendarEvent(
        uid=uid(slug, event), sequence=event.calendar_sequence + registration.calendar_sequence,
        starts_at=event.starts_at, ends_at=event.ends_at, timezone=event.timezone,
        summary=title, description="\n\n".join(part for part in (description, link) if part),
        url=link, location=link, organizer=_organizer(), attendee=email,
        updated_at=utcnow()), "CANCEL" if cancel else "REQUEST")


def attachment(content: str, cancel: bool) -> Attachment:
    """The .ics as an e-mail attachment (``method`` as calendar clients expect it)."""
    return Attachment(filename="invite.ics" if not cancel else "cancel.ics", content=content,
                      subtype="calendar", params={"method": "CANCEL" if cancel else "REQUEST"})


def bump_sequence(db: Session, registration: Registration) -> None:
    """The registration's part of the calendar sequence, one higher (cancelled, or registered
    again after a cancellation)."""
    db.execute(update(Registration).where(Registration.id == registration.id)
               .values(calendar_sequence=Registration.calendar_sequence + 1)
               .execution_options(synchronize_session=False))
    db.expire(registration, ["calendar_sequence"])
