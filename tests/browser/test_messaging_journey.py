"""Organisers write to registrants (issue 19 item 4), in Chromium, French and English: a manager
writes news to the confirmed registrants of an event in both languages, previews it (the count
says who is left out: a restricted person, a waiting one is not in the group), sends it; each
registrant gets it once, in their own language, with the RFC 8058 headers; one of them follows
the unsubscribe link without signing in, confirms, and the consent ledger records it. Every page
is checked for CSP violations (``pages``), the compose, preview and unsubscribe pages with axe."""

from __future__ import annotations

import re
import secrets
import time

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import LiveServer, Pages, from_child
from tests.fixtures.browser import (
    accessibility,
    catalog,
    member_sign_in,
    on_server,
    shot,
    t,
    tn,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SUBJECT = {"fr": "Nouveautés pour {first_name}", "en": "News for {first_name}"}
BODY = {"fr": "Bonjour {first_name},\n\n{event_title} aura un invité surprise.",
        "en": "Hello {first_name},\n\n{event_title} will have a surprise guest."}


def _seed(settings: dict, slug: str, manager_email: str, pipe) -> None:  # type: ignore[no-untyped-def]
    """In a child process: a tenant writing in French and English, its manager, an event, and
    registrants (two confirmed in each language, one of them restricted, one waiting), all
    opted in to news."""
    from core.clock import utcnow
    from tenants import api as tenants_api
    from tenants.consent import ledger
    from tenants.participants.models import Participant
    from tenants.registration.models import Registration
    from tenants.rights.models import PrivacyChoices
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Messages", language="fr")
        factories.member(slug, manager_email, "manager")
        event = factories.event(slug)
        people = {}
        for email, language, status in (
                (f"lea@{slug}.example.org", "fr", "confirmed"),
                (f"sam@{slug}.example.org", "en", "confirmed"),
                (f"kept@{slug}.example.org", "en", "confirmed"),
                (f"wait@{slug}.example.org", "fr", "waitlisted")):
            pid = factories.confirmed_participant(
                slug, email, language=language, first_name=email.split("@")[0].capitalize(),
                last_name="Test")
            people[email] = pid
            with tenants_api.tenant_context(slug) as db:
                db.add(Registration(event_id=event, participant_id=pid, status=status,
                                    created_at=utcnow()))
                ledger.record_marketing(db, db.get(Participant, pid), True)
        with tenants_api.tenant_context(slug) as db:
            db.add(PrivacyChoices(participant_id=people[f"kept@{slug}.example.org"],
                                  restricted_at=utcnow()))
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()
    pipe.send((event, people))


def _opted_in(settings: dict, slug: str, participant_id: int, pipe) -> None:  # type: ignore[no-untyped-def]
    from tenants import api as tenants_api
    from tenants.consent import ledger
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context(), tenants_api.tenant_context(slug) as db:
        answer = ledger.marketing(db, participant_id)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()
    pipe.send(answer)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_organiser_writes_and_a_reader_unsubscribes(
        pages: Pages, live_server: LiveServer, mail_sink: SMTPSink, language: str) -> None:
    slug = f"msg-{language}-{secrets.token_hex(3)}"
    manager = f"manager@{slug}.example.org"
    event, people = from_child(_seed, live_server.settings, slug, manager)  # type: ignore[misc]
    lea, sam = f"lea@{slug}.example.org", f"sam@{slug}.example.org"
    found: list[str] = []

    page = pages.open()
    url = f"{live_server.url}/t/{slug}/admin/events/{event}/messages"
    member_sign_in(page, url, manager, language)
    found += accessibility(page, f"{language}-messages-compose")
    page.get_by_label(t(language, "This is news (not about their registration)")).check()
    for lang in ("fr", "en"):
        page.locator(f"#subject_{lang}").fill(SUBJECT[lang])
        page.locator(f"#body_{lang}").fill(BODY[lang])

    # A mistake first: no group chosen. The reason is given, nothing is sent.
    page.get_by_label(catalog_audience(language, "Confirmed"), exact=True).uncheck()
    page.get_by_role("button", name=t(language, "Preview"), exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(
        t(language, "Choose at least one group of recipients."))
    page.get_by_label(catalog_audience(language, "Confirmed"), exact=True).check()
    page.get_by_role("button", name=t(language, "Preview"), exact=True).click()
    count = page.locator("#recipient-count")
    expect(count).to_contain_text(tn(language, "This message will go to %(num)d person.",
                                     "This message will go to %(num)d people.", 2))
    expect(count).to_contain_text(tn(
        language, "%(num)d person who restricted the processing of their data is left out.",
        "%(num)d people who restricted the processing of their data are left out.", 1))
    expect(page.locator("#preview")).to_contain_text("Nouveautés pour Lea")
    expect(page.locator("#preview")).to_contain_text("News for Lea")
    found += accessibility(page, f"{language}-messages-preview")
    if language == "fr":
        shot(page, "messages-preview-fr")
    page.get_by_role("button", name=t(language, "Send"), exact=True).click()
    expect(page).to_have_url(re.compile(r"/messages$"))
    expect(page.get_by_role("status").first).to_contain_text(tn(
        language, "Your message is being sent to %(num)d person.",
        "Your message is being sent to %(num)d people.", 2))
    expect(page.locator("table")).to_contain_text(SUBJECT[language])

    french = mail_sink.wait_for(lambda m: m["To"] == lea, timeout=15)
    english = mail_sink.wait_for(lambda m: m["To"] == sam, timeout=15)
    assert french["Subject"] == "Nouveautés pour Lea" and english["Subject"] == "News for Sam"
    assert "Atelier aura un invité surprise." in SMTPSink.text(french)
    assert "Workshop will have a surprise guest." in SMTPSink.text(english)
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    time.sleep(1)  # anything sent twice would have arrived by now
    to_them = [m for m in mail_sink.messages if m["To"].endswith(f"@{slug}.example.org")]
    assert sorted(m["To"] for m in to_them) == [lea, sam]

    # Sam unsubscribes from the e-mail's link, signed out, in another browser.
    reader = pages.open()
    link = english["List-Unsubscribe"].strip().strip("<>")
    assert link in SMTPSink.links(english)
    reader.goto(on_server(live_server, link))
    found += accessibility(reader, f"{language}-unsubscribe")
    reader.get_by_role("button", name=t(reader_language(reader), "Unsubscribe")).click()
    expect(reader.locator("#unsubscribed")).to_be_visible()
    found += accessibility(reader, f"{language}-unsubscribed")
    assert from_child(_opted_in, live_server.settings, slug, people[sam]) is False
    assert from_child(_opted_in, live_server.settings, slug, people[lea]) is True
    assert found == []


def reader_language(page) -> str:  # type: ignore[no-untyped-def]
    """The language the page is in (a signed-out reader gets the default or their browser's)."""
    return page.locator("html").get_attribute("lang") or "fr"


def catalog_audience(language: str, label: str) -> str:
    """A recipient group's label (its own context in the catalogue)."""
    return catalog(language).upgettext("audience", label)
