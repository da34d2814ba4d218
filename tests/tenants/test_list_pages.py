"""Pagination of the tenant lists that grow with data (issue 18, item 5): an event's
registrations, the approval queue, the access log, the rights requests inbox, the moderation
queue, an event's messages and the retention receipts. Each: 50 a page (receipts: 20), the
count of the whole list in the same statement, bad page numbers fall back
(tests/pagination_helpers.py)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import insert

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.audit.models import AccessLog
from tenants.messaging.models import EventMessage
from tenants.ratings.models import Rating
from tenants.registration import services as registration_services
from tenants.registration.models import AnswerChange
from tenants.retention.models import RetentionRun
from tenants.rights.models import RightsRequest
from tests import factories
from tests.fixtures.people import sign_in_member
from tests.pagination_helpers import check_pages
from tests.tenants.ratings_helpers import past_event
from tests.tenants.registration_helpers import add_people
from tests.tenants.test_registration import add_registrations

N = 55


def test_an_events_registrations_come_in_pages(app: Flask, client, statements) -> None:  # type: ignore[no-untyped-def]
    event = factories.event("acme")
    ids = add_registrations("acme", event, add_people("acme", N, prefix="pg"))
    sign_in_member(client, "acme", "manager", in_english=True)
    url = f"/t/acme/admin/events/{event}/registrations"
    check_pages(client, url, [f'id="registration-{i}"' for i in ids], f"{N} registrations")
    # The filter is kept from page to page.
    waiting = add_registrations("acme", event, add_people("acme", 2, prefix="wl"), "waitlisted")
    filtered = client.get(f"{url}?status=waitlisted").text
    assert "2 registrations" in filtered and all(f'id="registration-{i}"' in filtered
                                                   for i in waiting)
    # The rows and their count: one statement.
    with app.app_context(), tenants_api.tenant_context("acme") as session, statements:
        found = registration_services.roster(session, event, None, page=2)
    assert (found.total, len(found.items), found.number, statements.count) == (N + 2, 7, 2, 1)


def test_the_approval_queue_comes_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    event = factories.event("acme", approval="manual")
    ids = add_registrations("acme", event, add_people("acme", N, prefix="aw"), "awaiting")
    sign_in_member(client, "acme", "manager", in_english=True)
    check_pages(client, "/t/acme/admin/approvals", [f'id="registration-{i}"' for i in ids],
                f"{N} registrations awaiting approval", fragment=False)


def test_a_registrations_answer_changes_come_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    event = factories.event("acme")
    (registration,) = add_registrations("acme", event, add_people("acme", 1, prefix="ch"))
    with tenants_api.tenant_context("acme") as session:
        now = utcnow()
        session.add_all(AnswerChange(registration_id=registration, fields=["city"],
                                     changed_at=now - timedelta(minutes=i)) for i in range(N))
    sign_in_member(client, "acme", "manager", in_english=True)
    url = f"/t/acme/admin/registrations/{registration}/answers"

    def rows(query: str = "") -> int:
        page = client.get(url + query)
        assert page.status_code == 200 and f"{N} changes" in page.text
        return page.text.count("<tr><td>")

    assert (rows(), rows("?page=2"), rows("?page=x"), rows("?page=-4"), rows("?page=9")) == (
        50, N - 50, 50, 50, N - 50)
    assert 'aria-label="Pages of changes"' in client.get(url).text


def test_the_access_log_comes_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    with tenants_api.tenant_context("acme") as session:
        now = utcnow()
        total = session.query(AccessLog).count() + N
        session.execute(insert(AccessLog), [
            {"member_id": 9000 + i, "action": "participant.read", "target": f"participant:{i}",
             "at": now - timedelta(minutes=i)} for i in range(N)])
    sign_in_member(client, "acme", "admin", in_english=True)
    check_pages(client, "/t/acme/admin/access-log", [f"member #{9000 + i}" for i in range(N)],
                f"{total} entries")


def test_the_rights_requests_inbox_comes_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    with tenants_api.tenant_context("acme") as session:
        now = utcnow()
        session.add_all(RightsRequest(
            kind="access", email=f"asker{i:03d}@example.org", source="form", status="open",
            created_at=now, received_at=now, due_on=now.date() + timedelta(days=i))
            for i in range(N))
    sign_in_member(client, "acme", "admin", in_english=True)
    check_pages(client, "/t/acme/admin/rights", [f"asker{i:03d}@" for i in range(N)],
                f"{N} requests")
    assert "asker000@" not in client.get("/t/acme/admin/rights?show=completed").text


def test_the_moderation_queue_comes_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    event = past_event("acme")
    with tenants_api.tenant_context("acme") as session:
        now = utcnow()
        rows = [Rating(event_id=event, participant_id=pid, stars=4, comment=f"Review {i}",
                       status="pending", created_at=now - timedelta(minutes=i))
                for i, pid in enumerate(add_people("acme", N, prefix="rv"))]
        session.add_all(rows)
        session.flush()
        ids = [r.id for r in rows]
    sign_in_member(client, "acme", "moderator", in_english=True)
    check_pages(client, "/t/acme/admin/ratings", [f'id="moderation-{i}"' for i in ids],
                f"{N} reviews await a decision", fragment=False)


def test_an_events_messages_come_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    event = factories.event("acme")
    with tenants_api.tenant_context("acme") as session:
        now = utcnow()
        session.add_all(EventMessage(
            event_id=event, subject={"en": f"Subject {i:03d}", "fr": f"Sujet {i:03d}"},
            body={"en": "Hello"}, audiences=["confirmed"], created_at=now - timedelta(hours=i),
            finished_at=now) for i in range(N))
    sign_in_member(client, "acme", "manager", in_english=True)
    check_pages(client, f"/t/acme/admin/events/{event}/messages",
                [f"Subject {i:03d}" for i in range(N)], f"{N} messages", fragment=False)


def test_the_retention_receipts_come_in_pages(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    with tenants_api.tenant_context("acme") as session:
        now = utcnow()
        rows = [RetentionRun(started_at=now - timedelta(days=i), finished_at=now)
                for i in range(30)]
        session.add_all(rows)
        session.flush()
        ids = [r.id for r in rows]
    sign_in_member(client, "acme", "admin", in_english=True)
    check_pages(client, "/t/acme/admin/retention/receipts", [f'id="run-{i}"' for i in ids],
                "Receipts of the sweeps", size=20, fragment=False)
