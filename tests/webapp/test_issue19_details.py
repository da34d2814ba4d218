"""The smaller findings of issue 19 (item 8), each fixed: dates formatted like the rest of the
interface, the approvals count after an htmx decision, the favicon, numbers formatted for the
reader's language, the demo (its owner's account, a past event to rate), the French wording,
and the DPA's scrolling text reachable by keyboard. (The operator console's links: the link
walk in test_ops_links.py.)"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.consent.models import ConsentEntry
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tests import factories
from tests.fixtures.people import english, sign_in_member, sign_in_participant
from tests.tenants.ratings_helpers import past_event, ratings
from tests.tenants.registration_helpers import person, registration_id
from tests.tenants.test_consent import add_service, choose
from tests.webapp.billing_fixtures import new_organisation
from webapp import db
from webapp.billing import services as billing

ISO_DAY = re.compile(r"\b20\d\d-\d\d-\d\d\b")


# The zone a page shows days in (the tenant's, by default BABEL_DEFAULT_TIMEZONE): from 23:00
# UTC its day is already the next one.
PAGE_ZONE = ZoneInfo("Europe/Paris")


def french(client):  # type: ignore[no-untyped-def]
    with client.session_transaction() as cookie:
        cookie["lang"] = "fr"
    return client


# --- dates ------------------------------------------------------------------------------------


def test_the_privacy_page_shows_days_as_the_rest_of_the_interface(app):
    pid = person("acme", "ada@example.org")
    event = factories.event("acme")
    factories.registration("acme", event, pid)
    client = sign_in_participant(english(app.test_client()), "acme", pid)
    page = client.get("/t/acme/me/privacy").get_data(as_text=True)
    with tenants_api.tenant_context("acme") as session:
        made = session.scalar(select(Registration.created_at).where(
            Registration.id == registration_id("acme", event, pid)))
    # Flask-Babel's medium date in English ("Dec 6, 2026") in the page's zone, never the ISO
    # string.
    assert format_date(made.astimezone(PAGE_ZONE), "medium", locale="en") in page
    assert made.date().isoformat() not in page


def test_cookie_settings_say_until_when_in_words(app, client):
    add_service()
    choose(client, "accept")
    with tenants_api.tenant_context("acme") as session:
        expires = session.scalar(select(ConsentEntry.expires_at).order_by(
            ConsentEntry.id.desc()).limit(1))
    page = french(client).get("/t/acme/cookies").get_data(as_text=True)
    until = format_date(expires.astimezone(PAGE_ZONE), "medium", locale="fr")
    assert f"jusqu'au {until}" in page.replace("&#39;", "'")
    assert expires.date().isoformat() not in page


# --- the approvals count after an htmx decision ------------------------------------------------


def test_approving_through_htmx_updates_the_queue_count(app, client):
    event = factories.event("acme", approval="manual")
    ids = []
    for n in range(3):
        pid = person("acme", f"p{n}@example.org")
        factories.registration("acme", event, pid)
        ids.append(registration_id("acme", event, pid))
    sign_in_member(client, "acme", "manager", in_english=True)
    page = client.get("/t/acme/admin/approvals").get_data(as_text=True)
    assert '<p id="approvals-count">3 registrations awaiting approval</p>' in page

    row = client.post(f"/t/acme/admin/registrations/{ids[0]}/approve",
                      data={"view": "approvals"}, headers={"HX-Request": "true"})
    assert row.status_code == 200
    body = row.get_data(as_text=True)
    # The row first (htmx swaps it), then the count, swapped out of band.
    assert body.lstrip().startswith(f'<tr id="registration-{ids[0]}">')
    assert ('<p id="approvals-count" hx-swap-oob="true">2 registrations awaiting approval</p>'
            in body)
    refused = client.post(f"/t/acme/admin/registrations/{ids[1]}/refuse",
                          data={"view": "roster"}, headers={"HX-Request": "true"})
    text = refused.get_data(as_text=True)
    assert 'id="roster-counts" hx-swap-oob="true"' in text
    assert "Awaiting approval: 1" in text and "Refused: 1" in text and "Confirmed: 1" in text


# --- favicon, numbers, the DPA --------------------------------------------------------------


def test_the_favicon_is_served_and_linked(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.data.startswith(b"<svg")
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in page
    with client.get("/static/favicon.svg") as linked:
        assert linked.status_code == 200


def test_plan_limits_read_the_same_on_the_subscription_and_plans_pages(ctx, client):
    owner, tenant = new_organisation("club", "owner@club.test")
    billing.start_trial(db.session(), owner, tenant, "team")
    db.commit()
    factories.login(client, "owner@club.test")
    french(client)
    subscription = client.get("/organisations/club/subscription").get_data(as_text=True)
    plans = client.get("/signup").get_data(as_text=True)
    five_thousand = "5\u202f000"  # French groups thousands with a narrow no-break space
    assert five_thousand in subscription and five_thousand in plans
    assert "5000" not in subscription


def test_the_dpa_text_scrolls_within_reach_of_the_keyboard(client):
    page = client.get("/legal/dpa").get_data(as_text=True)
    article = re.search(r"<article[^>]*>", page).group(0)
    assert 'tabindex="0"' in article and 'aria-labelledby="dpa-title"' in article
    assert '<h1 id="dpa-title">' in page


# --- French wording ---------------------------------------------------------------------------


def test_french_wording(app, client):
    french(client)
    signup = client.get("/signup/account?plan=team").get_data(as_text=True)
    assert ">Modifier<" in signup and "Changement" not in signup

    admin = french(sign_in_member(app.test_client(), "acme", "admin"))
    events = admin.get("/t/acme/admin/events").get_data(as_text=True)
    assert ">Annulés<" in events and ">Brouillons<" in events

    pid = person("acme", "zoe@example.org")
    me = french(sign_in_participant(app.test_client(), "acme", pid))
    privacy = me.get("/t/acme/me/privacy").get_data(as_text=True)
    assert "Aucune réponse." in privacy and "Aucun." not in privacy.split("Avis")[0]

    event = factories.event("acme")
    factories.registration("acme", event, pid)
    mine = me.get("/t/acme/me/registrations").get_data(as_text=True)
    assert "lien de connexion" not in mine and "lien pour rejoindre" in mine

    over = past_event("acme")
    [rating_id] = ratings("acme", over, [4], status="pending")
    moderator = french(sign_in_member(app.test_client(), "acme", "moderator"))
    queue = moderator.get("/t/acme/admin/ratings").get_data(as_text=True)
    assert "envoyé le" in queue and "publié le" not in queue
    assert rating_id


# --- the demo ---------------------------------------------------------------------------------


def test_the_demo_is_set_up_and_has_a_past_event_to_rate(app):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    owner_password = re.search(r"owner@demo\.example / (\S+)", result.output).group(1)
    owner = english(app.test_client())
    assert factories.login(owner, "owner@demo.example", owner_password).status_code == 303
    account = owner.get("/account").get_data(as_text=True)
    assert "Association Démo" in account and "being set up" not in account

    with tenants_api.tenant_context("demo") as session:
        rose = session.scalar(select(Participant.id).where(
            Participant.email == "rose.fournier@example.org"))
        attended = session.scalars(select(Registration).where(
            Registration.attended_at.is_not(None))).all()
    assert attended and all(r.attended_at < utcnow() for r in attended)
    assert rose in {r.participant_id for r in attended}
    client = sign_in_participant(english(app.test_client()), "demo", rose)
    mine = client.get("/t/demo/me/registrations").get_data(as_text=True)
    assert "Rate this event" in mine
    assert utcnow() - max(r.attended_at for r in attended) < timedelta(days=30)

