"""Personal join links and calendar files (issue 19, items 2 and 3).

Join: attendance recorded once at the first join, the redirect only within the window, the
token unguessable, the meeting address on no page, ratings open from the recorded attendance.
Calendar: every .ics parses with ``icalendar``, in the event's zone, one UID for an event
across updates, SEQUENCE rising, METHOD:CANCEL when cancelled; the public file has no link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import icalendar
import pytest

from core import ics
from core.clock import utcnow
from core.mail import Attachment, Message, build_email
from tenants import api as tenants_api
from tenants.events import services as events
from tenants.events.models import Event
from tenants.registration import services as registrations
from tenants.registration.models import Registration
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.ratings_helpers import configure
from tests.tenants.registration_helpers import person

MEETING = "https://video.example.test/room/42"  # the factories' event meeting address
ZONE = "America/New_York"


def new_event(**fields: object) -> int:
    start = utcnow().replace(microsecond=0) + timedelta(days=7)
    values: dict = {"timezone": ZONE, "starts_at": start, "ends_at": start + timedelta(hours=2)}
    values.update(fields)
    return factories.event("acme", **values)


def registration(event_id: int, email: str = "ann@example.org") -> Registration:
    pid = person("acme", email, first_name="Ann")
    factories.registration("acme", event_id, pid)
    with tenants_api.tenant_context("acme") as session:
        found = registrations.for_event(session, event_id, pid)
        assert found is not None
        session.expunge(found)
        return found


def reload(registration_id: int) -> Registration:
    with tenants_api.tenant_context("acme") as session:
        found = session.get(Registration, registration_id)
        assert found is not None
        session.expunge(found)
        return found


def calendar_of(message: EmailMessage) -> tuple[str, icalendar.Calendar]:
    """The e-mail's .ics attachment: its method parameter and the parsed calendar."""
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part.get_param("method"), icalendar.Calendar.from_ical(part.get_content())


def vevent(calendar: icalendar.Calendar) -> icalendar.Event:
    [event] = calendar.walk("VEVENT")
    return event


def stored(event_id: int) -> Event:
    with tenants_api.tenant_context("acme") as session:
        event = session.get(Event, event_id)
        session.expunge(event)
        return event


# --- calendar files ---------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"])
def test_a_calendar_file_parses_in_the_events_zone(zone: str) -> None:
    start = datetime(2031, 3, 30, 0, 30, tzinfo=UTC)  # the night Europe moves to summer time
    text = ics.calendar(ics.CalendarEvent(
        uid="event-1.acme@parvis.test", sequence=3, starts_at=start,
        ends_at=start + timedelta(hours=3), timezone=zone,
        summary="Atelier; « été », 2031\nsuite " + "x" * 120, url="https://p.test/e/1"))
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    calendar = icalendar.Calendar.from_ical(text)
    event = vevent(calendar)
    assert event["SUMMARY"] == "Atelier; « été », 2031\nsuite " + "x" * 120
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(hours=3)
    assert str(event.decoded("DTSTART").tzinfo) == zone
    assert event["UID"] == "event-1.acme@parvis.test" and event["SEQUENCE"] == 3
    [timezone] = calendar.walk("VTIMEZONE")
    assert timezone["TZID"] == zone
    # The VTIMEZONE alone gives the right offset: read it with its own rules, not the system's.
    own = timezone.to_tz()
    local = event.decoded("DTSTART").replace(tzinfo=None)
    assert local.replace(tzinfo=own).utcoffset() == start.astimezone(ZoneInfo(zone)).utcoffset()


def test_the_confirmation_email_carries_an_invitation_with_the_personal_link(
        app, client, outbox) -> None:  # type: ignore[no-untyped-def]
    event_id = new_event(title={"fr": "Atelier", "en": "Workshop"})
    pid = person("acme", "ann@example.org", first_name="Ann")
    english(sign_in_participant(client, "acme", pid))
    assert client.post(f"/t/acme/events/{event_id}/register").status_code == 303
    [message] = outbox.messages
    assert message["Subject"] == "Registration confirmed: Workshop"
    method, calendar = calendar_of(message)
    assert method == "REQUEST" and calendar["METHOD"] == "REQUEST"
    event = vevent(calendar)
    start = stored(event_id).starts_at
    assert event.decoded("DTSTART") == start and str(event.decoded("DTSTART").tzinfo) == ZONE
    assert event["SUMMARY"] == "Workshop"
    assert str(event["URL"]).startswith("http://127.0.0.1:5000/t/acme/join/")
    assert MEETING not in calendar.to_ical().decode()
    assert str(event["URL"]) in outbox.links(message)  # the same link in the e-mail's text
    assert "America/New York" in outbox.text(message)  # the zone, named


def test_a_new_time_then_a_cancellation_update_the_same_calendar_entry(app, outbox) -> None:  # type: ignore[no-untyped-def]
    event_id = new_event()
    first = registration(event_id)
    waiting = registration(event_id, "bob@example.org")  # confirmed too (no capacity)
    [_, invitation] = [calendar_of(m) for m in outbox.messages][:2]
    uid, sequence = vevent(invitation[1])["UID"], vevent(invitation[1])["SEQUENCE"]
    outbox.clear()
    with tenants_api.tenant_context("acme") as session:
        event = session.get(Event, event_id)
        events.update(session, event, starts_at=event.starts_at + timedelta(hours=1),
                      ends_at=event.ends_at + timedelta(hours=1))
    assert sorted(m["To"] for m in outbox.messages) == ["ann@example.org", "bob@example.org"]
    moved = next(m for m in outbox.messages if m["To"] == "ann@example.org")
    assert moved["Subject"].startswith("New time: ")
    method, calendar = calendar_of(moved)
    assert method == "REQUEST" and vevent(calendar)["UID"] == uid
    assert vevent(calendar)["SEQUENCE"] > sequence
    assert vevent(calendar).decoded("DTSTART") == stored(event_id).starts_at
    moved_sequence = vevent(calendar)["SEQUENCE"]
    outbox.clear()
    with tenants_api.tenant_context("acme") as session:  # an edit not about the time: silent
        events.update(session, session.get(Event, event_id), capacity=50)
    assert outbox.messages == []
    with tenants_api.tenant_context("acme") as session:
        events.cancel(session, session.get(Event, event_id))
    cancelled = next(m for m in outbox.messages if m["To"] == "ann@example.org")
    method, calendar = calendar_of(cancelled)
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert vevent(calendar)["UID"] == uid and vevent(calendar)["SEQUENCE"] > moved_sequence
    assert vevent(calendar)["STATUS"] == "CANCELLED"
    assert first.id != waiting.id


def test_a_registrant_who_cancels_gets_a_cancellation_and_a_new_invitation_after(
        app, client, outbox) -> None:  # type: ignore[no-untyped-def]
    event_id = new_event()
    mine = registration(event_id)
    _, invitation = calendar_of(outbox.messages[-1])
    outbox.clear()
    with tenants_api.tenant_context("acme") as session:
        registrations.cancel(session, session.get(Registration, mine.id))
    method, cancel = calendar_of(outbox.messages[-1])
    assert method == "CANCEL" and vevent(cancel)["UID"] == vevent(invitation)["UID"]
    assert vevent(cancel)["SEQUENCE"] > vevent(invitation)["SEQUENCE"]
    outbox.clear()
    factories.registration("acme", event_id, mine.participant_id)  # registers again
    method, again = calendar_of(outbox.messages[-1])
    assert method == "REQUEST" and vevent(again)["SEQUENCE"] > vevent(cancel)["SEQUENCE"]


def test_add_to_calendar_downloads(app, client) -> None:  # type: ignore[no-untyped-def]
    event_id = new_event()
    mine = registration(event_id)
    anonymous = english(app.test_client())
    page = anonymous.get(f"/t/acme/events/{event_id}").text
    assert "Add to calendar" in page and MEETING not in page and "/join/" not in page
    public = anonymous.get(f"/t/acme/events/{event_id}/calendar.ics")
    assert public.status_code == 200 and public.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(public.data)
    assert calendar["METHOD"] == "PUBLISH"
    assert str(vevent(calendar).decoded("DTSTART").tzinfo) == ZONE
    assert MEETING not in public.text and "/join/" not in public.text
    assert str(vevent(calendar)["URL"]) == f"http://127.0.0.1:5000/t/acme/events/{event_id}"

    me = english(sign_in_participant(app.test_client(), "acme", mine.participant_id))
    assert "Add to calendar" in me.get("/t/acme/me/registrations").text
    personal = me.get(f"/t/acme/me/registrations/{mine.id}/calendar.ics")
    assert personal.status_code == 200 and personal.headers["Cache-Control"] == "no-store"
    link = str(vevent(icalendar.Calendar.from_ical(personal.data))["URL"])
    assert link == f"http://127.0.0.1:5000/t/acme/join/{mine.join_token}"
    assert MEETING not in personal.text
    # Someone else's registration is not found; a draft's file neither.
    other = english(sign_in_participant(app.test_client(), "acme",
                                        person("acme", "eve@example.org")))
    assert other.get(f"/t/acme/me/registrations/{mine.id}/calendar.ics").status_code == 404
    draft = new_event(status="draft")
    assert anonymous.get(f"/t/acme/events/{draft}/calendar.ics").status_code == 404


def test_an_attachment_cannot_smuggle_headers() -> None:
    with pytest.raises(ValueError):
        Attachment(filename="a.ics\r\nBcc: x@y.test", content="x")
    with pytest.raises(ValueError):
        Attachment(filename="a.ics", content="x", params={"method": "A; b=c"})
    message = Message(to="a@b.test", subject="s", text="t",
                      attachments=(Attachment("a.ics", "BEGIN:VCALENDAR", "calendar",
                                              {"method": "REQUEST"}),))
    again = Message(**message.as_args())  # as the outbox stores and reads it
    assert again == message
    email = build_email(again, "p@parvis.test", "k1")
    [part] = email.iter_attachments()
    assert part.get_content_type() == "text/calendar" and part.get_param("method") == "REQUEST"
    assert "attachments" not in Message(to="a@b.test", subject="s", text="t").as_args()


# --- the personal join link -------------------------------------------------------------------


def test_the_join_link_records_the_first_join_and_redirects_only_in_its_window(
        app, clock) -> None:  # type: ignore[no-untyped-def]
    start = utcnow().replace(microsecond=0) + timedelta(hours=2)
    event_id = new_event(starts_at=start, ends_at=start + timedelta(hours=1),
                         join_opens_minutes=30)
    mine = registration(event_id)
    visitor = english(app.test_client())  # no sign-in needed: the token is the credential
    link = f"/t/acme/join/{mine.join_token}"

    early = visitor.get(link)
    assert early.status_code == 409 and "Location" not in early.headers
    assert "Your join link works from" in early.text and "America/New York" in early.text
    assert reload(mine.id).attended_at is None

    clock.advance(hours=1, minutes=31)  # 29 minutes before the start
    joined = visitor.get(link)
    assert joined.status_code == 303 and joined.headers["Location"] == MEETING
    assert joined.headers["Cache-Control"] == "no-store"
    first = reload(mine.id).attended_at
    assert first is not None and abs(first - utcnow()) < timedelta(seconds=5)

    clock.advance(minutes=40)
    assert visitor.get(link).headers["Location"] == MEETING
    assert reload(mine.id).attended_at == first  # the first join time stays

    clock.advance(hours=1, minutes=50)  # more than an hour after the end
    over = visitor.get(link)
    assert over.status_code == 410 and "Location" not in over.headers
    assert "This event is over" in over.text


def test_the_join_link_is_for_a_confirmed_registration_of_a_live_event(app, clock) -> None:  # type: ignore[no-untyped-def]
    start = utcnow().replace(microsecond=0) + timedelta(minutes=5)
    event_id = new_event(starts_at=start, ends_at=start + timedelta(hours=1), capacity=1)
    confirmed = registration(event_id)
    waiting = registration(event_id, "bob@example.org")
    assert (confirmed.status, waiting.status) == ("confirmed", "waitlisted")
    visitor = english(app.test_client())
    refused = visitor.get(f"/t/acme/join/{waiting.join_token}")
    assert refused.status_code == 403 and "Only a confirmed registration" in refused.text
    assert visitor.get("/t/acme/join/" + "A" * 43).status_code == 404
    assert visitor.get("/t/acme/join/" + "A" * 65).status_code == 404
    assert visitor.get(f"/t/globex/join/{confirmed.join_token}").status_code == 404
    with tenants_api.tenant_context("acme") as session:
        events.cancel(session, session.get(Event, event_id))
    gone = visitor.get(f"/t/acme/join/{confirmed.join_token}")
    assert gone.status_code == 410 and "Location" not in gone.headers
    assert reload(confirmed.id).attended_at is None


def test_join_tokens_are_unguessable(app) -> None:  # type: ignore[no-untyped-def]
    event_id = new_event()
    tokens = [registration(event_id, f"p{i}@example.org").join_token for i in range(5)]
    assert len(set(tokens)) == 5
    for registration_token in tokens:
        assert len(registration_token) >= 43  # 256 random bits, URL-safe base64
        assert not registration_token.isdigit()


def test_the_meeting_address_is_on_no_public_or_participant_page(app) -> None:  # type: ignore[no-untyped-def]
    event_id = new_event()
    mine = registration(event_id)
    me = english(sign_in_participant(app.test_client(), "acme", mine.participant_id))
    for client in (english(app.test_client()), me):
        for path in ("/t/acme/", f"/t/acme/events/{event_id}", "/t/acme/me/registrations",
                     f"/t/acme/events/{event_id}/calendar.ics",
                     f"/t/acme/me/registrations/{mine.id}/calendar.ics"):
            response = client.get(path)
            assert MEETING not in response.get_data(as_text=True), path


def test_ratings_open_from_the_attendance_the_join_link_recorded(app, clock) -> None:  # type: ignore[no-untyped-def]
    configure("acme", ratings_raters="attended", ratings_premoderate_comments=False)
    start = utcnow().replace(microsecond=0) + timedelta(minutes=10)
    event_id = new_event(starts_at=start, ends_at=start + timedelta(hours=1))
    joined, absent = registration(event_id), registration(event_id, "bob@example.org")
    assert english(app.test_client()).get(f"/t/acme/join/{joined.join_token}").status_code == 303
    clock.advance(hours=2)  # the event is over
    rater = english(sign_in_participant(app.test_client(), "acme", joined.participant_id))
    assert rater.post(f"/t/acme/events/{event_id}/rating",
                      data={"stars": 5, "comment": "", "mode": "new"}).status_code == 303
    other = english(sign_in_participant(app.test_client(), "acme", absent.participant_id))
    refused = other.post(f"/t/acme/events/{event_id}/rating",
                         data={"stars": 5, "comment": "", "mode": "new"})
    assert refused.status_code in (403, 409, 422)


def test_staff_still_correct_attendance_by_hand(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    start = utcnow().replace(microsecond=0) + timedelta(minutes=10)
    event_id = new_event(starts_at=start, ends_at=start + timedelta(hours=1))
    joined = registration(event_id)
    assert english(app.test_client()).get(f"/t/acme/join/{joined.join_token}").status_code == 303
    clock.advance(minutes=20)
    sign_in_member(client, "acme", "manager", in_english=True)
    response = client.post(f"/t/acme/admin/events/{event_id}/attendance",
                           data={"registration": [joined.id], "attended": "0"})
    assert response.status_code == 303
    assert reload(joined.id).attended_at is None


@pytest.mark.parametrize("value", ["-1", "1441", "soon"])
def test_the_join_window_setting_is_bounded(app, client, value: str) -> None:  # type: ignore[no-untyped-def]
    from tests.tenants.test_events import form

    sign_in_member(client, "acme", "admin", in_english=True)
    response = client.post("/t/acme/admin/events/new", data=form(join_opens_minutes=value))
    assert response.status_code == 422
    assert "minutes" in response.text
    ok = client.post("/t/acme/admin/events/new", data=form(join_opens_minutes="60"))
    assert ok.status_code == 303
