"""The staff's participants list and an event's dashboard (issue 19, items 5 and 7), in
Chromium, in French and English: search and filters (live through htmx, and without
JavaScript), the restricted mark, the export link; the dashboard's charts drawn without
JavaScript, each with its data table; axe-core finds no serious or critical issue on either
page, and no page reports a CSP violation."""

from __future__ import annotations

import re
import secrets
from multiprocessing.connection import Connection

import pytest
from playwright.sync_api import Browser, expect

from tests import factories
from tests.browser.conftest import LiveServer, Pages, from_child
from tests.fixtures.browser import (
    accessibility,
    choose_language,
    fill_sign_in,
    member_sign_in,
    shot,
    t,
    tn,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TITLE = {"fr": "Atelier d'écriture", "en": "Writing workshop"}


def _seed(settings: dict, slug: str, pipe: Connection) -> None:
    """In a child process: a tenant and its manager, an event that ended yesterday with 8
    confirmed registrants (6 attended, 5 ratings), a choice field, one restricted person."""
    from datetime import timedelta

    from core.clock import utcnow
    from tenants import api as tenants_api
    from tenants.events.models import Event
    from tenants.fields.models import Answer, CustomField
    from tenants.ratings import services
    from tenants.ratings.models import Rating
    from tenants.registration.models import Registration
    from tenants.rights.models import PrivacyChoices
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Tableau", language="fr")
        factories.member(slug, f"manager@{slug}.example.org", "manager")
        with tenants_api.tenant_context(slug) as session:
            now = utcnow()
            event = Event(title=TITLE, starts_at=now - timedelta(days=1, hours=2),
                          ends_at=now - timedelta(days=1), status="published", seats_taken=8)
            field = CustomField(type="choice", label={"fr": "Niveau", "en": "Level"},
                                purpose={"fr": "Groupes", "en": "Groups"},
                                options=[{"key": "a", "label": {"fr": "Débutant",
                                                                "en": "Beginner"}},
                                         {"key": "b", "label": {"fr": "Expert",
                                                                "en": "Expert"}}])
            session.add_all([event, field])
            session.flush()
        ids = [tenants_api.add_participant(
            slug, email=f"p{i}@{slug}.example.org", password="Un mot de passe solide 42",
            first_name=f"Prénom{i}", last_name=f"Nom{i}", language="fr") for i in range(8)]
        with tenants_api.tenant_context(slug) as session:
            for i, pid in enumerate(ids):
                session.add(Registration(
                    event_id=event.id, participant_id=pid, status="confirmed",
                    created_at=now - timedelta(days=6 - i % 3),
                    confirmed_at=now - timedelta(days=5),
                    attended_at=now - timedelta(days=1) if i < 6 else None))
                session.add(Answer(participant_id=pid, field_id=field.id,
                                   value="a" if i < 6 else "b"))
                if i < 5:
                    session.add(Rating(event_id=event.id, participant_id=pid, stars=4 + i % 2,
                                       comment="", status="published", created_at=now))
            session.add(PrivacyChoices(participant_id=ids[7], restricted_at=now))
            session.flush()
            services.recount(session, event.id)
            pipe.send(event.id)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_participants_list_and_dashboard(pages: Pages, browser: Browser,
                                         live_server: LiveServer, language: str) -> None:
    slug = f"tableau-{language}-{secrets.token_hex(3)}"
    event_id = from_child(_seed, live_server.settings, slug)
    found: list[str] = []
    email = f"manager@{slug}.example.org"

    # 1. The participants list: live search (htmx), the restricted mark, the export link.
    page = pages.open()
    list_url = f"{live_server.url}/t/{slug}/admin/participants"
    member_sign_in(page, list_url, email, language)
    caption = page.locator("#results caption")
    expect(caption).to_have_text(tn(language, "%(num)d participant", "%(num)d participants", 8))
    expect(page.locator("#results .badge-restricted")).to_have_count(1)
    found += accessibility(page, f"{language}-participants-list")
    page.get_by_label(t(language, "Search (name or e-mail)")).fill("nom3")
    expect(caption).to_have_text(tn(language, "%(num)d participant", "%(num)d participants", 1))
    expect(page).to_have_url(re.compile(r"q=nom3"))
    page.get_by_label(t(language, "Search (name or e-mail)")).fill("")
    page.get_by_label(t(language, "Processing restricted")).select_option("yes")
    expect(caption).to_have_text(tn(language, "%(num)d participant", "%(num)d participants", 1))
    export = page.get_by_role("link", name=t(language, "Download this list (CSV)"))
    expect(export).to_have_attribute("href", re.compile(r"participants\.csv\?restricted=yes"))
    found += accessibility(page, f"{language}-participants-filtered")
    if language == "fr":
        shot(page, "participants-list-fr")

    # 2. The dashboard, in a browser without JavaScript: charts and tables are in the HTML.
    context = browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        board_url = f"{live_server.url}/t/{slug}/admin/events/{event_id}/dashboard"
        plain.goto(f"{live_server.url}/login?next=/t/{slug}/admin/events/{event_id}/dashboard")
        fill_sign_in(plain, email, factories.PASSWORD)
        expect(plain).to_have_url(board_url)
        charts = plain.locator("figure.chart")
        expect(charts).to_have_count(3)
        for i in range(3):
            chart = charts.nth(i)
            expect(chart.locator("svg[role=img]")).to_be_visible()
            expect(chart.locator("details table")).to_have_count(1)
    finally:
        context.close()

    # 3. The same with JavaScript, in the reader's language, checked by axe.
    page.goto(board_url)
    choose_language(page, language)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t(language, "Dashboard: %(title)s", title=TITLE[language]))
    level = page.locator("figure.chart").filter(has_text=t(language, "Data table")).last
    level.locator("summary").click()
    row = level.get_by_role("row").filter(has_text="Expert")
    expect(row).to_contain_text(t(language, "fewer than %(num)d", num=5))
    found += accessibility(page, f"{language}-dashboard")
    if language == "fr":
        shot(page, "dashboard-fr")
    assert found == []
