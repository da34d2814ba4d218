"""No overbooking under real concurrency: threads, each with its own unit of work and connection.

Every thread waits at a barrier, then reads (the event, the participant, any registration) and
writes in one transaction, as a request does. On PostgreSQL this is row-level concurrency on the
event row; on SQLite writers queue behind the busy timeout. Both must end with exactly
``capacity`` seats taken, ``seats_taken`` equal to the confirmed registrations, and nothing
left behind by a refused attempt.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.events.models import Event
from tenants.participants.models import Participant
from tenants.registration import services
from tenants.registration.models import Registration
from tests import factories
from tests.tenants.registration_helpers import seats, statuses

pytestmark = pytest.mark.spans_connections  # registrations from many threads at once

CAPACITY = 10


def people(count: int) -> list[int]:
    with tenants_api.tenant_context("acme") as session:
        rows = [Participant(email=f"racer{i}@example.org", first_name=f"R{i}",
                            email_confirmed_at=utcnow()) for i in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def concurrently(app: Flask, work: Callable[..., str], items: list[int]) -> list[str]:
    """Run ``work(session, item)`` for every item at once, each in its own thread and unit of
    work (an app context too, so e-mails wait for a commit that never comes, as in tests)."""
    barrier = threading.Barrier(len(items))

    def one(item: int) -> str:
        barrier.wait(timeout=30)
        with app.app_context():
            try:
                # A writer, as the POST request it stands for.
                with tenants_api.tenant_context("acme", writer=True) as session:
                    return work(session, item)
            except services.RegistrationError as refused:
                return f"refused:{refused.code}"

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(one, items))


def register(event_id: int) -> Callable[..., str]:
    def work(session, participant_id: int) -> str:  # type: ignore[no-untyped-def]
        event = session.get(Event, event_id)
        participant = session.get(Participant, participant_id)
        return services.register(session, event, participant).status

    return work


def cancel(session, registration_id: int) -> str:  # type: ignore[no-untyped-def]
    registration = session.get(Registration, registration_id)
    services.cancel(session, registration)
    return registration.status


def registrations(event_id: int) -> int:
    with tenants_api.tenant_context("acme") as session:
        return session.scalar(select(func.count()).select_from(Registration)
                              .where(Registration.event_id == event_id))


def test_twice_the_capacity_registering_at_once_fills_the_seats_and_the_waiting_list(app):
    event = factories.event("acme", capacity=CAPACITY)
    results = concurrently(app, register(event), people(2 * CAPACITY))
    assert Counter(results) == {"confirmed": CAPACITY, "waitlisted": CAPACITY}
    assert statuses("acme", event) == {"confirmed": CAPACITY, "waitlisted": CAPACITY}
    assert seats("acme", event) == (CAPACITY, CAPACITY)


def test_without_a_waiting_list_the_late_ones_are_refused_and_leave_nothing(app):
    event = factories.event("acme", capacity=CAPACITY, waitlist=False)
    results = concurrently(app, register(event), people(2 * CAPACITY))
    assert Counter(results) == {"confirmed": CAPACITY, "refused:full": CAPACITY}
    assert registrations(event) == CAPACITY
    assert seats("acme", event) == (CAPACITY, CAPACITY)


@pytest.mark.parametrize("waiting", [CAPACITY, CAPACITY // 2])
def test_cancellations_and_promotions_at_once_keep_seats_and_confirmations_equal(app, waiting):
    event = factories.event("acme", capacity=CAPACITY)
    racers = people(CAPACITY + waiting)
    for pid in racers:
        factories.registration("acme", event, pid)
    assert statuses("acme", event) == {"confirmed": CAPACITY, "waitlisted": waiting}
    with tenants_api.tenant_context("acme") as session:
        by_status: dict[str, list[int]] = {}
        for rid, state in session.execute(select(Registration.id, Registration.status)
                                          .where(Registration.event_id == event)):
            by_status.setdefault(state, []).append(rid)
    # Half the seat holders and half the waiting list give up at the same time.
    leaving = by_status["confirmed"][: CAPACITY // 2] + by_status["waitlisted"][: waiting // 2]
    results = concurrently(app, cancel, leaving)
    assert results == ["cancelled"] * len(leaving)
    staying = CAPACITY + waiting - len(leaving)
    expected_confirmed = min(CAPACITY, staying)
    assert statuses("acme", event) == {
        "cancelled": len(leaving), "confirmed": expected_confirmed,
        **({"waitlisted": staying - expected_confirmed} if staying > expected_confirmed else {})}
    assert seats("acme", event) == (expected_confirmed, expected_confirmed)
