""""My registrations" in Chromium, French and English, checked with axe-core (issue 19,
item 6): the demo participant sees upcoming and past registrations, rates the demo's past
event from there, and changes their answers for an upcoming one; the organiser then finds the
change on the event's registrations. Texts are compared through the translation catalogues."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import LiveServer, from_child
from tests.fixtures.browser import (
    accessibility,
    member_sign_in,
    participant_sign_in,
    shot,
    t,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _participant(settings: dict, email: str, pipe) -> None:  # type: ignore[no-untyped-def]
    """In a child process: a demo participant of our own, with a known password, registered
    to the demo's first coming event and having attended its past one."""
    from sqlalchemy import select

    from core.clock import utcnow
    from tenants import api as tenants_api
    from tenants.events.models import Event
    from tenants.participants.models import Participant
    from tenants.registration import services
    from tenants.registration.models import Registration
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.confirmed_participant("demo", email, first_name="Noor", last_name="Haddad",
                                        language="en")
        with tenants_api.tenant_context("demo") as session:
            me = session.scalar(select(Participant).where(Participant.email == email))
            coming = session.scalars(select(Event).where(Event.starts_at > utcnow())
                                     .order_by(Event.starts_at)).first()
            past = session.scalars(select(Event).where(Event.ends_at < utcnow())).first()
            services.register(session, coming, me)
            session.add(Registration(event_id=past.id, participant_id=me.id,
                                     status="confirmed", created_at=past.starts_at,
                                     confirmed_at=past.starts_at, attended_at=past.starts_at))
            found = (coming.id, coming.title, past.id, past.title)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()
    pipe.send(found)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_my_registrations_rate_and_change_answers(page: Page, live_server: LiveServer,
                                                  language: str):
    email = f"noor.{language}@example.org"
    coming_id, coming, past_id, past = from_child(  # type: ignore[misc]
        _participant, live_server.settings, email)
    participant_sign_in(page, live_server, "demo", email, language, factories.PASSWORD)
    page.goto(f"{live_server.url}/t/demo/me/registrations")
    upcoming = page.locator("section", has=page.locator("#upcoming-heading"))
    gone = page.locator("section", has=page.locator("#past-heading"))
    expect(upcoming.get_by_role("link", name=coming[language], exact=True)).to_be_visible()
    expect(gone.get_by_role("link", name=past[language], exact=True)).to_be_visible()
    expect(gone).to_contain_text(t(language, "You attended this event."))
    shot(page, f"my-registrations-{language}")
    found = accessibility(page, f"{language}-my-registrations")

    # Rate the past event from there.
    gone.get_by_role("link", name=f"{t(language, 'Rate this event')} — {past[language]}").click()
    expect(page).to_have_url(f"{live_server.url}/t/demo/events/{past_id}/rating")
    page.get_by_label(t(language, "4 stars: good")).check()
    page.get_by_role("button", name=t(language, "Send my rating")).click()
    page.goto(f"{live_server.url}/t/demo/me/registrations")
    expect(gone.get_by_role("link", name=f"{t(language, 'My rating')} — {past[language]}")
           ).to_be_visible()

    # Change the answers for the coming event.
    upcoming.get_by_role(
        "link", name=f"{t(language, 'Change my answers')} — {coming[language]}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Change my answers"))
    found += accessibility(page, f"{language}-change-answers")
    page.get_by_label(t(language, "City")).fill("Marseille")
    # The demo's required question (tenant texts, in the page's language).
    page.get_by_label({"fr": "Bouche à oreille", "en": "Word of mouth"}[language]).check()
    page.locator("main form.registration-form button[type=submit]").click()
    expect(page.get_by_role("status").first).to_contain_text(
        t(language, "Your answers are saved; the organiser sees that they changed."))
    found += accessibility(page, f"{language}-my-registrations-after")
    assert found == []

    # The organiser sees it on the event's registrations.
    context = page.context.browser.new_context()  # type: ignore[union-attr]
    organiser = context.new_page()
    try:
        roster = f"{live_server.url}/t/demo/admin/events/{coming_id}/registrations"
        member_sign_in(organiser, roster, live_server.owner_email, language,
                       password=live_server.owner_password)
        expect(organiser.locator("main")).to_contain_text(
            t(language, "Answers changed on %(when)s", when="").strip())
        organiser.locator("main a[href$='/answers']").first.click()
        expect(organiser.locator("main")).to_contain_text(t(language, "City"))
    finally:
        context.close()
