"""Registering to an event, seats, the waiting list and approvals.

Every status change goes through one conditional UPDATE (``_move``), so two requests racing on
the same registration cannot both apply; every seat is taken or released by one conditional
UPDATE on the event row (``_take_seat``/``_release_seat``). Together they keep ``seats_taken``
equal to the number of confirmed registrations, under any interleaving.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.db import rowcount, table_of
from core.jobs import enqueue
from core.web.pagination import Page, paginate
from tenants.db import current_slug
from tenants.events.models import Event
from tenants.fields import belonging
from tenants.participants.models import Participant
from tenants.registration import joining, tasks
from tenants.registration.models import ACTIVE, Registration


class RegistrationError(Exception):
    """A registration that cannot be made or changed; ``code`` names the reason for the UI."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # closed | not_open | full | ended | not_found | not_allowed


class Schedule(Protocol):
    """What ``registration_state`` reads of an event: an ``Event``, or the row
    ``events.services.schedule`` reads again under the write lock."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def registration_opens_at(self) -> datetime | None: ...
    @property
    def registration_closes_at(self) -> datetime | None: ...


def registration_state(event: Schedule, now: datetime | None = None) -> str:
    """open, not_open (not yet), closed (deadline passed, cancelled or draft) or ended."""
    now = now or utcnow()
    if event.status != "published":
        return "closed"
    if event.ends_at <= now:
        return "ended"
    if event.registration_opens_at and now < event.registration_opens_at:
        return "not_open"
    if event.registration_closes_at and now >= event.registration_closes_at:
        return "closed"
    if event.starts_at <= now:
        return "closed"
    return "open"


def _notify(registration: Registration, kind: str) -> None:
    """E-mail the participant once the unit of work commits (job queue)."""

    enqueue(tasks.send_registration_email, current_slug(), registration.id, kind)


def _take_seat(db: Session, event_id: int) -> bool:
    """One seat more, if one is free; never on an event that is cancelled, a draft or over."""
    result = db.execute(
        update(Event)
        .where(Event.id == event_id, Event.status == "published", Event.ends_at > utcnow(),
               or_(Event.capacity.is_(None), Event.seats_taken < Event.capacity))
        .values(seats_taken=Event.seats_taken + 1)
        .execution_options(synchronize_session=False))
    return rowcount(result) == 1


def _release_seat(db: Session, event_id: int) -> None:
    db.execute(update(Event).where(Event.id == event_id, Event.seats_taken > 0)
               .values(seats_taken=Event.seats_taken - 1)
               .execution_options(synchronize_session=False))


def _move(db: Session, registration: Registration, from_: Sequence[str], to: str,
          **values: object) -> bool:
    """Change the status if it is still one of ``from_``; False if another request won.

    The object is updated as already stored (no second UPDATE at flush); after a lost race its
    status is expired, so the next read shows what the winner wrote.
    """
    result = db.execute(
        update(Registration)
        .where(Registration.id == registration.id, Registration.status.in_(from_))
        .values(status=to, **values)
        .execution_options(synchronize_session=False))
    if rowcount(result) != 1:
        db.expire(registration, ["status"])
        return False
    for key, value in {"status": to, **values}.items():
        set_committed_value(registration, key, value)
    return True


def _confirm(db: Session, registration: Registration, from_: Sequence[str],
             **values: object) -> bool:
    """Give a seat: take it on the event, then move the registration; undo if it moved."""
    if not _take_seat(db, registration.event_id):
        return False
    if _move(db, registration, from_, "confirmed", confirmed_at=utcnow(), **values):
        return True
    _release_seat(db, registration.event_id)
    return False


def _place(db: Session, registration: Registration, event: Event) -> None:
    """A confirmed participant's registration: seat, approval queue or waiting list."""
    if event.approval == "manual":
        if _move(db, registration, ("pending",), "awaiting"):
            _notify(registration, "awaiting")
    elif _confirm(db, registration, ("pending",)):
        _notify(registration, "confirmed")
    elif event.waitlist and _move(db, registration, ("pending",), "waitlisted"):
        _notify(registration, "waitlisted")
    elif registration.status == "pending":  # reloaded if another request placed it meanwhile
        raise RegistrationError("full")


def register(db: Session, event: Event, participant: Participant) -> Registration:
    """Register ``participant``; a participant whose e-mail is unconfirmed stays pending."""
    state = registration_state(event)
    if state != "open":
        raise RegistrationError(state)
    existing = for_event(db, event.id, participant.id)
    if existing is not None and existing.status in ACTIVE:
        return existing
    if existing is not None and existing.status == "refused":
        raise RegistrationError("not_allowed")
    # A savepoint: when the last seat goes meanwhile and there is no waiting list, nothing of
    # this attempt remains (4xx responses commit what was flushed).
    try:
        with db.begin_nested():
            if existing is None:
                registration = Registration(event_id=event.id, participant_id=participant.id,
                                            status="pending", created_at=utcnow())
                db.add(registration)
                db.flush()
            else:  # cancelled before: start again, at the end of any waiting list
                registration = existing
                if not _move(db, registration, ("cancelled",), "pending", created_at=utcnow(),
                             confirmed_at=None, cancelled_at=None):
                    return registration  # a concurrent request of the same person restarted it
                joining.bump_sequence(db, registration)  # a new invitation outranks the cancel
            belonging.attach(db, registration)  # made with the answers on file
            if participant.is_confirmed:
                _place(db, registration, event)
            db.flush()
    except IntegrityError:
        # The same participant registered twice at once and the other request won the insert.
        winner = for_event(db, event.id, participant.id)
        if winner is None:
            raise
        return winner
    return registration


def register_new(db: Session, event_id: int, participant_id: int, now: datetime) -> int:
    """Register an account created in this unit of work, with one statement: it has no
    registration yet and its address is unconfirmed, so this is one pending row (a seat waits
    for the double opt-in), dated ``now``; its id. The caller found the event open at ``now``
    under the write lock (``events.services.schedule``, ``registration_state``) before it made
    the account. It has no answer on file either: the caller saves the form's answers next,
    given for this registration (``fields.answers.add_answers``)."""
    table = table_of(Registration)
    return db.execute(insert(table).values(
        event_id=event_id, participant_id=participant_id, status="pending",
        created_at=now).returning(table.c.id)).scalar_one()


def participant_confirmed(db: Session, participant: Participant) -> list[Registration]:
    """After the double opt-in: place every registration that waited for it."""
    pending = list(db.scalars(
        select(Registration).join(Registration.event).options(contains_eager(Registration.event))
        .where(Registration.participant_id == participant.id, Registration.status == "pending")
        .order_by(Registration.created_at)))
    for registration in pending:
        if registration.event.status == "cancelled" or registration_state(
                registration.event) == "ended":
            continue  # nothing left to place it in; it stays pending as a record
        try:
            _place(db, registration, registration.event)
        except RegistrationError:
            _move(db, registration, ("pending",), "cancelled", cancelled_at=utcnow())
            _notify(registration, "full")
    db.flush()
    return pending


def promote(db: Session, event_id: int) -> list[Registration]:
    """Give free seats to the waiting list, oldest first."""
    promoted: list[Registration] = []
    while True:
        candidate = db.scalar(
            select(Registration).where(Registration.event_id == event_id,
                                       Registration.status == "waitlisted")
            .order_by(Registration.created_at, Registration.id).limit(1))
        if candidate is None:
            break
        if not _take_seat(db, event_id):
            break
        if _move(db, candidate, ("waitlisted",), "confirmed", confirmed_at=utcnow()):
            promoted.append(candidate)
            _notify(candidate, "promoted")
        else:  # someone else moved it meanwhile: give the seat back and look again
            _release_seat(db, event_id)
    db.flush()
    return promoted


def cancel(db: Session, registration: Registration) -> None:
    """The participant gives up; a freed seat goes to the waiting list.

    Cancelling what is already cancelled or refused does nothing. If the status changes under
    us (a promotion, an approval), the cancellation applies to the new status.
    """
    for _attempt in range(len(ACTIVE)):  # each lost race means one more step along ACTIVE
        was = registration.status
        if was not in ACTIVE:
            return
        if _move(db, registration, (was,), "cancelled", cancelled_at=utcnow()):
            break
    else:
        raise RegistrationError("not_allowed")
    joining.bump_sequence(db, registration)  # its calendar cancellation outranks the invitation
    _notify(registration, "cancelled")
    if was == "confirmed":
        _release_seat(db, registration.event_id)
        promote(db, registration.event_id)
    db.flush()


def approve(db: Session, registration: Registration, member_id: int | None) -> str:
    """A manager approves: the registration is confirmed, or waitlisted if the event is full.

    Returns the new status; ``full`` when there is no seat and no waiting list.
    """
    event = db.get(Event, registration.event_id)
    if (registration.status != "awaiting" or event is None or event.status != "published"
            or event.ends_at <= utcnow()):
        raise RegistrationError("not_allowed")
    if _confirm(db, registration, ("awaiting",), decided_by=member_id):
        _notify(registration, "confirmed")
    elif registration.status == "awaiting":  # no seat (reloaded if the move lost a race)
        if not event.waitlist:
            raise RegistrationError("full")
        if _move(db, registration, ("awaiting",), "waitlisted", decided_by=member_id):
            _notify(registration, "waitlisted")
    if registration.status not in ("confirmed", "waitlisted"):
        raise RegistrationError("not_allowed")  # refused or cancelled meanwhile
    db.flush()
    return registration.status


def refuse(db: Session, registration: Registration, member_id: int | None) -> None:
    if not _move(db, registration, ("awaiting", "waitlisted"), "refused", decided_by=member_id):
        raise RegistrationError("not_allowed")
    _notify(registration, "refused")
    db.flush()


def event_changed(db: Session, event: Event) -> list[Registration]:
    """After an admin edits an event: more capacity may free seats for the waiting list."""
    return promote(db, event.id) if event.status == "published" else []


def get(db: Session, registration_id: int) -> Registration | None:
    return db.get(Registration, registration_id)


def for_event(db: Session, event_id: int, participant_id: int) -> Registration | None:
    """A participant's registration to one event, whatever its status (one statement)."""
    return db.scalar(select(Registration).where(Registration.event_id == event_id,
                                                Registration.participant_id == participant_id))


def owned(db: Session, registration_id: int, participant_id: int) -> Registration | None:
    """A registration by id if it belongs to ``participant_id``, with its event (one statement)."""
    return db.scalar(
        select(Registration).join(Registration.event).options(contains_eager(Registration.event))
        .where(Registration.id == registration_id,
               Registration.participant_id == participant_id))


def with_people(db: Session, registration_id: int) -> Registration | None:
    """A registration with its participant and event loaded (one statement): staff rows."""
    return db.scalar(
        select(Registration).join(Registration.participant).join(Registration.event)
        .options(contains_eager(Registration.participant), contains_eager(Registration.event))
        .where(Registration.id == registration_id))


def for_participant(db: Session, participant_id: int) -> list[Registration]:
    """A participant's registrations with their events (one statement), latest event first."""
    return list(db.scalars(
        select(Registration).join(Registration.event).options(contains_eager(Registration.event))
        .where(Registration.participant_id == participant_id)
        .order_by(Event.starts_at.desc())))


def roster(db: Session, event_id: int, statuses: Sequence[str] | None = None, *,
           page: int = 1) -> Page[Registration]:
    """A page of an event's registrations with their participants, oldest first, and how many
    there are: one statement (core/web/pagination)."""
    stmt = (select(Registration).join(Registration.participant)
            .options(contains_eager(Registration.participant))
            .where(Registration.event_id == event_id)
            .order_by(Registration.created_at, Registration.id))
    if statuses:
        stmt = stmt.where(Registration.status.in_(statuses))
    return paginate(db, stmt, page)


def counts(db: Session, event_id: int) -> dict[str, int]:
    rows = db.execute(select(Registration.status, func.count())
                      .where(Registration.event_id == event_id).group_by(Registration.status))
    return {status: n for status, n in rows}


def waitlist_positions(db: Session, registrations: Sequence[Registration]) -> dict[int, int]:
    """Place (1 = next) of each waitlisted registration in its event's waiting list.

    One statement for all of them: the waiting lists of their events ranked by a window
    function, in the order ``promote`` follows.
    """
    waiting = [r for r in registrations if r.status == "waitlisted"]
    if not waiting:
        return {}
    ranked = (
        select(Registration.id, func.row_number().over(
            partition_by=Registration.event_id,
            order_by=(Registration.created_at, Registration.id)).label("position"))
        .where(Registration.status == "waitlisted",
               Registration.event_id.in_({r.event_id for r in waiting}))
        .subquery())
    rows = db.execute(select(ranked.c.id, ranked.c.position)
                      .where(ranked.c.id.in_([r.id for r in waiting])))
    return {registration_id: position for registration_id, position in rows}


def awaiting_approval(db: Session, page: int = 1) -> Page[Registration]:
    """A page of the approval queue across events, oldest first, with participants and events,
    and how many await in all (one statement)."""
    return paginate(db, (
        select(Registration).join(Registration.participant).join(Registration.event)
        .options(contains_eager(Registration.participant), contains_eager(Registration.event))
        .where(Registration.status == "awaiting")
        .order_by(Registration.created_at, Registration.id)), page)


def awaiting_count(db: Session) -> int:
    """How many registrations await approval, across events (the queue page's count)."""
    return db.scalar(select(func.count()).select_from(Registration)
                     .where(Registration.status == "awaiting")) or 0


def mark_attended(db: Session, event: Event, registration_ids: Sequence[int],
                  attended: bool) -> int:
    """Record (or undo) that these confirmed registrants of ``event`` attended it, in one
    statement; ids of other events or other statuses are left alone. Returns how many rows
    changed. RegistrationError("not_started") before the event's start."""
    if event.starts_at > utcnow():
        raise RegistrationError("not_started")
    result = db.execute(
        update(Registration)
        .where(Registration.event_id == event.id, Registration.id.in_(list(registration_ids)),
               Registration.status == "confirmed",
               Registration.attended_at.is_(None) if attended
               else Registration.attended_at.is_not(None))
        .values(attended_at=utcnow() if attended else None)
        .execution_options(synchronize_session="fetch"))
    return rowcount(result)
