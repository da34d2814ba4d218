"""A rights request sent to Parvis itself (issue 17, item 1), in Chromium, French then English.

A person registered with two organisations does not know which one to ask: from the platform's
home page they follow the footer's "Your personal data: make a request", ask for a copy of
their data and prove their address with the e-mailed code. Parvis tells them the request was
passed on to the organisations concerned; each organisation's manager finds it in the rights
inbox, marked as forwarded by Parvis, with its due date one month after receipt. Someone
whose address no organisation knows goes through the same steps and sees the same page, word
for word. The form and the answer pass axe-core.
"""

from __future__ import annotations

import re
from multiprocessing.connection import Connection

import pytest
from babel.dates import format_date
from playwright.sync_api import Page, expect

from core.clock import utcnow
from tenants import api as tenants_api
from tests import factories
from tests.browser.conftest import LiveServer, Pages, from_child
from tests.fixtures.browser import accessibility, choose_language, member_sign_in, shot, t
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

KIND = "Access: a copy of my data"


def _seed(settings: dict, slugs: list[str], email: str, pipe: Connection) -> None:
    """In a child process: two organisations, a manager each, the same person registered to an
    event of each."""
    from datetime import timedelta

    from tenants.events.models import Event
    from tenants.registration.models import Registration
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        for number, slug in enumerate(slugs, start=1):
            factories.tenant(slug, name=f"Club {number}", language="fr")
            factories.member(slug, f"manager@{slug}.example.org", "manager")
            person = tenants_api.add_participant(slug, email=email, first_name="Lou",
                                                 last_name="Bernard")
            with tenants_api.tenant_context(slug) as session:
                start = utcnow() + timedelta(days=10)
                event = Event(title={"fr": f"Rencontre {number}", "en": f"Meetup {number}"},
                              starts_at=start, ends_at=start + timedelta(hours=2),
                              status="published", seats_taken=1)
                session.add(event)
                session.flush()
                session.add(Registration(event_id=event.id, participant_id=person,
                                         status="confirmed", created_at=utcnow(),
                                         confirmed_at=utcnow()))
        pipe.send(slugs)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def send_request(page: Page, server: LiveServer, sink: SMTPSink, language: str,
                 email: str) -> str:
    """From the platform's home page to the answer; the text of the answer page's main part."""
    page.goto(f"{server.url}/")
    choose_language(page, language)
    page.get_by_role("contentinfo").get_by_role(
        "link", name=t(language, "Your personal data: make a request")).click()
    expect(page).to_have_url(f"{server.url}/rights/request")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t(language, "A request about your personal data"))
    page.get_by_label(t(language, KIND), exact=True).check()
    page.get_by_label(t(language, "E-mail address"), exact=True).fill(email)
    page.get_by_role("button", name=t(language, "Send me a code")).click()
    message = sink.wait_for(lambda m: m["To"] == email)
    code = re.search(r"\b(\d{6})\b", SMTPSink.text(message))
    assert code is not None
    page.get_by_label(t(language, "Verification code")).fill(code.group(1))
    page.get_by_role("button", name=t(language, "Confirm my request")).click()
    expect(page.get_by_role("status")).to_be_visible()
    return page.locator("main").inner_text()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_platform_rights_journey(pages: Pages, live_server: LiveServer, mail_sink: SMTPSink,
                                 language: str) -> None:
    slugs = [f"club-{language}-1", f"club-{language}-2"]
    email = f"lou@platform-{language}.example.org"
    from_child(_seed, live_server.settings, slugs, email)
    mail_sink.clear()
    # One calendar month after receipt (the requests are received now).
    due = format_date(tenants_api.rights_due_on(utcnow().date()), format="medium",
                      locale=language)

    person = pages.open()
    known = send_request(person, live_server, mail_sink, language, email)
    expect(person.get_by_role("status")).to_contain_text(t(
        language, "Your request is received. We pass it on to the organisations concerned: "
        "those using Parvis that hold data with this address. Each of them answers you "
        "directly, by %(due)s at the latest.", due=due))
    assert accessibility(person, f"{language}-platform-request-answer") == []
    shot(person, f"platform-rights-{language}-answer")
    person.goto(f"{live_server.url}/rights/request")
    assert accessibility(person, f"{language}-platform-request") == []

    # Someone whose address no organisation knows: the same steps, the same page.
    stranger = pages.open()
    unknown = send_request(stranger, live_server, mail_sink, language,
                           f"nobody-{language}@nowhere.example.org")
    assert unknown == known

    # Each organisation finds it in its inbox, with its due date.
    for slug in slugs:
        manager = pages.open()
        inbox = f"{live_server.url}/t/{slug}/admin/rights"
        member_sign_in(manager, inbox, f"manager@{slug}.example.org", language)
        row = manager.get_by_role("row").filter(has_text=email)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(t(language, KIND))
        expect(row).to_contain_text(t(language, "forwarded by Parvis"))
        expect(row).to_contain_text(due)
        row.get_by_role("link").click()
        expect(manager.locator("main")).to_contain_text(
            t(language, "received by Parvis and forwarded here"))
        if slug == slugs[0]:
            assert accessibility(manager, f"{language}-forwarded-request") == []
