"""From the form to the rating, in Chromium, in French and English, checked with axe-core
(issue 19, acceptance): a visitor registers with the form alone, confirms from the e-mail,
joins the event through the personal link of the confirmation e-mail (Parvis records the
attendance, then hands over to the meeting room), and once the event is over rates it from
"My registrations" — the ratings window opened by the recorded attendance, not by staff.

The meeting room would be another site; here it is the live server's health check (Chromium
does not let a test answer a request reached by a redirect, and there is no network). Time
passing is played by a child process moving the event and its registration
three hours back, as if the test had waited.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import LiveServer, Pages, from_child
from tests.fixtures.browser import accessibility, choose_language, label, on_server, shot, t
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TITLE = {"fr": "Atelier en ligne", "en": "Online workshop"}


def _seed(settings: dict, slug: str, room: str, pipe) -> None:  # type: ignore[no-untyped-def]
    """In a child process: a French tenant and an event starting in 10 minutes (its join
    link opens 15 minutes before the start, by default)."""
    from core.clock import utcnow
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis En Ligne", language="fr")
        start = utcnow().replace(microsecond=0) + timedelta(minutes=10)
        event = factories.event(slug, title=TITLE, capacity=10, starts_at=start,
                                ends_at=start + timedelta(hours=1), join_url=room)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()
    pipe.send(event)


def _attended(settings: dict, slug: str, email: str, pipe) -> None:  # type: ignore[no-untyped-def]
    """In a child process: whether the registration of ``email`` has its attendance recorded."""
    from sqlalchemy import select

    from tenants import api as tenants_api
    from tenants.participants.models import Participant
    from tenants.registration.models import Registration
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context(), tenants_api.tenant_context(slug) as session:
        attended = session.scalar(select(Registration.attended_at).join(Participant).where(
            Participant.email == email))
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()
    pipe.send(attended is not None)


def _three_hours_later(settings: dict, slug: str, event_id: int, pipe) -> None:  # type: ignore[no-untyped-def]
    """In a child process: the event and its registrations moved three hours back, so the
    event ended two hours ago and the attendance was recorded before it started."""
    from sqlalchemy import select

    from tenants import api as tenants_api
    from tenants.events.models import Event
    from tenants.registration.models import Registration
    from webapp.app import create_app

    back = timedelta(hours=3)
    app = create_app(settings)
    with app.app_context(), tenants_api.tenant_context(slug) as session:
        event = session.get(Event, event_id)
        event.starts_at, event.ends_at = event.starts_at - back, event.ends_at - back
        for registration in session.scalars(select(Registration).where(
                Registration.event_id == event_id)):
            for name in ("created_at", "confirmed_at", "attended_at"):
                if getattr(registration, name) is not None:
                    setattr(registration, name, getattr(registration, name) - back)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()
    pipe.send(True)


def _mail_with(sink: SMTPSink, to: str, part: str) -> str:
    """The link containing ``part`` in the first e-mail to ``to`` that has one."""
    message = sink.wait_for(lambda m: m["To"] == to and part in SMTPSink.text(m), timeout=15)
    [link] = [line.strip() for line in SMTPSink.text(message).splitlines() if part in line]
    return link


@pytest.mark.parametrize("language", ["fr", "en"])
def test_register_confirm_join_then_rate(pages: Pages, live_server: LiveServer,
                                         mail_sink: SMTPSink, language: str):
    slug = f"join-{language}-{secrets.token_hex(3)}"
    email = f"ines@{slug}.example.org"
    room = f"{live_server.url}/healthz?room={slug}"
    event = from_child(_seed, live_server.settings, slug, room)
    title = TITLE[language]
    found: list[str] = []
    page: Page = pages.open()

    # 1. Register with the form alone.
    page.goto(f"{live_server.url}/t/{slug}/events/{event}")
    choose_language(page, language)
    assert "room=" not in page.content()  # the meeting address is never on a public page
    page.get_by_role("link", name=t(language, "Register"), exact=True).click()
    page.locator("#email").fill(email)
    page.locator("#first_name").fill("Inès")
    page.locator("#last_name").fill("Moreau")
    expect(label(page, language, "Password (optional)")).to_have_value("")
    page.locator("main form.registration-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/signup/check-inbox$"))

    # 2. One click in the e-mail confirms the address and the registration.
    page.goto(on_server(live_server, _mail_with(mail_sink, email, "/confirm/")))
    expect(page).to_have_url(re.compile(r"/me/registrations$"))
    upcoming = page.locator("section", has=page.locator("#upcoming-heading"))
    expect(upcoming.get_by_role("row").filter(has_text=title)).to_contain_text(
        t(language, "Add to calendar"))
    found += accessibility(page, f"{language}-my-registrations-upcoming")

    # 3. The confirmation e-mail's personal link: attendance recorded, then the meeting room.
    join = _mail_with(mail_sink, email, f"/t/{slug}/join/")
    assert from_child(_attended, live_server.settings, slug, email) is False
    page.goto(on_server(live_server, join))
    expect(page).to_have_url(room)
    assert from_child(_attended, live_server.settings, slug, email) is True

    # 4. After the event, "My registrations" offers to rate it; the rating is saved.
    from_child(_three_hours_later, live_server.settings, slug, event)
    page.goto(f"{live_server.url}/t/{slug}/me/registrations")
    past = page.locator("section", has=page.locator("#past-heading"))
    expect(past).to_contain_text(t(language, "You attended this event."))
    expect(past).not_to_contain_text(t(language, "Send me the join link again"))
    found += accessibility(page, f"{language}-my-registrations-past")
    if language == "fr":
        shot(page, "join-journey-past-fr")
    past.get_by_role("link", name=f"{t(language, 'Rate this event')} — {title}").click()
    expect(page).to_have_url(f"{live_server.url}/t/{slug}/events/{event}/rating")
    page.get_by_label(t(language, "5 stars: excellent")).check()
    found += accessibility(page, f"{language}-rate")
    page.get_by_role("button", name=t(language, "Send my rating")).click()
    expect(page.locator("#reviews")).to_contain_text(
        t(language, "Thank you: your rating is saved."))
    page.goto(f"{live_server.url}/t/{slug}/me/registrations")
    expect(past.get_by_role("link", name=f"{t(language, 'My rating')} — {title}")).to_be_visible()

    assert found == []
    assert pages.problems == []
