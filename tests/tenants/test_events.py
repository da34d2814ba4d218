"""Events: the admin editor and its rules, time zones, roles, public pages and their cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core import jobs
from tenants import api as tenants_api
from tenants import pagecache
from tenants.events import services
from tenants.events.models import Event
from tenants.events.views import PAGE_SIZE
from tenants.registration import tasks
from tenants.registration.models import Registration
from tests import factories
from tests.fixtures.people import english, new_participant_signed_in, sign_in_member

JOIN_URL = "https://video.example.test/room/secret-42"


def form(**changes: object) -> dict:
    """A valid event form: a published two-hour workshop on 15 January 2031 in Paris."""
    data: dict = {"title-fr": "Atelier", "title-en": "Workshop", "description-fr": "",
                  "description-en": "", "timezone": "Europe/Paris",
                  "starts_at": "2031-01-15T10:00", "ends_at": "2031-01-15T12:00",
                  "capacity": "", "approval": "auto", "waitlist": "y",
                  "registration_opens_at": "", "registration_closes_at": "",
                  "join_url": JOIN_URL, "reminders": ["1440", "60"], "status": "published"}
    data.update(changes)
    return data


def events(slug: str = "acme") -> list[Event]:
    with tenants_api.tenant_context(slug) as db:
        return list(db.scalars(select(Event).order_by(Event.id)))


def one_event(event_id: int, slug: str = "acme") -> Event:
    with tenants_api.tenant_context(slug) as db:
        return db.get(Event, event_id)


def statuses(event_id: int) -> dict[int, str]:
    with tenants_api.tenant_context("acme") as db:
        return dict(db.execute(select(Registration.participant_id, Registration.status)
                               .where(Registration.event_id == event_id)).all())


@pytest.fixture
def scheduled(monkeypatch):  # type: ignore[no-untyped-def]
    """Calls to ``schedule_reminders``: (event id, start time) each."""
    calls: list[tuple[int, datetime]] = []
    monkeypatch.setattr(tasks, "schedule_reminders",
                        lambda event: calls.append((event.id, event.starts_at)))
    return calls


@pytest.fixture
def emails(monkeypatch):  # type: ignore[no-untyped-def]
    """Registration e-mail jobs run: (slug, registration id, kind) each."""
    calls: list[tuple] = []
    monkeypatch.setattr(tasks, "send_registration_email",
                        jobs.tenant_task()(lambda *args: calls.append(args)))
    return calls


# --- admin editor ----------------------------------------------------------------------------


def test_admin_creates_edits_publishes_and_cancels(app, client, scheduled, emails):
    sign_in_member(client, "acme", "admin", in_english=True)
    page = client.get("/t/acme/admin/events/new")
    assert page.status_code == 200
    assert 'type="datetime-local"' in page.get_data(as_text=True)

    created = client.post("/t/acme/admin/events/new", data=form(status="draft"))
    assert created.status_code == 303
    assert created.headers["Location"].endswith("/t/acme/admin/events?view=drafts")
    [event] = events()
    assert (event.title, event.status, event.capacity) == (
        {"fr": "Atelier", "en": "Workshop"}, "draft", None)
    assert event.reminders == [1440, 60] and event.join_url == JOIN_URL

    edit_url = f"/t/acme/admin/events/{event.id}/edit"
    assert JOIN_URL in client.get(edit_url).get_data(as_text=True)  # the admin sees it
    edited = client.post(edit_url, data=form(status="draft", capacity="25",
                                             **{"title-en": "Hands-on workshop"}))
    assert edited.status_code == 303
    assert one_event(event.id).title["en"] == "Hands-on workshop"
    assert one_event(event.id).capacity == 25
    assert "Hands-on workshop" in client.get("/t/acme/admin/events?view=drafts").get_data(
        as_text=True)

    # Publishing and cancelling ask first, in a page that works without JavaScript.
    asked = client.post(f"/t/acme/admin/events/{event.id}/publish")
    assert asked.status_code == 200
    assert 'name="confirm" value="yes"' in asked.get_data(as_text=True)
    assert one_event(event.id).status == "draft"
    published = client.post(f"/t/acme/admin/events/{event.id}/publish", data={"confirm": "yes"})
    assert published.status_code == 303
    assert one_event(event.id).status == "published"
    assert scheduled == [(event.id, datetime(2031, 1, 15, 9, tzinfo=UTC))]
    assert client.post(f"/t/acme/admin/events/{event.id}/publish",
                       data={"confirm": "yes"}).status_code == 409

    asked = client.post(f"/t/acme/admin/events/{event.id}/cancel")
    assert "0 registered participants will be told" in asked.get_data(as_text=True)
    assert one_event(event.id).status == "published"
    cancelled = client.post(f"/t/acme/admin/events/{event.id}/cancel", data={"confirm": "yes"})
    assert cancelled.status_code == 303
    assert one_event(event.id).status == "cancelled"
    assert "has been cancelled" in client.get(f"/t/acme/events/{event.id}").get_data(
        as_text=True)
    refused = client.post(edit_url, data=form(**{"title-fr": "Autre"}))
    assert refused.status_code == 409
    assert one_event(event.id).title["fr"] == "Atelier"


def test_htmx_form_errors_swap_the_form_and_success_redirects_the_page(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    htmx = {"HX-Request": "true"}
    refused = client.post("/t/acme/admin/events/new", data=form(**{"title-fr": ""}),
                          headers=htmx)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "<html" not in body and 'id="title-fr-error"' in body
    created = client.post("/t/acme/admin/events/new", data=form(), headers=htmx)
    assert created.status_code == 204
    assert created.headers["HX-Redirect"].endswith("/admin/events?view=upcoming")


@pytest.mark.parametrize(("zone", "local", "utc"), [
    ("Europe/Paris", "2031-01-15T10:00", datetime(2031, 1, 15, 9, tzinfo=UTC)),  # winter, +1
    ("Europe/Paris", "2031-07-15T10:00", datetime(2031, 7, 15, 8, tzinfo=UTC)),  # summer, +2
    ("America/New_York", "2031-01-15T10:00", datetime(2031, 1, 15, 15, tzinfo=UTC)),
    ("Asia/Tokyo", "2031-07-15T10:00", datetime(2031, 7, 15, 1, tzinfo=UTC)),
    ("UTC", "2031-07-15T10:00", datetime(2031, 7, 15, 10, tzinfo=UTC)),
])
def test_local_times_are_read_in_the_chosen_zone(app, client, scheduled, zone, local, utc):
    sign_in_member(client, "acme", "admin", in_english=True)
    end = (datetime.fromisoformat(local) + timedelta(hours=2)).isoformat(timespec="minutes")
    response = client.post("/t/acme/admin/events/new",
                           data=form(timezone=zone, starts_at=local, ends_at=end))
    assert response.status_code == 303
    [event] = events()
    assert (event.starts_at, event.ends_at, event.timezone) == (utc, utc + timedelta(hours=2),
                                                               zone)
    # Shown back as typed, in the event's zone, with the zone named.
    assert f'value="{local}"' in client.get(f"/t/acme/admin/events/{event.id}/edit").get_data(
        as_text=True)
    page = client.get(f"/t/acme/events/{event.id}").get_data(as_text=True)
    assert "10:00" in page and zone.replace("_", " ") in page


def test_a_time_skipped_by_the_clock_change_is_refused(app, client):
    sign_in_member(client, "acme", "admin", in_english=True)
    # 30 March 2031, 02:30 does not exist in Paris: clocks go from 02:00 to 03:00.
    response = client.post("/t/acme/admin/events/new",
                           data=form(starts_at="2031-03-30T02:30", ends_at="2031-03-30T04:00"))
    assert response.status_code == 422
    assert "does not exist in Europe/Paris" in response.get_data(as_text=True)
    assert events() == []


def test_a_time_that_happens_twice_means_the_first(app, client, scheduled):
    sign_in_member(client, "acme", "admin", in_english=True)
    # 26 October 2031, 02:30 happens twice in Paris (summer time, then winter time).
    response = client.post("/t/acme/admin/events/new",
                           data=form(starts_at="2031-10-26T02:30", ends_at="2031-10-26T04:00"))
    assert response.status_code == 303
    assert events()[0].starts_at == datetime(2031, 10, 26, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"ends_at": "2031-01-15T10:00"}, "ends_at", "The end must be after the start."),
    ({"registration_closes_at": "2031-01-15T11:00"}, "registration_closes_at",
     "Registration must close before the event starts"),
    ({"registration_opens_at": "2031-01-10T10:00", "registration_closes_at": "2031-01-09T10:00"},
     "registration_opens_at", "Registration must open before it closes."),
    ({"registration_opens_at": "2031-01-15T10:00"}, "registration_opens_at",
     "Registration must open before the event starts."),
    ({"capacity": "0"}, "capacity", "between 1 and 100000"),
    ({"capacity": "100001"}, "capacity", "between 1 and 100000"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Not a valid choice"),
    ({"timezone": "Europe/Paris\u202e"}, "timezone", "Not a valid choice"),
    ({"join_url": "javascript:alert(1)"}, "join_url", "starting with https://"),
    ({"join_url": "ftp://files.example.test/x"}, "join_url", "starting with https://"),
    ({"join_url": "https://"}, "join_url", "starting with https://"),
    ({"join_url": "https://a.test/" + "x" * 2000}, "join_url", "2000"),
    ({"starts_at": "1999-12-31T10:00", "ends_at": "1999-12-31T12:00"}, "starts_at",
     "between 2000 and 2100"),
    ({"starts_at": "tomorrow"}, "starts_at", "Enter a date and time"),
    ({"title-fr": "   "}, "title-fr", "required"),
    ({"title-fr": "x" * 201}, "title-fr", "200"),
    ({"reminders": ["30"]}, "reminders", "valid choice"),
    ({"approval": "sometimes"}, "approval", "Not a valid choice"),
    ({"status": "cancelled"}, "status", "Not a valid choice"),
])
def test_invalid_events_are_refused_field_by_field(app, client, changes, field, message):
    sign_in_member(client, "acme", "admin", in_english=True)
    response = client.post("/t/acme/admin/events/new", data=form(**changes))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    error = body.split(f'id="{field}-error">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert events() == []


def test_the_default_language_title_is_required_and_the_other_optional(app, client, scheduled):
    sign_in_member(client, "acme", "admin", in_english=True)
    assert client.post("/t/acme/admin/events/new",
                       data=form(**{"title-fr": "", "title-en": "Workshop"})).status_code == 422
    assert client.post("/t/acme/admin/events/new",
                       data=form(**{"title-en": ""})).status_code == 303
    assert events()[0].title == {"fr": "Atelier", "en": ""}


def test_reminders_are_chosen_and_scheduled_when_the_start_or_reminders_change(
        app, client, scheduled):
    sign_in_member(client, "acme", "admin", in_english=True)
    client.post("/t/acme/admin/events/new", data=form(reminders=["10080", "60"]))
    [event] = events()
    assert event.reminders == [10080, 60]
    assert scheduled == [(event.id, datetime(2031, 1, 15, 9, tzinfo=UTC))]

    edit_url = f"/t/acme/admin/events/{event.id}/edit"
    client.post(edit_url, data=form(reminders=["10080", "60"], **{"title-en": "New title"}))
    assert len(scheduled) == 1  # nothing about the reminders changed
    client.post(edit_url, data=form(reminders=["10080", "60"], starts_at="2031-01-15T11:00"))
    assert scheduled[-1] == (event.id, datetime(2031, 1, 15, 10, tzinfo=UTC))
    client.post(edit_url, data=form(reminders=[], starts_at="2031-01-15T11:00"))
    assert len(scheduled) == 3 and one_event(event.id).reminders == []

    client.post("/t/acme/admin/events/new", data=form(status="draft"))
    assert len(scheduled) == 3  # drafts send no reminders


def test_capacity_cannot_drop_below_the_seats_taken(app, client, scheduled, emails):
    with app.app_context():
        event_id = factories.event("acme", capacity=3)
        for name in ("ada", "bob"):
            factories.registration("acme", event_id, factories.confirmed_participant(
                "acme", f"{name}@acme.test"))
    sign_in_member(client, "acme", "admin", in_english=True)
    edit_url = f"/t/acme/admin/events/{event_id}/edit"
    refused = client.post(edit_url, data=form(capacity="1"))
    assert refused.status_code == 422
    assert "2 seats are already taken" in refused.get_data(as_text=True)
    assert one_event(event_id).capacity == 3
    assert client.post(edit_url, data=form(capacity="2")).status_code == 303
    assert one_event(event_id).capacity == 2


def test_the_service_refuses_a_capacity_below_seats_taken_meanwhile(ctx, scheduled, emails):
    event_id = factories.event("acme", capacity=2)
    with tenants_api.tenant_context("acme") as db:
        stale = db.get(Event, event_id)  # read before the seats below are taken
        db.commit()
        for name in ("ada", "bob"):
            factories.registration("acme", event_id, factories.confirmed_participant(
                "acme", f"{name}@acme.test"))
        with pytest.raises(services.EventError) as refused:
            services.update(db, stale, capacity=1, title={"fr": "Changé"})
        assert refused.value.code == "capacity"
    event = one_event(event_id)
    assert (event.capacity, event.seats_taken, event.title["fr"]) == (2, 2, "Atelier")


def test_more_capacity_promotes_the_waiting_list(app, client, scheduled, emails):
    with app.app_context():
        event_id = factories.event("acme", capacity=1, waitlist=True)
        first, second = (factories.confirmed_participant("acme", f"{n}@acme.test")
                         for n in ("ada", "bob"))
        factories.registration("acme", event_id, first)
        factories.registration("acme", event_id, second)
    assert statuses(event_id) == {first: "confirmed", second: "waitlisted"}
    sign_in_member(client, "acme", "admin", in_english=True)
    assert client.post(f"/t/acme/admin/events/{event_id}/edit",
                       data=form(capacity="2")).status_code == 303
    assert statuses(event_id) == {first: "confirmed", second: "confirmed"}
    # The form also moved the event: its registrants are told the new time too.
    assert ("acme", "promoted") in [email[0::2] for email in emails]


def test_a_published_event_with_registrations_cannot_become_a_draft(app, client, emails):
    with app.app_context():
        event_id = factories.event("acme")
        factories.registration("acme", event_id,
                               factories.confirmed_participant("acme", "ada@acme.test"))
    sign_in_member(client, "acme", "admin", in_english=True)
    refused = client.post(f"/t/acme/admin/events/{event_id}/edit", data=form(status="draft"))
    assert refused.status_code == 422
    assert "cancel the event instead" in refused.get_data(as_text=True)
    assert one_event(event_id).status == "published"


def test_cancelling_tells_every_active_registrant(app, client, emails):
    with app.app_context():
        event_id = factories.event("acme", capacity=1)
        people = [factories.confirmed_participant("acme", f"p{i}@acme.test") for i in range(3)]
        for person in people:
            factories.registration("acme", event_id, person)
        with tenants_api.tenant_context("acme") as db:  # the third gave up before
            from tenants.registration import services as registrations

            gone = db.scalar(select(Registration).where(Registration.participant_id
                                                        == people[2]))
            registrations.cancel(db, gone)
    emails.clear()
    sign_in_member(client, "acme", "admin", in_english=True)
    asked = client.post(f"/t/acme/admin/events/{event_id}/cancel")
    assert "2 registered participants will be told" in asked.get_data(as_text=True)
    assert emails == []
    client.post(f"/t/acme/admin/events/{event_id}/cancel", data={"confirm": "yes"})
    with tenants_api.tenant_context("acme") as db:
        active = set(db.scalars(select(Registration.id).where(
            Registration.participant_id.in_(people[:2]))))
    assert {(slug, kind) for slug, _, kind in emails} == {("acme", "event_cancelled")}
    assert {registration_id for _, registration_id, _ in emails} == active
    assert len(emails) == 2


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_viewers_and_managers_read_the_list_but_change_nothing(app, client, role):
    with app.app_context():
        draft = factories.event("acme", status="draft")
    sign_in_member(client, "acme", role, in_english=True)
    listing = client.get("/t/acme/admin/events?view=drafts")
    assert listing.status_code == 200
    body = listing.get_data(as_text=True)
    assert "Workshop" in body
    assert "/admin/events/new" not in body and f"/admin/events/{draft}/edit" not in body
    assert client.get("/t/acme/admin/events/new").status_code == 403
    assert client.post("/t/acme/admin/events/new", data=form()).status_code == 403
    assert client.get(f"/t/acme/admin/events/{draft}/edit").status_code == 403
    assert client.post(f"/t/acme/admin/events/{draft}/edit", data=form()).status_code == 403
    for action in ("publish", "cancel"):
        assert client.post(f"/t/acme/admin/events/{draft}/{action}",
                           data={"confirm": "yes"}).status_code == 403
    assert [e.status for e in events()] == ["draft"]
    # Staff see a draft's page, marked as such.
    page = client.get(f"/t/acme/events/{draft}")
    assert page.status_code == 200 and "Draft" in page.get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    with app.app_context():
        event_id = factories.event("acme")
    for path in ("/t/acme/admin/events", "/t/acme/admin/events/new",
                 f"/t/acme/admin/events/{event_id}/edit"):
        response = client.get(path)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    assert client.post("/t/acme/admin/events/new", data=form()).status_code == 401
    assert client.post(f"/t/acme/admin/events/{event_id}/cancel",
                       data={"confirm": "yes"}).status_code == 401
    assert [e.status for e in events()] == ["published"]


def test_an_admin_of_another_tenant_is_refused(app, client):
    sign_in_member(client, "globex", "admin", in_english=True)
    assert client.get("/t/acme/admin/events").status_code == 403
    assert client.post("/t/acme/admin/events/new", data=form()).status_code == 403
    assert events() == []


def test_ids_of_another_tenant_are_404(app, client):
    with app.app_context():
        theirs = factories.event("globex", join_url=JOIN_URL)
        theirs_draft = factories.event("globex", status="draft")
    sign_in_member(client, "acme", "admin", in_english=True)
    for event_id in (theirs, theirs_draft, 999_999, 2**31, 10**30):
        assert client.get(f"/t/acme/events/{event_id}").status_code == 404
        assert client.get(f"/t/acme/admin/events/{event_id}/edit").status_code == 404
        assert client.post(f"/t/acme/admin/events/{event_id}/edit",
                           data=form()).status_code == 404
        for action in ("publish", "cancel"):
            assert client.post(f"/t/acme/admin/events/{event_id}/{action}",
                               data={"confirm": "yes"}).status_code == 404
    assert [e.status for e in events("globex")] == ["published", "draft"]


# --- public pages ----------------------------------------------------------------------------


def test_drafts_are_404_to_the_public(app, client):
    with app.app_context():
        draft = factories.event("acme", status="draft", title={"fr": "Brouillon secret"})
        new_participant_signed_in(client, "acme", "ada@acme.test")
    assert client.get(f"/t/acme/events/{draft}").status_code == 404
    assert "Brouillon secret" not in client.get("/t/acme/").get_data(as_text=True)
    assert app.test_client().get(f"/t/acme/events/{draft}").status_code == 404


def test_public_list_shows_upcoming_published_events_in_the_visitor_language(app, client):
    now = datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        factories.event("acme", title={"fr": "Atelier ouvert", "en": "Open workshop"},
                        capacity=10, seats_taken=7)
        factories.event("acme", title={"fr": "Complet"}, capacity=1, seats_taken=1,
                        waitlist=True)
        factories.event("acme", title={"fr": "Plus tard", "en": "Later"},
                        registration_opens_at=now + timedelta(days=3),
                        timezone="America/Montreal")
        factories.event("acme", title={"fr": "Fini", "en": "Over"},
                        starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
        factories.event("acme", title={"fr": "Annulé", "en": "Called off"},
                        status="cancelled")
        factories.event("acme", title={"fr": "Projet", "en": "Draft plan"}, status="draft")
    french = client.get("/t/acme/").get_data(as_text=True)
    assert "Atelier ouvert" in french and "Open workshop" not in french
    english(client)
    page = client.get("/t/acme/").get_data(as_text=True)
    assert "Open workshop" in page and "3 seats left" in page
    assert "Complet" in page and "Full — waiting list" in page  # falls back to French
    assert "Later" in page and "Registration opens on" in page and "America/Montreal" in page
    for hidden in ("Over", "Called off", "Draft plan"):
        assert hidden not in page
    assert page.index("Open workshop") < page.index("Later")


def test_the_join_url_is_on_no_public_page(app, client):
    with app.app_context():
        event_id = factories.event("acme", join_url=JOIN_URL, capacity=5)
        person = new_participant_signed_in(client, "acme", "ada@acme.test")
        factories.registration("acme", event_id, person)
    assert statuses(event_id) == {person: "confirmed"}
    anonymous = app.test_client()
    for visitor in (client, anonymous):
        for path in ("/t/acme/", f"/t/acme/events/{event_id}", "/t/acme/?page=1"):
            response = visitor.get(path)
            assert response.status_code == 200
            assert JOIN_URL not in response.get_data(as_text=True)
            assert "secret-42" not in response.get_data(as_text=True)


def test_the_event_page_shows_its_schedule_and_any_cancellation(app, client):
    with app.app_context():
        event_id = factories.event(
            "acme", timezone="Asia/Tokyo", description={"fr": "Première ligne\nSeconde"},
            starts_at=datetime(2031, 7, 15, 1, tzinfo=UTC),
            ends_at=datetime(2031, 7, 15, 3, tzinfo=UTC),
            registration_closes_at=datetime(2031, 7, 14, 23, 30, tzinfo=UTC))
        cancelled = factories.event("acme", status="cancelled")
    english(client)
    page = client.get(f"/t/acme/events/{event_id}").get_data(as_text=True)
    assert "<h1>Workshop</h1>" in page
    assert "July 15, 2031" in page and "10:00" in page and "Asia/Tokyo" in page
    assert "Registration closes on July 15, 2031 at 8:30" in page  # UTC+9 in Tokyo
    assert "Première ligne\nSeconde" in page
    page = client.get(f"/t/acme/events/{cancelled}").get_data(as_text=True)
    assert "This event has been cancelled." in page


def test_tenant_texts_are_escaped(app, client):
    with app.app_context():
        event_id = factories.event("acme", title={"fr": "<script>alert(1)</script>"},
                                   description={"fr": "<b>gras</b>"})
    for path in ("/t/acme/", f"/t/acme/events/{event_id}"):
        body = client.get(path).get_data(as_text=True)
        assert "<script>alert(1)" not in body and "&lt;script&gt;" in body
        assert "<b>gras" not in body


def test_public_list_costs_the_same_for_3_or_30_events(app, client, statements):
    def cost(count: int) -> int:
        with app.app_context():
            for _ in range(count - len(events())):
                factories.event("acme", capacity=10)
        client.get("/t/acme/")  # first visits fill caches (tenant registry, settings row)
        with app.app_context():
            pagecache.clear()  # the page itself is rendered, not copied
        with statements:
            page = client.get("/t/acme/").get_data(as_text=True)
        assert page.count("event-card") == min(count, PAGE_SIZE)
        return statements.count

    assert cost(3) == cost(30)


def test_admin_list_costs_the_same_for_3_or_30_events(app, client, statements, emails):
    sign_in_member(client, "acme", "viewer", in_english=True)

    def cost(count: int) -> int:
        with app.app_context():
            for i in range(len(events()), count):
                event_id = factories.event("acme", capacity=10)
                factories.registration("acme", event_id, factories.confirmed_participant(
                    "acme", f"p{i}@acme.test"))
        client.get("/t/acme/admin/events")  # first visits fill caches
        with statements:
            response = client.get("/t/acme/admin/events")
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("Confirmed: 1") == count
        return statements.count

    assert cost(3) == cost(20)


# --- bad input -------------------------------------------------------------------------------

FIELDS = ("title-fr", "title-en", "description-fr", "timezone", "starts_at", "ends_at",
          "capacity", "approval", "waitlist", "registration_opens_at",
          "registration_closes_at", "join_url", "reminders", "status")
junk = st.one_of(
    st.text(max_size=50),
    st.sampled_from(["", " ", "-1", "0", "1e9", "99999999999999999999", "2031-02-30T10:00",
                     "0001-01-01T00:30", "9999-12-31T23:59", "2031-03-30T02:30", "Etc/GMT+5",
                     "../../etc/passwd", "https://ok.example/", "javascript:alert(1)",
                     "\u202e", "e\u0301", "\ufeff", "draft", "cancelled", "manual"]),
    st.text(min_size=1, max_size=20).map(lambda t: (t * 10_000)[:100_000]),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(FIELDS), junk, max_size=5))
@example(changes={"title-fr": "x" * 100_000})
@example(changes={"starts_at": "0001-01-01T00:30", "timezone": "Asia/Tokyo"})
@example(changes={"capacity": "99999999999999999999"})
@example(changes={"title-fr": "Ok\x00"})
def test_junk_in_the_event_form_never_fails_and_writes_nothing(admin, scheduled, changes):
    before = len(events())
    response = admin.post("/t/acme/admin/events/new", data=form(**changes))
    assert response.status_code in (303, 400, 422)
    if "\x00" in "".join(changes.values()):
        assert response.status_code == 400
    assert len(events()) == before + (response.status_code == 303)


def test_page_numbers_of_any_size_are_safe(client):
    for page in ("0", "-5", "abc", "99999999999999999999999"):
        assert client.get("/t/acme/", query_string={"page": page}).status_code == 200


def test_admin_list_counts_registrations_per_status(ctx, emails):
    ids = [factories.event("acme", capacity=1) for _ in range(2)]
    for i, event_id in enumerate([ids[0], ids[0], ids[1]]):
        factories.registration("acme", event_id,
                               factories.confirmed_participant("acme", f"p{i}@acme.test"))
    with tenants_api.tenant_context("acme") as db:
        listed, counts = services.admin_list(db, "upcoming", limit=10)
        assert [e.id for e in listed] == ids
        assert counts == {ids[0]: {"confirmed": 1, "waitlisted": 1}, ids[1]: {"confirmed": 1}}
        assert services.admin_list(db, "drafts", limit=10) == ([], {})
