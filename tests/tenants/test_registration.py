"""Registrations: registering, cancelling, the waiting list, approvals, rosters, the CSV export,
e-mails and reminders, roles and tenants, and junk input."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.audit.models import AccessLog
from tenants.events.models import Event
from tenants.fields.models import Answer
from tenants.outbox import TenantJob
from tenants.participants import services as participants_services
from tenants.participants.models import Participant
from tenants.registration import services, tasks
from tenants.registration.models import Registration, SentReminder
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.registration_helpers import (
    add_people,
    person,
    registration_id,
    seats,
    status,
    statuses,
)

JOIN_URL = "https://video.example.test/room/42"  # the factories' event meeting address


def personal_link(outbox, message) -> bool:  # type: ignore[no-untyped-def]
    """The e-mail carries a personal join link (never the meeting address itself)."""
    return (any(link.startswith("http://127.0.0.1:5000/t/acme/join/")
                for link in outbox.links(message)) and JOIN_URL not in outbox.text(message))
HOSTILE = '<img src=x onerror="alert(1)">'


def register(client, event_id: int):  # type: ignore[no-untyped-def]
    return client.post(f"/t/acme/events/{event_id}/register")


def cancel(client, registration: int, **data: str):  # type: ignore[no-untyped-def]
    return client.post(f"/t/acme/me/registrations/{registration}/cancel", data=data)


def participant_client(app, email: str, *, language: str = "en"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    pid = person("acme", email, language=language)
    return english(sign_in_participant(client, "acme", pid)), pid


def to(outbox, email: str) -> list:  # type: ignore[no-untyped-def]
    return [m for m in outbox.messages if m["To"] == email]


def add_registrations(slug: str, event_id: int, participant_ids: list[int],
                      status: str = "confirmed") -> list[int]:
    """Registrations written directly (no e-mails), seats counted for confirmed ones."""
    with tenants_api.tenant_context(slug) as session:
        now = utcnow()
        rows = [Registration(event_id=event_id, participant_id=pid, status=status,
                             created_at=now + timedelta(seconds=i))
                for i, pid in enumerate(participant_ids)]
        session.add_all(rows)
        if status == "confirmed":
            session.get(Event, event_id).seats_taken += len(rows)
        session.flush()
        return [r.id for r in rows]


def answer(slug: str, participant_id: int, field_id: int, value: object) -> None:
    with tenants_api.tenant_context(slug) as session:
        session.add(Answer(participant_id=participant_id, field_id=field_id, value=value))


# --- registering, cancelling, the waiting list ------------------------------------------------


def test_register_confirms_and_emails_the_join_link(app, outbox):
    event = factories.event("acme", capacity=2)
    client, _ = participant_client(app, "ada@example.org")

    response = register(client, event)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/acme/events/{event}"
    page = client.get(f"/t/acme/events/{event}").get_data(as_text=True)
    assert "You are registered. The join link has been sent to you by e-mail." in page
    assert "Cancel my registration" in page
    assert JOIN_URL not in page  # e-mail only
    assert seats("acme", event) == (1, 1)
    [message] = to(outbox, "ada@example.org")
    assert message["Subject"] == "Registration confirmed: Workshop"
    assert personal_link(outbox, message)
    assert "http://127.0.0.1:5000/t/acme/me/registrations" in outbox.links(message)

    again = register(client, event)  # a second click changes nothing
    assert again.status_code == 303
    assert seats("acme", event) == (1, 1) and len(outbox.messages) == 1


def test_full_event_puts_people_on_the_waiting_list_with_their_position(app, outbox):
    event = factories.event("acme", capacity=1)
    first, _ = participant_client(app, "first@example.org")
    second, _ = participant_client(app, "second@example.org")
    third, _ = participant_client(app, "third@example.org")
    register(first, event)
    assert "Join the waiting list" in second.get(f"/t/acme/events/{event}").get_data(as_text=True)

    register(second, event)
    page = third.get(f"/t/acme/events/{event}").get_data(as_text=True)
    assert "Full \u2013 waiting list available." in page
    register(third, event)
    notice = third.get(f"/t/acme/events/{event}").get_data(as_text=True)
    assert "you are on the waiting list, in position 2" in notice
    mine = third.get("/t/acme/me/registrations").get_data(as_text=True)
    assert "position 2" in mine and JOIN_URL not in mine
    [waiting] = to(outbox, "third@example.org")
    assert waiting["Subject"] == "Waiting list: Workshop"
    assert JOIN_URL not in outbox.text(waiting)
    assert statuses("acme", event) == {"confirmed": 1, "waitlisted": 2}


def test_cancelling_frees_the_seat_for_the_oldest_waiting_person(app, outbox):
    event = factories.event("acme", capacity=1)
    holder, ada = participant_client(app, "holder@example.org")
    older, older_id = participant_client(app, "older@example.org")
    newer, newer_id = participant_client(app, "newer@example.org")
    for client in (holder, older, newer):
        register(client, event)
    held = registration_id("acme", event, ada)
    outbox.clear()

    asked = cancel(holder, held)  # without JavaScript: a confirmation page first
    assert asked.status_code == 200
    assert "Yes, cancel my registration" in asked.get_data(as_text=True)
    assert status("acme", held) == "confirmed"

    done = cancel(holder, held, confirm="1", next=f"/t/acme/events/{event}")
    assert done.status_code == 303 and done.headers["Location"] == f"/t/acme/events/{event}"
    assert status("acme", held) == "cancelled"
    assert status("acme", registration_id("acme", event, older_id)) == "confirmed"
    assert status("acme", registration_id("acme", event, newer_id)) == "waitlisted"
    assert seats("acme", event) == (1, 1)
    [promoted] = to(outbox, "older@example.org")
    assert promoted["Subject"] == "A seat is free: you are registered to Workshop"
    assert personal_link(outbox, promoted)
    [cancelled] = to(outbox, "holder@example.org")
    assert cancelled["Subject"] == "Registration cancelled: Workshop"
    assert JOIN_URL not in outbox.text(cancelled)
    assert "position 1" in newer.get("/t/acme/me/registrations").get_data(as_text=True)


def test_htmx_cancel_swaps_the_row(app):
    event = factories.event("acme")
    client, ada = participant_client(app, "ada@example.org")
    register(client, event)
    held = registration_id("acme", event, ada)
    response = client.post(f"/t/acme/me/registrations/{held}/cancel", data={"confirm": "1"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith(f'<tr id="registration-{held}">')
    assert "Your registration is cancelled." in body and "<html" not in body
    assert status("acme", held) == "cancelled" and seats("acme", event) == (0, 0)


def test_cancelled_registration_can_register_again_at_the_end_of_the_list(app):
    event = factories.event("acme", capacity=1)
    holder, holder_id = participant_client(app, "holder@example.org")
    other, _ = participant_client(app, "other@example.org")
    register(holder, event)
    held = registration_id("acme", event, holder_id)
    cancel(holder, held, confirm="1")
    register(other, event)
    register(holder, event)
    assert status("acme", held) == "waitlisted"
    assert seats("acme", event) == (1, 1)


@pytest.mark.parametrize(("fields", "code", "message"), [
    ({"capacity": 1, "waitlist": False}, 409, "this event is full"),
    ({"registration_closes_at": utcnow() - timedelta(hours=1)}, 422,
     "Registration for this event is closed."),
    ({"registration_opens_at": utcnow() + timedelta(days=1)}, 422,
     "Registration for this event is not open yet."),
    ({"starts_at": utcnow() - timedelta(hours=3),
      "ends_at": utcnow() - timedelta(hours=1)}, 422, "This event has ended."),
    ({"status": "cancelled"}, 422, "Registration for this event is closed."),
])
def test_refused_registrations_say_why_and_write_nothing(app, fields, code, message):
    event = factories.event("acme", **fields)
    if fields.get("capacity"):
        add_registrations("acme", event, add_people("acme", 1))
    client, ada = participant_client(app, "ada@example.org")
    response = register(client, event)
    assert response.status_code == code
    assert message in response.get_data(as_text=True)
    assert registration_id("acme", event, ada) is None


def test_refused_participant_cannot_register_again(app):
    event = factories.event("acme", approval="manual")
    client, ada = participant_client(app, "ada@example.org")
    register(client, event)
    with tenants_api.tenant_context("acme") as session:
        services.refuse(session, session.get(Registration, registration_id("acme", event, ada)),
                        None)
    response = register(client, event)
    assert response.status_code == 409
    assert "did not accept" in response.get_data(as_text=True)


def test_unconfirmed_participant_stays_pending_until_the_email_is_confirmed(app, outbox):
    event = factories.event("acme")
    client = app.test_client()
    ada = tenants_api.add_participant("acme", email="ada@example.org", confirmed=False,
                                      language="en")
    english(sign_in_participant(client, "acme", ada))
    register(client, event)
    page = client.get(f"/t/acme/events/{event}").get_data(as_text=True)
    assert "confirm your e-mail address" in page
    assert statuses("acme", event) == {"pending": 1} and seats("acme", event) == (0, 0)
    assert outbox.messages == []


def test_confirming_the_email_places_pending_registrations(app, outbox):
    open_event = factories.event("acme", title={"fr": "Ouvert", "en": "Open"})
    full_event = factories.event("acme", capacity=1, waitlist=False)
    client = app.test_client()
    ada = tenants_api.add_participant("acme", email="ada@example.org", confirmed=False,
                                      language="en")
    english(sign_in_participant(client, "acme", ada))
    register(client, open_event)
    register(client, full_event)
    add_registrations("acme", full_event, add_people("acme", 1))  # the last seat goes meanwhile
    with tenants_api.tenant_context("acme") as session:
        token = participants_services.issue_token(session, session.get(Participant, ada),
                                                  "confirm")

    assert client.get(f"/t/acme/confirm/{token}").status_code in (200, 303)
    assert status("acme", registration_id("acme", open_event, ada)) == "confirmed"
    assert status("acme", registration_id("acme", full_event, ada)) == "cancelled"
    subjects = sorted(m["Subject"] for m in to(outbox, "ada@example.org"))
    assert subjects == ["Registration confirmed: Open", "Registration not kept: Workshop"]
    assert seats("acme", full_event) == (1, 1)


def test_cancelling_after_the_event_was_cancelled_promotes_nobody(app, outbox):
    event = factories.event("acme", capacity=1)
    holder, holder_id = participant_client(app, "holder@example.org")
    register(holder, event)
    add_registrations("acme", event, add_people("acme", 1), status="waitlisted")
    with tenants_api.tenant_context("acme") as session:
        session.get(Event, event).status = "cancelled"
        services.cancel(session, session.get(Registration,
                                             registration_id("acme", event, holder_id)))
    assert statuses("acme", event) == {"cancelled": 1, "waitlisted": 1}
    assert seats("acme", event) == (0, 0)
    assert "Event cancelled" in holder.get("/t/acme/me/registrations").text


def test_visitors_are_sent_to_sign_up_or_sign_in(client):
    event = factories.event("acme")
    page = english(client).get(f"/t/acme/events/{event}").get_data(as_text=True)
    assert f'href="/t/acme/events/{event}/signup"' in page
    assert f'href="/t/acme/login?next=/t/acme/events/{event}"' in page
    assert "Already have an account?" in page
    response = register(client, event)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/acme/login?next=/t/acme/events/{event}"
    assert statuses("acme", event) == {}
    mine = client.get("/t/acme/me/registrations")
    assert mine.status_code == 303 and "/t/acme/login" in mine.headers["Location"]


def test_draft_and_unknown_events_are_not_found(app):
    draft = factories.event("acme", status="draft")
    client, _ = participant_client(app, "ada@example.org")
    assert register(client, draft).status_code == 404
    assert register(client, 987654).status_code == 404
    assert client.post("/t/acme/events/99999999999999999999/register").status_code == 404


def test_panel_tells_when_registration_opens_and_when_it_is_over(app):
    opens = (utcnow() + timedelta(days=2)).replace(hour=9, minute=0, second=0,
                                                               microsecond=0)
    later = factories.event("acme", registration_opens_at=opens, timezone="UTC")
    over = factories.event("acme", status="cancelled")
    client, _ = participant_client(app, "ada@example.org")
    page = client.get(f"/t/acme/events/{later}").get_data(as_text=True)
    assert "Registration is not open yet: it opens on" in page
    assert format_date(opens, "long", locale="en") in page
    assert "<button type=\"submit\">Register" not in page
    cancelled = client.get(f"/t/acme/events/{over}").get_data(as_text=True)
    assert "This event has been cancelled: registration is closed." in cancelled


# --- my registrations ----------------------------------------------------------------------------


def test_join_link_is_sent_again_only_for_a_confirmed_registration(app, outbox):
    full = factories.event("acme", capacity=1)
    add_registrations("acme", full, add_people("acme", 1))
    event = factories.event("acme")
    client, ada = participant_client(app, "ada@example.org")
    register(client, event)
    register(client, full)
    confirmed = registration_id("acme", event, ada)
    waiting = registration_id("acme", full, ada)
    outbox.clear()

    response = client.post(f"/t/acme/me/registrations/{confirmed}/join-link")
    assert response.status_code == 303
    [resent] = outbox.messages
    assert resent["Subject"] == "Your join link: Workshop"
    assert personal_link(outbox, resent)
    mine = client.get("/t/acme/me/registrations").get_data(as_text=True)
    assert "The join link has been sent to you again by e-mail." in mine
    assert JOIN_URL not in mine

    refused = client.post(f"/t/acme/me/registrations/{waiting}/join-link")
    assert refused.status_code == 409
    htmx = client.post(f"/t/acme/me/registrations/{waiting}/join-link",
                       headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and "only for a confirmed registration" in htmx.text
    assert len(outbox.messages) == 1


def test_my_registrations_cost_the_same_whatever_their_number(app, statements):
    client, _ = participant_client(app, "ada@example.org")
    events = [factories.event("acme", capacity=1) for _ in range(6)]
    for event in events:
        add_registrations("acme", event, add_people("acme", 1, start=100 + event))

    def cost(count: int) -> int:
        for event in events[:count]:
            register(client, event)  # waitlisted: the position needs the window query
        client.get("/t/acme/me/registrations")
        with statements:
            page = client.get("/t/acme/me/registrations")
        assert page.status_code == 200 and page.text.count("(position 1)") == count
        return statements.count

    assert cost(1) == cost(6)


def test_participants_cannot_touch_registrations_of_others(app):
    event = factories.event("acme")
    owner, owner_id = participant_client(app, "owner@example.org")
    other, _ = participant_client(app, "other@example.org")
    register(owner, event)
    theirs = registration_id("acme", event, owner_id)
    assert cancel(other, theirs, confirm="1").status_code == 404
    assert other.post(f"/t/acme/me/registrations/{theirs}/join-link").status_code == 404
    assert status("acme", theirs) == "confirmed"


# --- approvals -----------------------------------------------------------------------------------


def test_manual_approval_queue(app, client, outbox):
    event = factories.event("acme", approval="manual", capacity=1)
    first, first_id = participant_client(app, "first@example.org")
    second, second_id = participant_client(app, "second@example.org")
    third, third_id = participant_client(app, "third@example.org")
    for participant in (first, second, third):
        register(participant, event)
    assert statuses("acme", event) == {"awaiting": 3}
    page = first.get(f"/t/acme/events/{event}").get_data(as_text=True)
    assert "Your registration is awaiting the organiser&#39;s approval." in page
    assert to(outbox, "first@example.org")[0]["Subject"] == "Registration received: Workshop"
    ids = [registration_id("acme", event, p) for p in (first_id, second_id, third_id)]
    outbox.clear()

    sign_in_member(client, "acme", "manager", in_english=True)
    queue = client.get("/t/acme/admin/approvals").get_data(as_text=True)
    positions = [queue.index(f"{n}@example.org") for n in ("first", "second", "third")]
    assert positions == sorted(positions)  # oldest first

    approved = client.post(f"/t/acme/admin/registrations/{ids[0]}/approve",
                           data={"view": "approvals"})
    assert approved.status_code == 303 and approved.headers["Location"] == "/t/acme/admin/approvals"
    assert status("acme", ids[0]) == "confirmed"
    [confirmed] = to(outbox, "first@example.org")
    assert personal_link(outbox, confirmed)

    # Full now: approving puts on the waiting list (htmx swaps the row).
    row = client.post(f"/t/acme/admin/registrations/{ids[1]}/approve",
                      headers={"HX-Request": "true"})
    assert row.status_code == 200
    assert row.text.lstrip().startswith(f'<tr id="registration-{ids[1]}">')
    assert "Waiting list" in row.text and "Refuse" in row.text
    assert status("acme", ids[1]) == "waitlisted"

    refused = client.post(f"/t/acme/admin/registrations/{ids[2]}/refuse")
    assert refused.status_code == 303
    assert status("acme", ids[2]) == "refused"
    [message] = to(outbox, "third@example.org")
    assert message["Subject"] == "Registration not accepted: Workshop"
    assert JOIN_URL not in outbox.text(message)

    again = client.post(f"/t/acme/admin/registrations/{ids[2]}/approve")
    assert again.status_code == 409
    assert seats("acme", event) == (1, 1)
    with tenants_api.tenant_context("acme") as session:
        decided = session.get(Registration, ids[0]).decided_by
    assert decided is not None


def test_approval_queue_costs_the_same_whatever_its_length(app, client, statements):
    sign_in_member(client, "acme", "manager", in_english=True)

    def cost(events: int, per_event: int, start: int) -> int:
        for i in range(events):
            event = factories.event("acme", approval="manual")
            add_registrations("acme", event, add_people("acme", per_event, start=start + 10 * i),
                              status="awaiting")
        client.get("/t/acme/admin/approvals")
        with statements:
            page = client.get("/t/acme/admin/approvals")
        assert page.text.count("Approve<span") == page.text.count("@example.org")
        return statements.count

    assert cost(1, 2, 0) == cost(4, 5, 100)
    with tenants_api.tenant_context("acme") as session:
        targets = set(session.scalars(select(AccessLog.target)))
    assert len(targets) == 5  # each event whose registrants were shown


def test_approving_when_full_without_waiting_list_is_refused_with_a_reason(app, client):
    event = factories.event("acme", approval="manual", capacity=1, waitlist=False)
    add_registrations("acme", event, add_people("acme", 1))
    participant, ada = participant_client(app, "ada@example.org")
    register(participant, event)
    waiting = registration_id("acme", event, ada)
    sign_in_member(client, "acme", "manager", in_english=True)
    response = client.post(f"/t/acme/admin/registrations/{waiting}/approve")
    assert response.status_code == 409
    assert "no waiting list" in response.text
    htmx = client.post(f"/t/acme/admin/registrations/{waiting}/approve",
                       headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and "no waiting list" in htmx.text
    assert status("acme", waiting) == "awaiting"
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Registration, waiting).decided_by is None


# --- roles, access log, tenants ------------------------------------------------------------------


def test_viewer_reads_rosters_but_cannot_decide_or_export(app, client):
    event = factories.event("acme", approval="manual")
    participant, ada = participant_client(app, "ada@example.org")
    register(participant, event)
    waiting = registration_id("acme", event, ada)
    sign_in_member(client, "acme", "viewer", in_english=True)

    roster = client.get(f"/t/acme/admin/events/{event}/registrations")
    assert roster.status_code == 200 and "ada@example.org" in roster.text
    assert "Approve" not in roster.text and "registrations.csv" not in roster.text
    assert client.get("/t/acme/admin/approvals").status_code == 200
    assert client.post(f"/t/acme/admin/registrations/{waiting}/approve").status_code == 403
    assert client.post(f"/t/acme/admin/registrations/{waiting}/refuse").status_code == 403
    assert client.get(f"/t/acme/admin/events/{event}/registrations.csv").status_code == 403
    assert status("acme", waiting) == "awaiting"


def test_participants_and_visitors_see_no_staff_pages(app, client):
    event = factories.event("acme")
    participant, _ = participant_client(app, "ada@example.org")
    for who in (client, participant):
        for url in (f"/t/acme/admin/events/{event}/registrations", "/t/acme/admin/approvals",
                    f"/t/acme/admin/events/{event}/registrations.csv"):
            assert who.get(url).status_code in (302, 401, 403)


def test_roster_and_export_reads_are_logged(app, client):
    event = factories.event("acme")
    sign_in_member(client, "acme", "manager", in_english=True)
    client.get(f"/t/acme/admin/events/{event}/registrations")
    client.get(f"/t/acme/admin/events/{event}/registrations.csv").get_data()
    with tenants_api.tenant_context("acme") as session:
        logged = [(row.action, row.target, row.member_id is not None)
                  for row in session.scalars(select(AccessLog).order_by(AccessLog.id))]
    assert logged == [("registrations.read", f"event:{event}", True),
                      ("registrations.export", f"event:{event}", True)]


def test_roster_filters_by_status_and_counts(app, client):
    event = factories.event("acme", capacity=2)
    add_registrations("acme", event, add_people("acme", 2))
    add_registrations("acme", event, add_people("acme", 1, start=50), status="waitlisted")
    sign_in_member(client, "acme", "manager", in_english=True)
    page = client.get(f"/t/acme/admin/events/{event}/registrations").text
    assert "Seats taken: 2 of 2" in page and "Confirmed: 2" in page and "Waiting list: 1" in page
    fragment = client.get(f"/t/acme/admin/events/{event}/registrations?status=waitlisted",
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "p50@example.org" in fragment.text and "p0@example.org" not in fragment.text
    bad = client.get(f"/t/acme/admin/events/{event}/registrations?status=%3Cx%3E")
    assert bad.status_code == 422 and "Unknown status" in bad.text


def test_ids_of_another_tenant_are_not_found(app, client):
    event = factories.event("acme", approval="manual")
    participant, ada = participant_client(app, "ada@example.org")
    register(participant, event)
    theirs = registration_id("acme", event, ada)
    factories.event("globex", approval="manual")  # globex has ids of its own

    sign_in_member(client, "globex", "owner", in_english=True)
    assert client.post(f"/t/globex/admin/registrations/{theirs}/approve").status_code == 404
    assert client.post(f"/t/globex/admin/registrations/{theirs}/refuse").status_code == 404
    assert client.get(f"/t/globex/admin/events/{event + 1000}/registrations").status_code == 404
    stranger = app.test_client()
    sign_in_participant(stranger, "globex", person("globex", "ada@example.org"))
    assert stranger.post(f"/t/globex/me/registrations/{theirs}/cancel",
                         data={"confirm": "1"}).status_code == 404
    assert stranger.post(f"/t/globex/me/registrations/{theirs}/join-link").status_code == 404
    assert status("acme", theirs) == "awaiting"


# --- roster HTML and CSV export ------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8")[1:])))


def test_csv_neutralises_formulas_and_keeps_values_verbatim(app, client):
    event = factories.event("acme")
    company = factories.custom_field("acme", "text")
    size = factories.custom_field("acme", "number", label={"fr": "Taille", "en": "Size"},
                                  position=2)
    with tenants_api.tenant_context("acme") as session:
        people = [Participant(email=f"p{i}@example.org", first_name=first, last_name=last)
                  for i, (first, last) in enumerate([
                      ("=HYPERLINK(\"http://evil.test\",\"x\")", "+1"),
                      ("@SUM(A1)", "-2"), ('<b>"Zoé" & Co</b>', "O'Neil, Jr.")])]
        session.add_all(people)
        session.flush()
        ids = [p.id for p in people]
    add_registrations("acme", event, ids)
    answer("acme", ids[0], company, "=cmd|' /C calc'!A0")
    answer("acme", ids[1], company, "\tTabbed")
    answer("acme", ids[2], company, "Line one\nline two")
    answer("acme", ids[1], size, "-2")
    sign_in_member(client, "acme", "manager", in_english=True)

    response = client.get(f"/t/acme/admin/events/{event}/registrations.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="registrations-{event}.csv"')
    rows = read_csv(response)
    assert rows[0][:3] == ["Last name", "First name", "E-mail"]
    assert rows[0][-2:] == ["Company", "Size"]
    assert rows[1][:2] == ["'+1", "'=HYPERLINK(\"http://evil.test\",\"x\")"]
    assert rows[1][-2:] == ["'=cmd|' /C calc'!A0", ""]
    assert rows[2][:2] == ["'-2", "'@SUM(A1)"]
    assert rows[2][-2:] == ["'\tTabbed", "'-2"]
    assert rows[3][:2] == ["O'Neil, Jr.", '<b>"Zoé" & Co</b>']  # CSV is not HTML
    assert rows[3][-2] == "Line one\nline two"


def test_csv_headers_follow_the_reader_language_and_removed_fields(app, client):
    event = factories.event("acme")
    factories.custom_field("acme", "text")
    gone = factories.custom_field("acme", "choice", label={"fr": "Repas", "en": "Meal"},
                                  options=[{"key": "veg", "label": {"fr": "Végétarien",
                                                                    "en": "Vegetarian"}}],
                                  archived_at=utcnow())
    factories.custom_field("acme", "text", label={"fr": "Jamais", "en": "Never"},
                           archived_at=utcnow())  # removed, nobody answered
    [ada] = add_people("acme", 1)
    add_registrations("acme", event, [ada])
    answer("acme", ada, gone, "veg")
    sign_in_member(client, "acme", "manager", in_english=True)

    english_rows = read_csv(client.get(f"/t/acme/admin/events/{event}/registrations.csv"))
    assert english_rows[0] == ["Last name", "First name", "E-mail", "Status",
                               "Registered at (Europe/Paris)", "Company", "Meal (removed)"]
    assert english_rows[1][-1] == "Vegetarian"
    with client.session_transaction() as cookie:
        cookie["lang"] = "fr"
    french_rows = read_csv(client.get(f"/t/acme/admin/events/{event}/registrations.csv"))
    assert french_rows[0][:2] == ["Nom", "Prénom"]
    assert "Statut" in french_rows[0] and "Entreprise" in french_rows[0]
    assert french_rows[1][-1] == "Végétarien"


def test_csv_lists_the_asked_standard_fields(app, client):
    event = factories.event("acme")
    with tenants_api.tenant_context("acme") as session:
        from tenants.fields import services as fields

        fields.set_standard_modes(session, {"city": "optional", "job_function": "required"})
        session.add(Participant(email="ada@example.org", first_name="Ada", last_name="L",
                                city="Lyon", job_function="=Engineer"))
    with tenants_api.tenant_context("acme") as session:
        ada = session.scalar(select(Participant.id).where(Participant.email == "ada@example.org"))
    add_registrations("acme", event, [ada])
    sign_in_member(client, "acme", "manager", in_english=True)
    rows = read_csv(client.get(f"/t/acme/admin/events/{event}/registrations.csv"))
    assert rows[0][:5] == ["Last name", "First name", "E-mail", "City", "Job function"]
    assert rows[1][:5] == ["L", "Ada", "ada@example.org", "Lyon", "'=Engineer"]


def test_hostile_texts_are_escaped_in_the_roster(app, client):
    event = factories.event("acme", title={"fr": HOSTILE, "en": HOSTILE})
    factories.custom_field("acme", "text", label={"fr": HOSTILE, "en": HOSTILE})
    with tenants_api.tenant_context("acme") as session:
        session.add(Participant(email="x@example.org", first_name=HOSTILE, last_name=HOSTILE))
    with tenants_api.tenant_context("acme") as session:
        hostile = session.scalar(select(Participant.id))
    add_registrations("acme", event, [hostile], status="awaiting")
    sign_in_member(client, "acme", "manager", in_english=True)
    for url in (f"/t/acme/admin/events/{event}/registrations", "/t/acme/admin/approvals"):
        page = client.get(url).text
        assert "<img" not in page
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert "also contains the answers to: &lt;img" in client.get(
        f"/t/acme/admin/events/{event}/registrations").text


def test_roster_and_csv_cost_the_same_whatever_the_numbers(app, client, statements):
    sign_in_member(client, "acme", "manager", in_english=True)

    def scenario(registrants: int, fields: int, start: int) -> tuple[int, int]:
        event = factories.event("acme")
        for i in range(fields):
            factories.custom_field("acme", "text", label={"fr": f"C{start + i}",
                                                          "en": f"F{start + i}"})
        with tenants_api.tenant_context("acme") as session:
            from tenants.fields.models import CustomField

            field_ids = list(session.scalars(select(CustomField.id)))
        people = add_people("acme", registrants, start=start)
        add_registrations("acme", event, people)
        for pid in people:
            for field_id in field_ids:
                answer("acme", pid, field_id, f"answer {pid}-{field_id}")
        roster = f"/t/acme/admin/events/{event}/registrations"
        export = f"/t/acme/admin/events/{event}/registrations.csv"
        client.get(roster), client.get(export).get_data()  # warm caches
        with statements:
            assert client.get(roster).status_code == 200
        roster_cost = statements.count
        with statements:
            rows = read_csv(client.get(export))
        assert len(rows) == registrants + 1 and len(rows[0]) == 5 + len(field_ids)
        return roster_cost, statements.count

    assert scenario(3, 2, 0) == scenario(30, 8, 100)


# --- e-mails and reminders -----------------------------------------------------------------------

KINDS = {  # kind → the status a registration has when that e-mail is sent
    "confirmed": "confirmed", "promoted": "confirmed", "awaiting": "awaiting",
    "waitlisted": "waitlisted", "refused": "refused", "cancelled": "cancelled",
    "full": "cancelled", "event_cancelled": "cancelled", "reminder": "confirmed",
    "resend": "confirmed",
}


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_emails_in_the_participant_language_with_the_join_link_only_where_due(
        app, outbox, kind, language):
    # 3 p.m. in New York a week on: within one day there whatever the hour the test runs
    # (an event that ends after midnight is written from one date to the other).
    zone = ZoneInfo("America/New_York")
    day_on = (utcnow() + timedelta(days=7)).astimezone(zone).date()
    start = datetime.combine(day_on, time(15), tzinfo=zone).astimezone(UTC)
    event = factories.event("acme", title={"fr": "Atelier", "en": "Workshop"},
                            timezone="America/New_York", starts_at=start,
                            ends_at=start + timedelta(hours=2))
    pid = person("acme", f"{language}@example.org", language=language)
    [registration] = add_registrations("acme", event, [pid], status=KINDS[kind])

    assert tasks.send_registration_email.call_local("acme", registration, kind, 60)
    [message] = outbox.messages
    text = outbox.text(message)
    title = {"fr": "Atelier", "en": "Workshop"}[language]
    with tenants_api.tenant_context("acme") as session:
        starts = session.get(Event, event).starts_at
    assert title in message["Subject"] and title in text
    day = format_date(starts.astimezone(ZoneInfo("America/New_York")), "full", locale=language)
    assert day in text  # e.g. "jeudi 12 mars 2026" or "Thursday, March 12, 2026"
    assert "America/New York" in text
    assert f"http://127.0.0.1:5000/t/acme/events/{event}" in outbox.links(message)
    assert "http://127.0.0.1:5000/t/acme/me/registrations" in outbox.links(message)
    html = message.get_body(("html",)).get_content()
    has_link = kind in ("confirmed", "promoted", "reminder", "resend")
    assert JOIN_URL not in text and JOIN_URL not in html  # the meeting address: never
    assert personal_link(outbox, message) is has_link and ("/join/" in html) is has_link
    if kind == "reminder" and language == "en":
        assert message["Subject"] == "Reminder: Workshop starts in 1 hour"


def test_email_jobs_do_nothing_once_the_status_moved_on(app, outbox):
    event = factories.event("acme")
    [registration] = add_registrations("acme", event, [person("acme", "ada@example.org")],
                                       status="cancelled")
    assert not tasks.send_registration_email.call_local("acme", registration, "confirmed")
    assert not tasks.send_registration_email.call_local("acme", registration, "resend")
    assert not tasks.send_registration_email.call_local("acme", 987654, "confirmed")
    assert outbox.messages == []


def test_reminders_go_to_confirmed_registrants_once(app, outbox):
    event = factories.event("acme")
    confirmed = [person("acme", f"c{i}@example.org") for i in range(2)]
    add_registrations("acme", event, confirmed)
    add_registrations("acme", event, [person("acme", "w@example.org")], status="waitlisted")
    add_registrations("acme", event, [person("acme", "x@example.org")], status="cancelled")
    with tenants_api.tenant_context("acme") as session:
        starts = session.get(Event, event).starts_at.isoformat()

    assert tasks.send_reminders.call_local("acme", event, 1440, starts) == 2
    assert sorted(m["To"] for m in outbox.messages) == ["c0@example.org", "c1@example.org"]
    assert all(m["Subject"] == "Reminder: Workshop starts in 24 hours" for m in outbox.messages)
    assert all(personal_link(outbox, m) for m in outbox.messages)

    assert tasks.send_reminders.call_local("acme", event, 1440, starts) == 0  # a duplicate job
    assert len(outbox.messages) == 2
    assert tasks.send_reminders.call_local("acme", event, 60, starts) == 2  # the other reminder
    with tenants_api.tenant_context("acme") as session:
        assert len(session.scalars(select(SentReminder)).all()) == 4


def test_reminder_of_a_moved_or_cancelled_event_does_nothing(app, outbox):
    event = factories.event("acme")
    add_registrations("acme", event, [person("acme", "ada@example.org")])
    with tenants_api.tenant_context("acme") as session:
        moved = session.get(Event, event)
        old_start = moved.starts_at.isoformat()
        moved.starts_at += timedelta(days=1)
        moved.ends_at += timedelta(days=1)
    assert tasks.send_reminders.call_local("acme", event, 60, old_start) == 0
    with tenants_api.tenant_context("acme") as session:
        cancelled = session.get(Event, event)
        new_start = cancelled.starts_at.isoformat()
        cancelled.status = "cancelled"
    assert tasks.send_reminders.call_local("acme", event, 60, new_start) == 0
    assert outbox.messages == []


def test_reminders_are_scheduled_for_the_current_start(app):
    def queued() -> list[tuple]:
        with tenants_api.tenant_context("acme") as session:
            return [(tuple(job.args), job.run_after) for job in session.scalars(
                select(TenantJob).where(TenantJob.task.endswith("send_reminders"))
                .order_by(TenantJob.run_after))]

    event = factories.event("acme", reminders=[60, 1440, 30 * 1440])  # a month: already past
    with app.app_context():
        with pytest.raises(RuntimeError), tenants_api.tenant_context("acme") as session:
            tasks.schedule_reminders(session.get(Event, event))
            raise RuntimeError("rolled back")
        assert queued() == []  # queued with the unit of work, or not at all
        with tenants_api.tenant_context("acme") as session:
            found = session.get(Event, event)
            tasks.schedule_reminders(found)
            start = found.starts_at
        assert queued() == [(("acme", event, 1440, start.isoformat()), start - timedelta(days=1)),
                            (("acme", event, 60, start.isoformat()), start - timedelta(hours=1))]


# --- junk input ----------------------------------------------------------------------------------

fuzz = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
odd_text = st.one_of(
    st.text(), st.sampled_from(["\x00", "\u202e", "'; DROP TABLE registrations; --", "//evil.test",
                                "https://evil.test/", "/\\evil", "roster", "approvals", "1",
                                "true", "\r\n"]),
    st.text(min_size=1, max_size=20).map(lambda t: (t * 10_000)[:100_000]))
junk_form = st.dictionaries(st.sampled_from(["confirm", "next", "view", "csrf_token", "x"]),
                            odd_text, max_size=4)
ids = st.one_of(st.integers(min_value=-5, max_value=2**70), st.sampled_from(["x", "1e3", "%00"]))


@pytest.fixture
def junk_setup(app):  # type: ignore[no-untyped-def]
    event = factories.event("acme", approval="manual", capacity=1)
    participant, ada = participant_client(app, "ada@example.org")
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    register(participant, event)
    return event, participant, manager, registration_id("acme", event, ada)


@fuzz
@given(form=junk_form, target=ids)
@example(form={"view": "\x00"}, target=1)
@example(form={"next": "//evil.test", "confirm": "1"}, target=2**40)
def test_junk_never_breaks_the_registration_endpoints(junk_setup, form, target):
    event, participant, manager, mine = junk_setup
    for who, url in [
            (participant, f"/t/acme/events/{target}/register"),
            (participant, f"/t/acme/me/registrations/{target}/cancel"),
            (participant, f"/t/acme/me/registrations/{target}/join-link"),
            (manager, f"/t/acme/admin/registrations/{target}/approve"),
            (manager, f"/t/acme/admin/registrations/{target}/refuse"),
            (manager, f"/t/acme/admin/registrations/{mine}/approve")]:
        # A junk id may be a real one and a valid form really acts: what must hold is that
        # the last, refused, decision changes nothing.
        before = status("acme", mine)
        response = who.post(url, data=form)
        assert response.status_code < 500, (url, form)
        if response.status_code in (301, 302, 303):
            location = response.headers["Location"]
            assert location.startswith("/") and not location.startswith(("//", "/\\"))
    if form.get("view", "roster") not in ("roster", "approvals"):
        assert response.status_code == 400  # a refused decision form writes nothing
        assert status("acme", mine) == before
    taken, confirmed = seats("acme", event)
    assert taken == confirmed <= 1


def test_french_statuses_agree_with_registration_and_with_event(app):
    from flask_babel import force_locale, gettext

    from tenants.registration.forms import STATUS_LABELS

    with app.test_request_context(), force_locale("fr"):
        assert [str(STATUS_LABELS[s]) for s in ("confirmed", "cancelled", "refused")] == [
            "Confirmée", "Annulée", "Refusée"]  # une inscription
        assert gettext("Cancelled") == "Annulé"  # un événement
