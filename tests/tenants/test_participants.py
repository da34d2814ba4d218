"""Participant accounts: sign-up with double opt-in, sign-in, reset, profile, visibility, lists.

Through the test client, with e-mails caught by the SMTP sink (``outbox``); links are followed
as a participant would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from core.clock import utcnow
from core.web.urls import external_url
from tenants import api as tenants_api
from tenants.audit.models import AccessLog
from tenants.fields.models import Answer
from tenants.participants import tasks
from tenants.participants.models import Participant, ParticipantLoginFailure, ParticipantToken
from tenants.registration.models import Registration
from tests import factories
from tests.fixtures.people import english
from tests.tenants.account_helpers import (
    PASSWORD,
    count,
    mail_to,
    max_visibility,
    modes,
    participant,
    path,
    person,
    signup_data,
    stored_answers,
    subjects,
)

CONFIRM = "Confirm your e-mail address"
ATTEMPT = "You already have an account"
RESET = "Choose a new password"


def registration_status(slug: str, participant_id: int) -> list[str]:
    with tenants_api.tenant_context(slug) as session:
        return list(session.scalars(select(Registration.status)
                                    .where(Registration.participant_id == participant_id)))


def age_tokens(slug: str, purpose: str, by: timedelta) -> None:
    """Move tokens back in time (as if issued ``by`` earlier)."""
    with tenants_api.tenant_context(slug) as session:
        for token in session.scalars(select(ParticipantToken)
                                     .where(ParticipantToken.purpose == purpose)):
            token.created_at -= by
            token.expires_at -= by


def signed_in_as(client, slug: str) -> str | None:  # type: ignore[no-untyped-def]
    """The e-mail shown on the profile page, or None when the client is sent to sign in."""
    response = client.get(f"/t/{slug}/me")
    if response.status_code != 200:
        return None
    page = response.get_data(as_text=True)
    start = page.index("<dd>") + 4
    return page[start:page.index("</dd>", start)]


# --- sign-up and confirmation ------------------------------------------------------------------


def test_signup_confirm_link_signs_in_and_confirms_the_registration(app, client, outbox):
    english(client)
    with app.app_context():
        event = factories.event("acme", capacity=10)
    page = client.get(f"/t/acme/events/{event}/signup")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Register for “Workshop”" in html and "is responsible for your data" in html

    response = client.post(f"/t/acme/events/{event}/signup",
                           data=signup_data("zoe@example.org"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/acme/signup/check-inbox"
    assert "Check your inbox" in client.get(response.headers["Location"]).get_data(as_text=True)

    zoe = person("acme", "zoe@example.org")
    assert zoe is not None and not zoe.is_confirmed
    assert (zoe.first_name, zoe.last_name, zoe.language) == ("Ada", "Lovelace", "en")
    assert registration_status("acme", zoe.id) == ["pending"]  # until the address is confirmed
    assert signed_in_as(client, "acme") is None

    message = mail_to(outbox, "zoe@example.org", CONFIRM)
    assert "“Workshop”" in outbox.text(message)
    [link] = [u for u in outbox.links(message) if "/confirm/" in u]
    assert link.startswith("http://127.0.0.1:5000/t/acme/confirm/")  # BASE_URL, not Host

    confirmed = client.get(path(link))
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"] == "/t/acme/me/registrations"
    assert person("acme", "zoe@example.org").is_confirmed
    assert registration_status("acme", zoe.id) == ["confirmed"]
    assert signed_in_as(client, "acme") == "zoe@example.org"

    # The link works once; afterwards it says the address is confirmed already.
    again = client.get(path(link))
    assert again.status_code == 200 and "already confirmed" in again.get_data(as_text=True)


def test_signup_without_event_creates_an_account_only(app, client, outbox):
    english(client)
    response = client.post("/t/acme/signup", data=signup_data("solo@example.org"))
    assert response.status_code == 303
    solo = person("acme", "solo@example.org")
    assert registration_status("acme", solo.id) == []
    text = outbox.text(mail_to(outbox, "solo@example.org", CONFIRM))
    assert "activate your account" in text


def test_bad_or_expired_confirmation_links_offer_a_new_one(app, client, outbox):
    english(client)
    assert client.get("/t/acme/confirm/not-a-token").status_code == 400
    client.post("/t/acme/signup", data=signup_data("late@example.org"))
    [link] = [u for u in outbox.links(mail_to(outbox, "late@example.org", CONFIRM))
              if "/confirm/" in u]
    age_tokens("acme", "confirm", timedelta(days=8))
    expired = client.get(path(link))
    assert expired.status_code == 410
    assert "Send me a new link" in expired.get_data(as_text=True)
    assert not person("acme", "late@example.org").is_confirmed

    outbox.clear()
    for email in ("late@example.org", "nobody@example.org"):  # the same answer for both
        answer = client.post("/t/acme/confirm/resend", data={"email": email})
        assert answer.status_code == 200
        assert "If this address has an account" in answer.get_data(as_text=True)
    assert [m["To"] for m in outbox.messages] == ["late@example.org"]
    [fresh] = [u for u in outbox.links(outbox.messages[0]) if "/confirm/" in u]
    assert client.get(path(fresh)).status_code == 303
    assert person("acme", "late@example.org").is_confirmed


def test_an_existing_address_gets_the_same_page_and_an_e_mail_not_a_second_account(
        app, client, outbox):
    english(client)
    with app.app_context():
        participant("acme", "ada@example.org", first_name="Ada")
    new = client.post("/t/acme/signup", data=signup_data("new@example.org"))
    outbox.clear()
    taken = client.post("/t/acme/signup",
                        data=signup_data("ADA@example.org", first_name="Mallory"))
    assert taken.status_code == new.status_code == 303
    assert taken.headers["Location"] == new.headers["Location"]
    assert count("acme") == 2
    assert person("acme", "ada@example.org").first_name == "Ada"  # nothing overwritten
    message = mail_to(outbox, "ada@example.org", ATTEMPT)
    assert [m["To"] for m in outbox.messages] == ["ada@example.org"]
    links = outbox.links(message)
    # A one-time sign-in link (a registrant without a password gets back in with it).
    assert any(link.startswith("http://127.0.0.1:5000/t/acme/login/link/") for link in links)
    assert not any("/confirm/" in link for link in links)  # confirmed already
    for _ in range(3):  # more tries: the same page, and no more e-mail for a while
        again = client.post("/t/acme/signup", data=signup_data("ada@example.org"))
        assert again.headers["Location"] == new.headers["Location"]
    assert len(outbox.messages) == 1


def test_the_same_address_in_two_tenants_is_two_independent_people(app, client, outbox):
    english(client)
    for slug in ("acme", "globex"):
        assert client.post(f"/t/{slug}/signup",
                           data=signup_data("twin@example.org",
                                            first_name=slug.title())).status_code == 303
    acme, globex = person("acme", "twin@example.org"), person("globex", "twin@example.org")
    assert (acme.first_name, globex.first_name) == ("Acme", "Globex")
    links = [u for m in outbox.messages for u in outbox.links(m) if "/confirm/" in u]
    acme_link = next(u for u in links if "/t/acme/" in u)
    # Acme's token means nothing to Globex.
    replayed = client.get(path(acme_link).replace("/t/acme/", "/t/globex/"))
    assert replayed.status_code == 400
    assert not person("globex", "twin@example.org").is_confirmed
    assert client.get(path(acme_link)).status_code == 303
    assert person("acme", "twin@example.org").is_confirmed
    assert not person("globex", "twin@example.org").is_confirmed


def test_a_sign_up_to_an_event_that_closed_meanwhile_keeps_nothing(app, client, outbox,
                                                                   monkeypatch):
    """The form is read and validated before the write lock; the event's state is read again
    under it. Closed in between (here by a write just before that read, as another writer's
    commit would be), the sign-up is refused: no account, no registration, no e-mail."""
    from tenants.events import services as event_services
    from tenants.events.models import Event
    from tenants.participants import views

    english(client)
    event = factories.event("acme")
    read_again = event_services.schedule

    def closed_first(session, event_id):  # type: ignore[no-untyped-def]
        session.execute(update(Event).where(Event.id == event_id)
                        .values(registration_closes_at=utcnow() - timedelta(minutes=1)))
        return read_again(session, event_id)

    monkeypatch.setattr(views.events, "schedule", closed_first)
    refused = client.post(f"/t/acme/events/{event}/signup", data=signup_data("late@example.org"))
    assert refused.status_code == 409
    assert "Registration for this event is closed." in refused.get_data(as_text=True)
    assert person("acme", "late@example.org") is None
    assert count("acme") == 0
    assert outbox.messages == []


def test_a_sign_up_found_open_under_the_lock_is_kept_if_the_deadline_passes_while_it_writes(
        app, client, outbox, clock, monkeypatch):
    """Registration is checked once, under the write lock, at one moment: a deadline passing
    while the account is being written does not turn the sign-up into an error."""
    from tenants.participants import views

    english(client)
    event = factories.event("acme", registration_closes_at=utcnow() + timedelta(minutes=5))
    create = views.services.create

    def slow_create(*args, **kwargs):  # type: ignore[no-untyped-def]
        made = create(*args, **kwargs)
        clock.advance(minutes=10)  # the deadline passes here
        return made

    monkeypatch.setattr(views.services, "create", slow_create)
    answer = client.post(f"/t/acme/events/{event}/signup", data=signup_data("just@example.org"))
    assert answer.status_code == 303
    just = person("acme", "just@example.org")
    assert registration_status("acme", just.id) == ["pending"]
    assert mail_to(outbox, "just@example.org", CONFIRM)


def test_closed_and_draft_events_take_no_sign_up(app, client):
    english(client)
    now = utcnow()
    with app.app_context():
        closed = factories.event("acme", registration_closes_at=now - timedelta(hours=1))
        draft = factories.event("acme", status="draft")
    page = client.get(f"/t/acme/events/{closed}/signup")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Registration for this event is closed." in html and 'name="password"' not in html
    refused = client.post(f"/t/acme/events/{closed}/signup", data=signup_data("x@example.org"))
    assert refused.status_code == 409
    assert client.get(f"/t/acme/events/{draft}/signup").status_code == 404
    assert client.get("/t/acme/events/99999999999999999999/signup").status_code == 404
    assert count("acme") == 0


def test_a_signed_in_participant_registers_from_the_event_page(app, client):
    with app.app_context():
        event = factories.event("acme")
        participant("acme", "ada@example.org")
    factories.participant_login(client, "acme", "ada@example.org")
    response = client.get(f"/t/acme/events/{event}/signup")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/t/acme/events/{event}"


# --- signing in --------------------------------------------------------------------------------


def test_sign_in_says_the_same_for_unknown_address_and_wrong_password(app, client):
    english(client)
    with app.app_context():
        participant("acme", "ada@example.org")
    wrong = client.post("/t/acme/login", data={"email": "ada@example.org", "password": "nope"})
    unknown = client.post("/t/acme/login", data={"email": "who@example.org", "password": "no"})
    assert wrong.status_code == unknown.status_code == 422
    message = "E-mail address or password is incorrect."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)

    ok = client.post("/t/acme/login", data={"email": "ADA@example.org", "password": PASSWORD,
                                            "next": "/t/acme/me"})
    assert ok.status_code == 303 and ok.headers["Location"] == "/t/acme/me"
    assert signed_in_as(client, "acme") == "ada@example.org"
    client.post("/t/acme/logout")
    assert signed_in_as(client, "acme") is None


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_site(app, client, target):
    with app.app_context():
        participant("acme", "ada@example.org")
    response = client.post("/t/acme/login", data={"email": "ada@example.org",
                                                  "password": PASSWORD, "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/t/acme/"


def test_sign_in_is_throttled_with_retry_after(app, client):
    with app.app_context():
        participant("acme", "ada@example.org")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert client.post("/t/acme/login", data={"email": "ada@example.org",
                                                  "password": "wrong"}).status_code == 422
    blocked = client.post("/t/acme/login", data={"email": "ada@example.org",
                                                 "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == app.config["LOGIN_FAILURE_WINDOW"]
    # Another tenant's participants are not affected.
    with app.app_context():
        participant("globex", "ada@example.org")
    assert factories.participant_login(client, "globex", "ada@example.org").status_code == 303


def test_an_unconfirmed_account_cannot_sign_in(app, client, outbox):
    english(client)
    client.post("/t/acme/signup", data=signup_data("new@example.org"))
    response = client.post("/t/acme/login", data={"email": "new@example.org",
                                                  "password": PASSWORD})
    assert response.status_code == 403
    assert "Confirm your e-mail address first" in response.get_data(as_text=True)
    assert signed_in_as(client, "acme") is None


def test_a_session_of_one_tenant_does_not_open_another(app, client):
    with app.app_context():
        participant("acme", "ada@example.org")
        participant("globex", "ada@example.org")
    factories.participant_login(client, "acme", "ada@example.org")
    assert signed_in_as(client, "acme") == "ada@example.org"
    assert signed_in_as(client, "globex") is None
    # Even acme's token copied under globex's key opens nothing there.
    with client.session_transaction() as cookie:
        cookie["p:globex"] = cookie["p:acme"]
    assert signed_in_as(client, "globex") is None
    assert signed_in_as(client, "acme") == "ada@example.org"


def test_profile_pages_send_visitors_to_sign_in(client):
    for url in ("/t/acme/me", "/t/acme/me/password"):
        response = client.get(url)
        assert response.status_code == 303
        assert response.headers["Location"] == f"/t/acme/login?next={url}"
    assert client.post("/t/acme/me/visibility", data={"visibility": "public"}).status_code == 303


# --- passwords ---------------------------------------------------------------------------------


def test_reset_by_e_mail_ends_every_other_session(app, client, outbox):
    english(client)
    with app.app_context():
        participant("acme", "ada@example.org")
    other = app.test_client()
    factories.participant_login(other, "acme", "ada@example.org")
    assert signed_in_as(other, "acme") == "ada@example.org"

    for email in ("nobody@example.org", "ada@example.org"):  # the same answer for both
        answer = client.post("/t/acme/password/forgot", data={"email": email})
        assert answer.status_code == 200
        assert "If this address has an account" in answer.get_data(as_text=True)
    assert [m["To"] for m in outbox.messages] == ["ada@example.org"]
    [link] = [u for u in outbox.links(mail_to(outbox, "ada@example.org", RESET))
              if "/password/reset/" in u]

    assert client.get(path(link)).status_code == 200
    weak = client.post(path(link), data={"password": "short", "password_confirm": "short"})
    assert weak.status_code == 422
    assert "Use at least 12 characters." in weak.get_data(as_text=True)
    new = "another sturdy passphrase"
    done = client.post(path(link), data={"password": new, "password_confirm": new})
    assert done.status_code == 303 and done.headers["Location"] == "/t/acme/me"
    assert signed_in_as(client, "acme") == "ada@example.org"
    assert signed_in_as(other, "acme") is None  # the other session ended

    assert client.get(path(link)).status_code == 410  # once only
    assert factories.participant_login(app.test_client(), "acme", "ada@example.org",
                                       new).status_code == 303
    assert factories.participant_login(app.test_client(), "acme",
                                       "ada@example.org").status_code == 422


def test_a_reset_confirms_the_address_and_its_pending_registrations(app, client, outbox):
    english(client)
    with app.app_context():
        event = factories.event("acme")
    client.post(f"/t/acme/events/{event}/signup", data=signup_data("new@example.org"))
    client.post("/t/acme/password/forgot", data={"email": "new@example.org"})
    [link] = [u for u in outbox.links(mail_to(outbox, "new@example.org", RESET))
              if "/password/reset/" in u]
    new = "another sturdy passphrase"
    assert client.post(path(link), data={"password": new,
                                         "password_confirm": new}).status_code == 303
    new_person = person("acme", "new@example.org")
    assert new_person.is_confirmed
    assert registration_status("acme", new_person.id) == ["confirmed"]


def test_reset_e_mails_are_not_sent_in_a_loop(app, client, outbox):
    with app.app_context():
        participant("acme", "ada@example.org")
    for _ in range(3):
        client.post("/t/acme/password/forgot", data={"email": "ada@example.org"})
    assert subjects(outbox, "ada@example.org") == [RESET]
    age_tokens("acme", "reset", timedelta(minutes=2))
    client.post("/t/acme/password/forgot", data={"email": "ada@example.org"})
    assert subjects(outbox, "ada@example.org") == [RESET, RESET]


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(app, client):
    english(client)
    with app.app_context():
        participant("acme", "adalovelace@example.org")
    other = app.test_client()
    factories.participant_login(other, "acme", "adalovelace@example.org")
    factories.participant_login(client, "acme", "adalovelace@example.org")
    new = "another sturdy passphrase"
    wrong = client.post("/t/acme/me/password", data={"current": "not it", "password": new,
                                                     "password_confirm": new})
    assert wrong.status_code == 422
    assert "Your current password is incorrect." in wrong.get_data(as_text=True)
    mine = client.post("/t/acme/me/password", data={
        "current": PASSWORD, "password": "my name is AdaLovelace!",
        "password_confirm": "my name is AdaLovelace!"})
    assert mine.status_code == 422
    assert "Do not use your e-mail address" in mine.get_data(as_text=True)
    done = client.post("/t/acme/me/password", data={"current": PASSWORD, "password": new,
                                                    "password_confirm": new})
    assert done.status_code == 303
    assert signed_in_as(client, "acme") == "adalovelace@example.org"  # this session stays
    assert signed_in_as(other, "acme") is None


# --- profile, visibility and lists ----------------------------------------------------------


def test_profile_edits_standard_fields_answers_and_language(app, client):
    english(client)
    modes("acme", city="optional", mobile_phone="optional")
    with app.app_context():
        company = factories.custom_field("acme", "text", position=1)
        topics = factories.custom_field(
            "acme", "multichoice", position=2, label={"fr": "Sujets", "en": "Topics"},
            options=[{"key": "a", "label": {"fr": "Aa", "en": "Alpha"}},
                     {"key": "b", "label": {"fr": "Bb", "en": "Beta"}}])
        ada = participant("acme", "ada@example.org", first_name="Ada",
                                              last_name="Lovelace", city="Paris")
    factories.participant_login(client, "acme", "ada@example.org")
    page = client.get("/t/acme/me").get_data(as_text=True)
    assert 'value="Paris"' in page and "ada@example.org" in page
    assert 'name="email"' not in page  # shown, not editable

    saved = client.post("/t/acme/me", data={
        "first_name": "Ada", "last_name": "King", "city": "Lyon", "mobile_phone": "",
        f"custom_{company}": "Analytical Engines", f"custom_{topics}": ["b", "a"],
        "email_language": "fr"})
    assert saved.status_code == 303
    row = person("acme", "ada@example.org")
    assert (row.last_name, row.city, row.language) == ("King", "Lyon", "fr")
    assert stored_answers("acme", ada) == {company: "Analytical Engines", topics: ["a", "b"]}
    page = client.get("/t/acme/me").get_data(as_text=True)
    assert "Your profile is saved." in page and 'value="Analytical Engines"' in page

    # Emptying an answer removes it; a refused form changes nothing.
    client.post("/t/acme/me", data={"first_name": "Ada", "last_name": "King",
                                    f"custom_{company}": "", "email_language": "en"})
    assert stored_answers("acme", ada) == {}
    refused = client.post("/t/acme/me", data={"first_name": "", "last_name": "X",
                                              "email_language": "de"})
    assert refused.status_code == 422
    assert person("acme", "ada@example.org").last_name == "King"


def test_visibility_stays_within_what_the_tenant_allows(app, client):
    english(client)
    with app.app_context():
        participant("acme", "ada@example.org")
    factories.participant_login(client, "acme", "ada@example.org")
    # The default maximum is "participants".
    assert client.post("/t/acme/me/visibility",
                       data={"visibility": "public"}).status_code == 422
    assert person("acme", "ada@example.org").visibility == "nobody"
    assert client.post("/t/acme/me/visibility",
                       data={"visibility": "participants"}).status_code == 303
    assert person("acme", "ada@example.org").visibility == "participants"
    max_visibility("acme", "public")
    assert client.post("/t/acme/me/visibility",
                       data={"visibility": "public"}).status_code == 303
    assert person("acme", "ada@example.org").visibility == "public"
    max_visibility("acme", "nobody")
    page = client.get("/t/acme/me").get_data(as_text=True)
    assert "does not show participant lists" in page and 'name="visibility"' not in page


def _set_visibility(slug: str, email: str, visibility: str) -> None:
    with tenants_api.tenant_context(slug) as session:
        session.execute(update(Participant).where(Participant.email == email)
                        .values(visibility=visibility))


def test_people_shows_first_name_and_initial_to_whom_each_person_chose(app, client,
                                                                       statements):
    english(client)
    max_visibility("acme", "public")
    with app.app_context():
        for email, first, last, visibility in [
                ("pub@example.org", "Paula", "Public", "public"),
                ("par@example.org", "Pierre", "Participant", "participants"),
                ("no@example.org", "Nadia", "Nobody", "nobody")]:
            participant("acme", email, first_name=first, last_name=last)
            _set_visibility("acme", email, visibility)
        tenants_api.add_participant("acme", email="unc@example.org", confirmed=False,
                                    first_name="Ulla", last_name="Unconfirmed")
        _set_visibility("acme", "unc@example.org", "public")
    visitor = client.get("/t/acme/people").get_data(as_text=True)
    assert "Paula P." in visitor
    assert "Public" not in visitor.replace("Paula P.", "")  # no full last name
    assert "Pierre" not in visitor and "Nadia" not in visitor and "Ulla" not in visitor

    factories.participant_login(client, "acme", "no@example.org")
    client.get("/t/acme/people")  # the tenant registry is cached: count tenant queries only
    with statements:
        member_view = client.get("/t/acme/people").get_data(as_text=True)
    assert "Paula P." in member_view and "Pierre P." in member_view
    assert "Nadia" not in member_view and "Pierre Participant" not in member_view
    few = statements.count

    with app.app_context():
        for i in range(20):
            participant("acme", f"p{i}@example.org", first_name=f"P{i}")
            _set_visibility("acme", f"p{i}@example.org", "participants")
    client.get("/t/acme/people")
    with statements:
        client.get("/t/acme/people")
    assert statements.count == few  # one query, whatever the number of people

    # A tenant that lowers its maximum hides those who chose more.
    max_visibility("acme", "participants")
    visitor = app.test_client()
    english(visitor)
    assert "Paula" not in visitor.get("/t/acme/people").get_data(as_text=True)
    max_visibility("acme", "nobody")
    assert "does not show participant lists" in client.get(
        "/t/acme/people").get_data(as_text=True)


# --- staff -------------------------------------------------------------------------------------


def test_staff_reading_a_record_is_logged_and_shows_answers(app, client):
    with app.app_context():
        field = factories.custom_field(
            "acme", "choice", label={"fr": "Niveau", "en": "Level"},
            options=[{"key": "old", "label": {"fr": "Ancien", "en": "Old"}, "archived": True},
                     {"key": "new", "label": {"fr": "Nouveau", "en": "New"}}])
        ada = participant("acme", "ada@example.org", first_name="Ada")
        with tenants_api.tenant_context("acme") as session:
            session.add(Answer(participant_id=ada, field_id=field, value="old"))
        factories.member("acme", "manager@acme.test", "manager")
        factories.member("acme", "viewer@acme.test", "viewer")
    factories.login(client, "viewer@acme.test")
    assert client.get(f"/t/acme/admin/participants/{ada}").status_code == 403
    factories.login(client, "manager@acme.test")
    english(client)
    page = client.get(f"/t/acme/admin/participants/{ada}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Level" in html and "Old (removed option)" in html
    assert client.get("/t/acme/admin/participants/99999999999").status_code == 404
    with tenants_api.tenant_context("acme") as session:
        logs = list(session.scalars(select(AccessLog)))
    assert [(log.action, log.target) for log in logs] == [("participant.read",
                                                           f"participant:{ada}")]
    assert logs[0].member_id is not None


def test_jobs_build_e_mail_links_from_the_public_address_without_a_request(app, outbox,
                                                                          monkeypatch):
    with app.app_context():
        ada = participant("acme", "ada@example.org")
        assert tasks.send_password_reset("acme", ada)  # as the worker runs it: no request
    [link] = [u for u in outbox.links(mail_to(outbox, "ada@example.org", RESET))
              if "/password/reset/" in u]
    assert link.startswith("http://127.0.0.1:5000/t/acme/password/reset/")
    monkeypatch.setitem(app.config, "BASE_URL", "https://events.example.org/parvis")
    with app.app_context():
        assert external_url("tenant.participants.confirm", tenant="acme", token="abc") == (
            "https://events.example.org/parvis/t/acme/confirm/abc")


def test_the_profile_block_is_refreshed_without_saving(app, client):
    english(client)
    with app.app_context():
        heard = factories.custom_field("acme", "checkbox", label={"fr": "Déjà venu",
                                                                  "en": "Came before"})
        when = factories.custom_field("acme", "date", position=2, label={"fr": "Quand",
                                                                          "en": "When"},
                                      condition_field_id=heard, condition_value="yes")
        participant("acme", "ada@example.org", first_name="Ada",
                                        last_name="Lovelace")
    factories.participant_login(client, "acme", "ada@example.org")
    page = client.get("/t/acme/me").get_data(as_text=True)
    assert "Answer only if you ticked “Came before”." in page
    fragment = client.post("/t/acme/me", headers={"HX-Request": "true"}, data={
        "preview": "1", "first_name": "Changed", "last_name": "Lovelace",
        f"custom_{heard}": "y"})
    assert fragment.status_code == 200
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="answer-fields"')
    assert f'name="custom_{when}"' in html
    assert person("acme", "ada@example.org").first_name == "Ada"
    unticked = client.post("/t/acme/me", headers={"HX-Request": "true"}, data={
        "preview": "1", "first_name": "Ada", "last_name": "Lovelace"})
    assert f'name="custom_{when}"' not in unticked.get_data(as_text=True)


# --- hostile input on the account forms --------------------------------------------------------

junk = st.one_of(st.text(), st.text(alphabet=st.characters(codec="utf-8"), min_size=1),
                 st.sampled_from(["\u202e", "' OR 1=1 --", "%00", "\ufeff", "\r\n",
                                  "nobody@example.org", "public", "de"]),
                 st.text(min_size=1, max_size=20).map(lambda t: (t * 10_000)[:100_000]))
FORMS = {"/t/acme/login": ("email", "password", "next"),
         "/t/acme/password/forgot": ("email",),
         "/t/acme/confirm/resend": ("email",),
         "/t/acme/me": ("first_name", "last_name", "email_language", "preview"),
         "/t/acme/me/visibility": ("visibility",),
         "/t/acme/me/password": ("current", "password", "password_confirm")}


BASELINE = {"first_name": "Ada", "last_name": "Lovelace", "visibility": "nobody",
            "language": "fr"}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.sampled_from(sorted(FORMS)), data=st.data())
def test_junk_on_the_account_forms_never_fails_and_refusals_change_nothing(
        app, client, outbox, url, data):
    # Examples share the database: each starts from the same account, unthrottled.
    with app.app_context():
        if person("acme", "ada@example.org") is None:
            participant("acme", "ada@example.org")
        with tenants_api.tenant_context("acme") as session:
            session.execute(update(Participant).values(**BASELINE))
            session.execute(delete(ParticipantLoginFailure))
    outbox.clear()
    factories.participant_login(client, "acme", "ada@example.org")
    values = data.draw(st.dictionaries(st.sampled_from(FORMS[url]), junk))
    response = client.post(url, data=values)
    if any("\x00" in value for value in values.values()):
        assert response.status_code == 400
    assert response.status_code < 500 and response.mimetype == "text/html"
    ada = person("acme", "ada@example.org")
    if response.status_code >= 400:
        assert {key: getattr(ada, key) for key in BASELINE} == BASELINE
    assert count("acme") == 1 and outbox.messages == []


def test_sign_up_records_the_notice_version_and_the_opt_in_in_the_consent_ledger(app, client):
    from tenants.consent import ledger as consent_ledger
    from tenants.participants.forms import PRIVACY_NOTE_VERSION

    english(client)
    page = client.get("/t/acme/signup").get_data(as_text=True)
    assert 'type="checkbox"' in page and "news of this organisation" in page
    assert 'name="marketing" type="checkbox" value="y">' in page  # unticked by default
    client.post("/t/acme/signup", data=signup_data("news@example.org", marketing="y"))
    client.post("/t/acme/signup", data=signup_data("quiet@example.org"))
    with tenants_api.tenant_context("acme") as session:
        for email, opted_in in (("news@example.org", True), ("quiet@example.org", False)):
            [entry] = consent_ledger.history(session, person("acme", email).id)
            assert entry.kind == "registration"
            assert entry.choices == {"privacy": PRIVACY_NOTE_VERSION, "terms": "",
                                     "marketing": opted_in}


def test_a_taken_address_costs_the_same_hashing_as_a_new_one(app, client, monkeypatch):
    from core.web import passwords

    calls: list[str] = []
    real = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda pw: calls.append(pw) or real(pw))
    with app.app_context():
        participant("acme", "ada@example.org")
    calls.clear()
    client.post("/t/acme/signup", data=signup_data("new@example.org"))
    new = len(calls)
    calls.clear()
    client.post("/t/acme/signup", data=signup_data("ada@example.org"))
    assert new == len(calls) == 1
