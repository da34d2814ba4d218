"""Creating, changing, publishing and cancelling events, and the lists that show them.

Forms validate what an admin typed; these functions assert the invariants again (an end after
the start, a known status, a capacity that never drops below the seats already taken) so no
caller can store an impossible event. They flush and never commit. Consequences for
registrations follow here too: more seats go to the waiting list, a published event's
reminders are queued for its start time, and a cancellation e-mails every registrant.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.db import rowcount, table_of
from core.jobs import enqueue
from core.zones import DEFAULT_ZONE, known_zones
from tenants import limits
from tenants.db import current_slug
from tenants.events.models import (
    DEFAULT_JOIN_OPENS,
    DEFAULT_REMINDERS,
    JOIN_OPENS_MINUTES,
    LISTED,
    Event,
    Listed,
)
from tenants.registration import services as registrations
from tenants.registration import tasks
from tenants.registration.models import ACTIVE, Registration

EDITABLE = ("title", "description", "starts_at", "ends_at", "timezone", "capacity",
            "registration_opens_at", "registration_closes_at", "approval", "waitlist",
            "join_url", "join_opens_minutes", "reminders", "status")
MAX_CAPACITY = 100_000
VIEWS = ("upcoming", "past", "drafts", "cancelled")  # tabs of the admin list
TIMES = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")


class EventError(Exception):
    """A change the event's current state forbids; ``code`` names the reason for the UI."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # capacity | has_registrations | cancelled | not_draft


def _in_utc(values: dict[str, Any]) -> dict[str, Any]:
    """Instants as UTC: reminder jobs compare the stored start time by its ISO text."""
    return {key: value.astimezone(UTC) if key in TIMES and value is not None else value
            for key, value in values.items()}


def _check(event: Event) -> None:
    """Invariants of a stored event (the form has told the admin about each already)."""
    assert event.title and any(event.title.values()), "an event needs a title"
    assert event.starts_at.tzinfo is not None and event.ends_at.tzinfo is not None
    assert event.ends_at > event.starts_at, "the end must come after the start"
    assert event.timezone in known_zones()
    assert event.capacity is None or 1 <= event.capacity <= MAX_CAPACITY
    assert event.approval in ("auto", "manual")
    assert event.status in ("draft", "published", "cancelled")
    assert all(isinstance(m, int) and m > 0 for m in event.reminders)
    assert JOIN_OPENS_MINUTES[0] <= event.join_opens_minutes <= JOIN_OPENS_MINUTES[1]
    opens, closes = event.registration_opens_at, event.registration_closes_at
    assert closes is None or closes <= event.starts_at
    assert opens is None or opens < (closes or event.starts_at)


def _after_change(db: Session, event: Event, *, reschedule: bool) -> None:
    """Free seats go to the waiting list; reminders follow the (new) start of a live event."""
    registrations.event_changed(db, event)
    if reschedule and event.status == "published":
        tasks.schedule_reminders(event)


def _created_this_month(db: Session) -> int:
    start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return db.execute(select(func.count()).select_from(Event)
                      .where(Event.created_at >= start)).scalar_one()


def create(db: Session, **values: Any) -> Event:
    unknown = set(values) - set(EDITABLE)
    assert not unknown, f"not event fields: {unknown}"
    defaults: dict[str, Any] = {"description": {}, "timezone": DEFAULT_ZONE, "capacity": None,
                "approval": "auto", "waitlist": True, "join_url": "",
                "join_opens_minutes": DEFAULT_JOIN_OPENS,
                "reminders": list(DEFAULT_REMINDERS), "status": "draft"}
    limits.check("events_per_month", lambda: _created_this_month(db))
    event = Event(**_in_utc({**defaults, **values}), seats_taken=0)
    assert event.status in ("draft", "published")
    _check(event)
    db.add(event)
    db.flush()
    _after_change(db, event, reschedule=True)
    return event


def _set_capacity(db: Session, event: Event, capacity: int | None) -> None:
    """Change the capacity in one conditional UPDATE: a registration racing with the change
    cannot end up holding a seat above the new capacity."""
    if capacity == event.capacity:
        return
    stmt = sql_update(Event).where(Event.id == event.id).values(capacity=capacity)
    if capacity is not None:
        stmt = stmt.where(Event.seats_taken <= capacity)
    if rowcount(db.execute(stmt.execution_options(synchronize_session=False))) != 1:
        db.refresh(event, ["seats_taken"])
        raise EventError("capacity")
    set_committed_value(event, "capacity", capacity)


def update(db: Session, event: Event, **values: Any) -> Event:
    """Apply an admin's changes; refused (nothing written) if the event's state forbids them."""
    unknown = set(values) - set(EDITABLE)
    assert not unknown, f"not event fields: {unknown}"
    values = _in_utc(values)
    if event.status == "cancelled":
        raise EventError("cancelled")
    status = values.get("status", event.status)
    assert status in ("draft", "published")
    if status == "draft" and event.status == "published" and active_count(db, event.id):
        raise EventError("has_registrations")  # unpublishing would hide it from registrants
    # Refusals first: nothing is changed when one applies.
    if "capacity" in values:
        _set_capacity(db, event, values.pop("capacity"))
    before = (event.starts_at, sorted(event.reminders or []), event.status)
    when = (event.starts_at, event.ends_at, event.timezone)
    for key, value in values.items():
        setattr(event, key, value)
    _check(event)
    if (event.starts_at, event.ends_at, event.timezone) != when:
        event.calendar_sequence += 1  # calendars replace the entry they hold
    db.flush()
    after = (event.starts_at, sorted(event.reminders or []), event.status)
    _after_change(db, event, reschedule=after != before)
    if (event.starts_at, event.ends_at, event.timezone) != when and event.status == "published":
        _tell_confirmed(db, event, "event_moved")
    return event


def _tell_confirmed(db: Session, event: Event, kind: str) -> None:
    """E-mail every confirmed registrant (after commit): the new time, with a new .ics."""

    for registration_id in db.scalars(select(Registration.id).where(
            Registration.event_id == event.id, Registration.status == "confirmed")
            .order_by(Registration.id)):
        enqueue(tasks.send_registration_email, current_slug(), registration_id, kind)


def publish(db: Session, event: Event) -> Event:
    if event.status != "draft":
        raise EventError("not_draft")
    event.status = "published"
    _check(event)
    db.flush()
    _after_change(db, event, reschedule=True)
    return event


def cancel(db: Session, event: Event) -> list[int]:
    """Cancel the event and e-mail every active registrant (after commit); returns their
    registration ids. Registrations keep their status as a record of who had registered."""

    if event.status == "cancelled":
        return []
    event.status = "cancelled"
    event.calendar_sequence += 1  # the cancelling .ics replaces every one sent before
    db.flush()
    ids = list(db.scalars(select(Registration.id).where(Registration.event_id == event.id,
                                                        Registration.status.in_(ACTIVE))
                          .order_by(Registration.id)))
    for registration_id in ids:
        enqueue(tasks.send_registration_email, current_slug(), registration_id,
                "event_cancelled")
    return ids


def get(db: Session, event_id: int) -> Event | None:
    return db.get(Event, event_id)


def get_visible(db: Session, event_id: int, staff: bool) -> Event | None:
    """The event if this reader may see its page: drafts are for staff only."""
    event = db.get(Event, event_id)
    if event is None or (event.status == "draft" and not staff):
        return None
    return event


def schedule(db: Session, event_id: int) -> registrations.Schedule | None:
    """What says whether registration is open (``registrations.registration_state``), read
    with one Core statement: what a sign-up checks again under the write lock, instead of
    reloading the whole event."""
    table = table_of(Event).c
    row = db.execute(select(table.id, table.status, table.starts_at, table.ends_at,
                            table.registration_opens_at, table.registration_closes_at)
                     .where(table.id == event_id)).one_or_none()
    return cast("registrations.Schedule | None", row)


def upcoming(db: Session, limit: int, offset: int = 0,
             now: datetime | None = None) -> list[Listed]:
    """Published events that have not ended yet, soonest first (one statement): the tenant
    home's list and the admin list's first tab."""
    return [Listed(*row) for row in db.execute(
        _admin_statements()[0]["upcoming"],
        {"now": now or utcnow(), "limit": limit, "offset": offset})]


@functools.cache
def _admin_statements() -> tuple[dict[str, Select], Select]:
    """The admin list's statements, one per tab, and its counts, built once per process
    (building and keying them cost as much as running them; the home page's list is the
    first tab). Parameters: ``now``, ``limit``, ``offset``; the counts, ``ids`` (expanding).

    Core statements on the tables, not on the mapped classes: a list reads rows
    (``Listed``), and the session runs them without the ORM's compiling and loading steps,
    about 40 % of a short list's statement."""
    event, registration = table_of(Event).c, table_of(Registration).c
    now = bindparam("now", type_=event.ends_at.type)
    published = event.status == "published"
    soonest = (event.starts_at, event.id)
    latest = (event.starts_at.desc(), event.id.desc())
    tabs = {"upcoming": ((published, event.ends_at > now), soonest),
            "past": ((published, event.ends_at <= now), latest),
            "drafts": ((event.status == "draft",), soonest),
            "cancelled": ((event.status == "cancelled",), latest)}
    page = {view: select(*(event[name] for name in LISTED)).where(*where).order_by(*order)
            .limit(bindparam("limit")).offset(bindparam("offset"))
            for view, (where, order) in tabs.items()}
    counts = (select(registration.event_id, registration.status, func.count())
              .where(registration.event_id.in_(bindparam("ids", expanding=True)))
              .group_by(registration.event_id, registration.status))
    return page, counts


def admin_list(db: Session, view: str, *, limit: int, offset: int = 0,
               now: datetime | None = None) -> tuple[list[Listed], dict[int, dict[str, int]]]:
    """One tab of the admin list and its registration counts per status, in two statements."""
    page, _ = _admin_statements()
    if view not in page:
        raise ValueError(view)
    events = [Listed(*row) for row in db.execute(
        page[view], {"now": now or utcnow(), "limit": limit, "offset": offset})]
    return events, counts_by_event(db, [event.id for event in events])


def counts_by_event(db: Session, event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Registrations per status for several events, in one grouped statement."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if event_ids:
        for event_id, status, n in db.execute(_admin_statements()[1], {"ids": event_ids}):
            counts[event_id][status] = n
    return dict(counts)


def active_count(db: Session, event_id: int) -> int:
    return db.scalar(select(func.count()).select_from(Registration)
                     .where(Registration.event_id == event_id,
                            Registration.status.in_(ACTIVE))) or 0
