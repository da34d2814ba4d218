"""Public pages served from a copy (tenants/pagecache.py): who gets one, what differs per
visitor, and when a copy is dropped."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from core import kept
from tenants import api as tenants_api
from tenants import pagecache
from tenants.events.models import Event
from tenants.participants import services as participants
from tests import factories

TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')  # the layout's, on every page


def warm(client: FlaskClient, path: str) -> str:
    """Visit twice: the first visit may create rows (settings) and so drop its own copy."""
    client.get(path)
    return client.get(path).get_data(as_text=True)


@pytest.fixture
def event_id(app: Flask) -> int:
    with app.app_context():
        return factories.event("acme", title={"fr": "Atelier", "en": "Workshop"})


def test_a_visitor_gets_a_copy_without_a_query(app, client, event_id, statements):
    path = f"/t/acme/events/{event_id}/signup"
    page = warm(client, path)
    with statements:
        again = client.get(path)
    assert again.status_code == 200 and statements.count == 0
    assert again.get_data(as_text=True) == page
    assert again.headers["Content-Security-Policy"] and "HX-Request" in again.headers["Vary"]


def test_a_change_to_the_tenant_shows_at_once(app, client, event_id):
    path = f"/t/acme/events/{event_id}"
    assert "Atelier" in warm(client, path)
    with tenants_api.tenant_context("acme", writer=True) as session:
        session.execute(update(Event).where(Event.id == event_id)
                        .values(title={"fr": "Conférence", "en": "Talk"}))
    page = client.get(path).get_data(as_text=True)
    assert "Conférence" in page and "Atelier" not in page


def test_writes_to_tables_no_page_shows_keep_the_copy(app, client, event_id, statements):
    path = f"/t/acme/events/{event_id}"
    warm(client, path)
    with app.app_context():
        person = factories.confirmed_participant("acme", "ada@example.org")
    warm(client, path)  # a new participant: pages may list people, the copy went
    with tenants_api.tenant_context("acme", writer=True) as session:  # a sign-in elsewhere
        participants.issue_token(session, participants.get(session, person), "session",
                                 timedelta(hours=1))
    with statements:
        client.get(path)
    assert statements.count == 0


def test_each_visitor_gets_their_own_csrf_token(app, event_id, statements):
    path = f"/t/acme/events/{event_id}/signup"
    first, second = app.test_client(), app.test_client()
    mine = TOKEN.search(warm(first, path)).group(1)
    with statements:
        theirs_page = second.get(path).get_data(as_text=True)
    assert statements.count == 0  # the same copy
    theirs = TOKEN.search(theirs_page).group(1)
    assert mine != theirs and mine not in theirs_page


def test_a_token_from_a_copy_is_accepted(make_app, event_id):
    strict = make_app(WTF_CSRF_ENABLED=True)
    client = strict.test_client()
    path = f"/t/acme/events/{event_id}/signup"
    with strict.app_context():
        pagecache.clear()
    warm(client, path)
    page = client.get(path).get_data(as_text=True)  # from the copy
    token = TOKEN.search(page).group(1)
    form = {"csrf_token": token, "email": "grace@example.org", "first_name": "Grace",
            "last_name": "Hopper", "password": "correct horse battery staple",
            "password_confirm": "correct horse battery staple"}
    assert client.post(path, data=form).status_code == 303
    form["csrf_token"] = token[:-2] + "xx"
    assert client.post(path, data=dict(form, email="other@example.org")).status_code == 400


def test_signed_in_people_and_htmx_requests_get_the_view(app, client, event_id):
    path = f"/t/acme/events/{event_id}"
    anonymous = warm(client, path)
    with app.app_context():
        factories.confirmed_participant("acme", "ada@example.org")
    factories.participant_login(client, "acme", "ada@example.org")
    signed_in = client.get(path).get_data(as_text=True)
    assert signed_in != anonymous and "/t/acme/logout" in signed_in
    assert "/t/acme/logout" not in app.test_client().get(path).get_data(as_text=True)
    fragment = client.get(path, headers={"HX-Request": "true"})
    assert fragment.status_code == 200


def test_each_language_has_its_own_copy(app, client, english, event_id):
    path = f"/t/acme/events/{event_id}"
    assert "Atelier" in warm(client, path)
    assert "Workshop" in warm(english(app.test_client()), path)
    assert "Atelier" in client.get(path).get_data(as_text=True)


def test_a_copy_expires(app, client, event_id, monkeypatch, statements):
    path = f"/t/acme/events/{event_id}"
    warm(client, path)
    now = kept.time.monotonic()
    monkeypatch.setattr(kept.time, "monotonic", lambda: now + pagecache.SECONDS + 1)
    with statements:
        client.get(path)
    assert statements.count > 0


def test_only_whole_pages_are_kept(app, client, event_id):
    missing = "/t/acme/events/999999"
    assert client.get(missing).status_code == 404
    assert client.get(f"/t/acme/events/{event_id}/signup?preview=1").status_code == 200
    with app.app_context():
        paths = {key[1] for key in pagecache._store()}
    assert missing not in paths and f"/t/acme/events/{event_id}/signup?preview=1" in paths


def test_a_change_made_by_another_process_shows_at_once(app, make_app, client, event_id):
    """Another worker of the same instance folder: its own engines and its own mapping of the
    shared generations (``<instance>/page-generations``)."""
    path = f"/t/acme/events/{event_id}"
    assert "Atelier" in warm(client, path)
    other = make_app()
    with other.app_context(), tenants_api.tenant_context("acme", writer=True) as session:
        session.execute(update(Event).where(Event.id == event_id)
                        .values(title={"fr": "Conférence", "en": "Talk"}))
    assert other.extensions["parvis_page_generations"] is not \
        app.extensions["parvis_page_generations"]
    page = client.get(path).get_data(as_text=True)
    assert "Conférence" in page and "Atelier" not in page


def test_copies_can_be_turned_off(make_app, event_id, statements):
    client = make_app(PAGE_COPIES=False).test_client()
    path = f"/t/acme/events/{event_id}"
    warm(client, path)
    with statements:
        assert client.get(path).status_code == 200
    assert statements.count > 0  # rendered: the event read again
