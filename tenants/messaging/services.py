"""Messages from organisers to an event's registrants, sent in batches at a bounded rate.

``create`` writes the message (the log entry) with one delivery row per recipient, leaving out
those who restricted processing (and, for news, those who did not opt in), and queues
``send_batch``. Each run of that job queues the e-mails of at most ``MESSAGES_BATCH_SIZE``
pending deliveries, marks them queued in the same transaction (so a worker killed mid-batch
rolls it all back, and the retry sends each e-mail once), and queues the next run no sooner
than ``MESSAGES_BATCH_SECONDS`` later; a run before ``next_batch_at`` (a duplicate wake-up)
does nothing. Each e-mail is a ``deliver`` effect job keyed by its own outbox row.

News carries a one-click unsubscribe (RFC 8058): a signed token per participant, good without
signing in; unsubscribing goes through the consent ledger (``record_marketing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core import mail
from core.clock import utcnow
from core.jobs import enqueue, tenant_task
from core.web.pagination import Page, paginate
from core.web.urls import external_url
from tenants.consent import ledger
from tenants.consent.models import ConsentEntry
from tenants.db import current_slug, session
from tenants.events.models import Event
from tenants.messaging import email_texts, placeholders
from tenants.messaging.models import EventMessage, MessageDelivery
from tenants.participants.models import Participant
from tenants.registration import joining
from tenants.registration.models import Registration
from tenants.rights.models import restricted_among
from tenants.settings import services as settings
from tenants.texts import Texts, pick

AUDIENCES = ("confirmed", "waitlisted", "attended", "absent")
BATCH_SIZE = 50  # defaults of MESSAGES_BATCH_SIZE and MESSAGES_BATCH_SECONDS
BATCH_SECONDS = 60
# A wake-up may come a little before its time (clocks): it still counts as on time.
EARLY = timedelta(seconds=1)


def _audience(event: Event, name: str) -> ColumnElement[bool]:
    confirmed = Registration.status == "confirmed"
    if name == "confirmed":
        return confirmed
    if name == "waitlisted":
        return Registration.status == "waitlisted"
    if name == "attended":
        return Registration.attended_at.is_not(None)
    # absent: held a seat, the event has started, no attendance recorded
    started = event.starts_at <= utcnow()
    return and_(confirmed, Registration.attended_at.is_(None)) if started else confirmed.is_(None)


@dataclass(frozen=True)
class Plan:
    """Who a message would go to: registration ids, and how many were left out and why."""

    registration_ids: list[int]
    restricted: int
    not_opted_in: int


def opted_in(db: Session, participant_ids: set[int]) -> set[int]:
    """Which of these participants currently accept the organisation's news (the ledger)."""
    if not participant_ids:
        return set()
    rows = db.execute(select(ConsentEntry.participant_id, ConsentEntry.choices).where(
        ConsentEntry.participant_id.in_(participant_ids), ConsentEntry.kind == "registration",
        ConsentEntry.replaced_at.is_(None)))
    return {pid for pid, choices in rows if pid is not None and (choices or {}).get("marketing")}


def plan(db: Session, event: Event, audiences: list[str], news: bool) -> Plan:
    chosen = [_audience(event, name) for name in audiences if name in AUDIENCES]
    if not chosen:
        return Plan([], 0, 0)
    rows = db.execute(
        select(Registration.id, Registration.participant_id)
        .join(Participant, Participant.id == Registration.participant_id)
        .where(Registration.event_id == event.id, or_(*chosen),
               Participant.deactivated_at.is_(None))
        .order_by(Registration.id)).all()
    restricted = restricted_among(db, {pid for _rid, pid in rows})
    kept = [(rid, pid) for rid, pid in rows if pid not in restricted]
    not_opted_in = 0
    if news:
        willing = opted_in(db, {pid for _rid, pid in kept})
        not_opted_in = sum(1 for _rid, pid in kept if pid not in willing)
        kept = [(rid, pid) for rid, pid in kept if pid in willing]
    return Plan([rid for rid, _pid in kept], len(rows) - len(kept) - not_opted_in,
                not_opted_in)


def create(db: Session, event: Event, *, subject: Texts, body: Texts, audiences: list[str],
           news: bool, member_id: int | None, kind: str = "message") -> EventMessage:
    """Log the message, plan its deliveries and queue the first batch (in this unit of work)."""
    planned = plan(db, event, audiences, news)
    message = EventMessage(
        event_id=event.id, kind=kind, news=news, subject=dict(subject), body=dict(body),
        audiences=[name for name in AUDIENCES if name in audiences], sent_by=member_id,
        created_at=utcnow(), recipients=len(planned.registration_ids),
        left_out_restricted=planned.restricted, left_out_news=planned.not_opted_in, sent=0)
    db.add(message)
    db.flush()
    db.add_all(MessageDelivery(message_id=message.id, registration_id=rid, status="pending")
               for rid in planned.registration_ids)
    if planned.registration_ids:
        enqueue(send_batch, current_slug(), message.id)
    else:
        message.finished_at = utcnow()
    return message


def log(db: Session, event_id: int, page: int = 1) -> Page[EventMessage]:
    """A page of the event's messages, newest first, with how many there are (one statement)."""
    return paginate(db, select(EventMessage).where(EventMessage.event_id == event_id)
                    .order_by(EventMessage.created_at.desc(), EventMessage.id.desc()), page)


# --- sending -----------------------------------------------------------------------------------


def _rate() -> tuple[int, timedelta]:
    config = current_app.config
    return (max(int(config.get("MESSAGES_BATCH_SIZE", BATCH_SIZE)), 1),
            timedelta(seconds=float(config.get("MESSAGES_BATCH_SECONDS", BATCH_SECONDS))))


def recipient_language(db: Session, participant: Participant) -> str:
    """The participant's language if the tenant writes in it, else the tenant's default."""
    languages = settings.languages(db)
    return participant.language if participant.language in languages else languages[0]


def render(db: Session, message: EventMessage, event: Event, participant: Participant,
           registration: Registration | None, language: str) -> mail.Message:
    """The e-mail of ``message`` to one recipient, in ``language``."""
    default = settings.languages(db)[0]
    slug = current_slug()
    title = pick(event.title, language, default)
    event_url = external_url("tenant.events.show", tenant=slug, event_id=event.id)
    # The personal join link (it records attendance), never the meeting address itself.
    join = joining.join_url(slug, registration) if (
        registration is not None and registration.status == "confirmed") else ""
    values = email_texts.values(event, language, first_name=participant.first_name,
                                last_name=participant.last_name, title=title,
                                event_url=event_url, join_link=join)
    subject = " ".join(placeholders.render_text(pick(message.subject, language, default),
                                                values).split())
    body = pick(message.body, language, default)
    headers: dict[str, str] = {}
    unsubscribe = None
    if message.news:
        unsubscribe = external_url("tenant.messaging.unsubscribe", tenant=slug,
                                   token=unsubscribe_token(participant.id))
        headers = {"List-Unsubscribe": f"<{unsubscribe}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return mail.render_message(
        participant.email, "messaging/email/message", language, headers=headers,
        subject=subject, body_text=placeholders.render_text(body, values),
        body_html=placeholders.render_html(body, values), title=title,
        when=values["event_date"], event_url=event_url, unsubscribe_url=unsubscribe)


@tenant_task()
def send_batch(slug: str, message_id: int) -> int:
    """Queue the next batch of a message's e-mails; returns how many were queued."""
    db = session()
    # Locked: a duplicate wake-up running at the same moment waits, then sees this batch done.
    message = db.get(EventMessage, message_id, with_for_update=True)
    if message is None or message.finished_at is not None:
        return 0
    now = utcnow()
    if message.next_batch_at is not None and now < message.next_batch_at - EARLY:
        return 0  # a duplicate wake-up: the rate holds
    event = db.get(Event, message.event_id)
    size, pause = _rate()
    rows = db.execute(
        select(MessageDelivery, Registration, Participant)
        .join(Registration, Registration.id == MessageDelivery.registration_id)
        .join(Participant, Participant.id == Registration.participant_id)
        .where(MessageDelivery.message_id == message_id, MessageDelivery.status == "pending")
        .order_by(MessageDelivery.id).limit(size)).all()
    restricted = restricted_among(db, {p.id for _d, _r, p in rows})
    willing = opted_in(db, {p.id for _d, _r, p in rows}) if message.news else set()
    queued = 0
    for delivery, registration, participant in rows:
        delivery.queued_at = now
        # Re-read now: a restriction or a withdrawal since the message was written wins.
        if (event is None or participant.id in restricted or not participant.is_active
                or (message.news and participant.id not in willing)):
            delivery.status = "skipped"
            continue
        mail.send(render(db, message, event, participant, registration,
                         recipient_language(db, participant)))
        delivery.status = "queued"
        queued += 1
    message.sent += queued
    pending = db.scalar(select(func.count()).select_from(MessageDelivery).where(
        MessageDelivery.message_id == message_id, MessageDelivery.status == "pending"))
    if pending:
        message.next_batch_at = now + pause
        enqueue(send_batch, slug, message_id, eta=message.next_batch_at)
    else:
        message.finished_at = now
    return queued


# --- unsubscribing from news -------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"],
                             salt=f"parvis-unsubscribe:{current_slug()}")


def unsubscribe_token(participant_id: int) -> str:
    """A signed token naming the participant in this tenant (no expiry: old e-mails work)."""
    return _serializer().dumps(participant_id)


def participant_of(db: Session, token: str) -> Participant | None:
    try:
        participant_id: Any = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(participant_id, int):
        return None
    return db.get(Participant, participant_id)


def unsubscribe(db: Session, participant: Participant) -> bool:
    """Withdraw the news opt-in (a ledger proof); False when it was not given: idempotent."""
    return ledger.record_marketing(db, participant, False) is not None
