""""My registrations" after issue 19, item 6: upcoming and past, "Rate this event" while the
window is open for an attended event, no word of the join link once an event is over; a
registrant changes their answers until the event starts, and the organiser sees what changed
and when."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.audit.models import AccessLog
from tenants.fields.models import Answer
from tenants.participants.models import Participant
from tenants.registration.models import AnswerChange
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.ratings_helpers import attendee, past_event
from tests.tenants.registration_helpers import person, registration_id

JOIN_WORDS = "join link"


def me(app, email: str = "ada@example.org", **fields: str):  # type: ignore[no-untyped-def]
    pid = person("acme", email, **fields)
    return pid, sign_in_participant(english(app.test_client()), "acme", pid)


def section(page: str, heading_id: str) -> str:
    """The HTML of one <section> of the page, by its heading's id."""
    match = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert match, heading_id
    return match.group(1)


def test_upcoming_and_past_are_split_and_a_past_event_speaks_no_more_of_the_join_link(app):
    pid, client = me(app)
    soon = factories.event("acme", title={"fr": "Bientôt", "en": "Coming soon"})
    factories.registration("acme", soon, pid)
    over = past_event("acme", title={"fr": "Passé", "en": "Long gone"})
    attendee("acme", over, pid)

    page = client.get("/t/acme/me/registrations").get_data(as_text=True)
    upcoming, past = section(page, "upcoming-heading"), section(page, "past-heading")
    assert "Coming soon" in upcoming and "Long gone" not in upcoming
    assert "Long gone" in past and "Coming soon" not in past
    assert "Send me the join link again" in upcoming and "Change my answers" in upcoming
    assert JOIN_WORDS not in past and "You attended this event." in past
    assert "Cancel" not in past and "Change my answers" not in past
    # The past event's own page: no join link either.
    event_page = client.get(f"/t/acme/events/{over}").get_data(as_text=True)
    assert "This event has ended." in event_page and JOIN_WORDS not in event_page
    assert "You attended this event." in event_page


def test_nothing_yet_in_either_part_is_said_plainly(app):
    pid, client = me(app)
    factories.registration("acme", factories.event("acme"), pid)
    page = client.get("/t/acme/me/registrations").get_data(as_text=True)
    assert "No past event yet." in section(page, "past-heading")


def test_rate_this_event_shows_for_an_attended_event_while_the_window_is_open(app):
    pid, client = me(app)
    rateable = past_event("acme", title={"fr": "A", "en": "Rateable"})
    attendee("acme", rateable, pid)
    absent = past_event("acme", title={"fr": "B", "en": "Absent"})
    attendee("acme", absent, pid, attended=False)
    closed = past_event("acme", ended=timedelta(days=31), title={"fr": "C", "en": "Too late"})
    attendee("acme", closed, pid)

    page = client.get("/t/acme/me/registrations").get_data(as_text=True)
    rows = {title: row for row in re.findall(r"<tr id=\"registration-\d+\">.*?</tr>", page, re.S)
            for title in ("Rateable", "Absent", "Too late") if f">{title}</a>" in row}
    assert f'href="/t/acme/events/{rateable}/rating"' in rows["Rateable"]
    assert "Rate this event" in rows["Rateable"]
    assert "Rate this event" not in rows["Absent"]
    assert "You were registered; no attendance was recorded." in rows["Absent"]
    assert "Rate this event" not in rows["Too late"]

    # Once rated, the link leads to the participant's rating instead.
    assert client.post(f"/t/acme/events/{rateable}/rating",
                       data={"stars": "4", "comment": ""}).status_code == 303
    page = client.get("/t/acme/me/registrations").get_data(as_text=True)
    assert "Rate this event" not in page and "My rating" in page


def answers_of(pid: int) -> dict[int, object]:
    with tenants_api.tenant_context("acme") as session:
        return {a.field_id: a.value for a in session.scalars(
            select(Answer).where(Answer.participant_id == pid))}


def changes_of(registration: int) -> list[list[str]]:
    with tenants_api.tenant_context("acme") as session:
        return [c.fields for c in session.scalars(
            select(AnswerChange).where(AnswerChange.registration_id == registration)
            .order_by(AnswerChange.id))]


def test_a_registrant_changes_their_answers_before_the_start_and_the_organiser_sees_it(app):
    company = factories.custom_field("acme", required=True)
    pid, client = me(app, city="Lyon")
    event = factories.event("acme")
    with tenants_api.tenant_context("acme") as session:
        session.add(Answer(participant_id=pid, field_id=company, value="Initech"))
    factories.registration("acme", event, pid)
    registration = registration_id("acme", event, pid)
    url = f"/t/acme/me/registrations/{registration}/answers"

    form = client.get(url)
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert 'value="Initech"' in page and "Company" in page

    # The registration form's own checks: a required answer left blank changes nothing.
    refused = client.post(url, data={"first_name": "Ada", "last_name": "Tester",
                                     f"custom_{company}": "  "})
    assert refused.status_code == 422
    assert answers_of(pid) == {company: "Initech"} and changes_of(registration) == []

    saved = client.post(url, data={"first_name": "Ada", "last_name": "Tester",
                                   f"custom_{company}": "Globex"})
    assert saved.status_code == 303 and saved.headers["Location"] == "/t/acme/me/registrations"
    assert answers_of(pid) == {company: "Globex"}
    assert changes_of(registration) == [[f"field:{company}"]]
    assert "the organiser sees that they changed" in client.get(
        "/t/acme/me/registrations").get_data(as_text=True)

    # The same answers again: nothing is recorded.
    assert client.post(url, data={"first_name": "Ada", "last_name": "Tester",
                                  f"custom_{company}": "Globex"}).status_code == 303
    assert changes_of(registration) == [[f"field:{company}"]]

    # The organiser: a note on the roster, then the history (which questions, when).
    manager = sign_in_member(app.test_client(), "acme", "manager", in_english=True)
    roster = manager.get(f"/t/acme/admin/events/{event}/registrations").get_data(as_text=True)
    history_url = f"/t/acme/admin/registrations/{registration}/answers"
    assert "Answers changed on" in roster and history_url in roster
    history = manager.get(history_url)
    assert history.status_code == 200
    text = history.get_data(as_text=True)
    assert "Changes to the answers" in text and "Company" in text and "Globex" in text
    assert "Initech" not in text  # the former value is not kept
    with tenants_api.tenant_context("acme") as session:
        assert session.scalar(select(AccessLog).where(
            AccessLog.action == "participant.read",
            AccessLog.target == f"participant:{pid}")) is not None
    # A viewer sees the note but not the answers.
    viewer = sign_in_member(app.test_client(), "acme", "viewer", in_english=True)
    assert viewer.get(history_url).status_code == 403


def test_answers_cannot_change_once_the_event_has_started(app):
    company = factories.custom_field("acme")
    pid, client = me(app)
    start = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    started = factories.event("acme", starts_at=start, ends_at=start + timedelta(hours=2))
    with tenants_api.tenant_context("acme") as session:
        session.add(Answer(participant_id=pid, field_id=company, value="Initech"))
    registration = attendee("acme", started, pid, attended=False)
    url = f"/t/acme/me/registrations/{registration}/answers"

    assert client.get(url).status_code == 409
    refused = client.post(url, data={"first_name": "Ada", "last_name": "Tester",
                                     f"custom_{company}": "Globex"})
    assert refused.status_code == 409
    assert "until the event starts" in refused.get_data(as_text=True)
    assert answers_of(pid) == {company: "Initech"} and changes_of(registration) == []
    page = client.get("/t/acme/me/registrations").get_data(as_text=True)
    assert "Change my answers" not in page


def test_only_ones_own_live_registration_can_be_changed(app):
    pid, client = me(app)
    other = person("acme", "bob@example.org")
    event = factories.event("acme")
    factories.registration("acme", event, other)
    theirs = registration_id("acme", event, other)
    assert client.get(f"/t/acme/me/registrations/{theirs}/answers").status_code == 404
    factories.registration("acme", event, pid)
    mine = registration_id("acme", event, pid)
    assert client.post(f"/t/acme/me/registrations/{mine}/cancel",
                       data={"confirm": "1"}).status_code == 303
    assert client.get(f"/t/acme/me/registrations/{mine}/answers").status_code == 409
    visitor = app.test_client()
    assert visitor.get(f"/t/acme/me/registrations/{mine}/answers").status_code == 303


def test_the_history_goes_with_the_participants_data(app):
    pid, client = me(app)
    event = factories.event("acme")
    factories.registration("acme", event, pid)
    registration = registration_id("acme", event, pid)
    assert client.post(f"/t/acme/me/registrations/{registration}/answers",
                       data={"first_name": "Adele", "last_name": "Tester"}).status_code == 303
    assert changes_of(registration) == [["first_name"]]
    exported = client.get("/t/acme/me/privacy/my-data.json").get_json()
    [entry] = exported["registrations"]
    assert len(entry["answers_changed_at"]) == 1
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Participant, pid).first_name == "Adele"
