"""The data-subject rights journey of issue 6 in Chromium, in French and English.

A participant opens "My data and privacy" from the account menu, downloads their data as JSON
and CSV, restricts processing and sees the e-mails stop (asking for the join link again sends
nothing), leaves a post-mortem directive, deletes the account and takes it back by signing in
again. Two people without an account send requests through the form and prove their address
with the e-mailed code; the tenant's manager extends one (the requester gets the reasons) and
answers the other before its due date (the requester's download link works). The key pages
pass axe-core; e-mails are read from the live server's SMTP sink.
"""

from __future__ import annotations

import json
import re
from multiprocessing.connection import Connection
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.clock import utcnow
from tests import factories
from tests.browser.conftest import LiveServer, Pages, from_child
from tests.browser.test_ratings_journey import PASSWORD
from tests.fixtures.browser import (
    accessibility,
    member_sign_in,
    on_server,
    participant_sign_in,
    shot,
    t,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TITLE = {"fr": "Atelier droits", "en": "Rights workshop"}
JOIN_URL = "https://video.example.org/room/rights"


def _seed(settings: dict, slug: str, language: str, pipe: Connection) -> None:
    """In a child process: a tenant, its manager, a participant registered to an event."""
    from datetime import timedelta

    from tenants import api as tenants_api
    from tenants.events.models import Event
    from tenants.registration.models import Registration
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Droits", language="fr")
        factories.member(slug, f"manager@{slug}.example.org", "manager")
        ann = tenants_api.add_participant(slug, email=f"ann@{slug}.example.org",
                                          password=PASSWORD, first_name="Ann",
                                          last_name="Martin", city="Lyon", language=language)
        with tenants_api.tenant_context(slug) as session:
            start = utcnow() + timedelta(days=7)
            event = Event(title=TITLE, starts_at=start, ends_at=start + timedelta(hours=2),
                          status="published", seats_taken=1, join_url=JOIN_URL)
            session.add(event)
            session.flush()
            session.add(Registration(event_id=event.id, participant_id=ann, status="confirmed",
                                     created_at=utcnow(),
                                     confirmed_at=utcnow()))
        pipe.send(ann)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def seed(server: LiveServer, slug: str, language: str) -> None:
    from_child(_seed, server.settings, slug, language)


def ask_join_link(page: Page, server: LiveServer, slug: str, language: str) -> None:
    page.goto(f"{server.url}/t/{slug}/me/registrations")
    page.get_by_role("button", name=re.compile(re.escape(
        t(language, "Send me the join link again")))).click()
    page.wait_for_load_state("networkidle")


def send_request(page: Page, server: LiveServer, sink: SMTPSink, slug: str, language: str,
                 email: str, kind_label: str) -> None:
    """The footer's request link, the form, the e-mailed code."""
    page.goto(f"{server.url}/t/{slug}/")
    page.get_by_role("link", name=t(language, "Your personal data: make a request")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t(language, "A request about your personal data"))
    page.get_by_label(t(language, kind_label), exact=True).check()
    page.get_by_label(t(language, "E-mail address"), exact=True).fill(email)
    page.get_by_role("button", name=t(language, "Send me a code")).click()
    message = sink.wait_for(lambda m: m["To"] == email)
    code = re.search(r"\b(\d{6})\b", SMTPSink.text(message))
    assert code is not None
    page.get_by_label(t(language, "Verification code")).fill("000000" if code.group(1) != "000000"
                                                              else "111111")
    page.get_by_role("button", name=t(language, "Confirm my request")).click()
    expect(page.get_by_role("alert").or_(page.locator(".error"))).to_contain_text(
        t(language, "This code is not the one we sent. Attempts left: %(num)d.", num=4))
    page.get_by_label(t(language, "Verification code")).fill(code.group(1))
    page.get_by_role("button", name=t(language, "Confirm my request")).click()
    expect(page.get_by_role("status")).to_be_visible()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_rights_journey(pages: Pages, live_server: LiveServer, mail_sink: SMTPSink,
                        language: str, tmp_path: Path) -> None:
    slug = f"rights-{language}"
    seed(live_server, slug, language)
    ann_email = f"ann@{slug}.example.org"
    mail_sink.clear()

    # --- the participant ---------------------------------------------------------------------
    ann = pages.open()
    participant_sign_in(ann, live_server, slug, f"ann@{slug}.example.org", language,
                        PASSWORD)
    ann.get_by_role("navigation").get_by_role(
        "link", name=t(language, "My data and privacy"), exact=True).click()
    expect(ann.get_by_role("heading", level=1)).to_have_text(t(language, "My data and privacy"))
    expect(ann.locator("main")).to_contain_text("Lyon")
    expect(ann.locator("main")).to_contain_text(TITLE[language])
    expect(ann.get_by_role("link", name=t(language, "CNIL complaint page"))).to_have_attribute(
        "href", "https://www.cnil.fr/fr/plaintes")
    assert accessibility(ann, f"{language}-privacy") == []
    shot(ann, f"rights-{language}-privacy")

    for name, extension in (("Download my data (JSON)", "json"),
                            ("Download my data (CSV, for spreadsheets)", "csv")):
        with ann.expect_download() as download:
            ann.get_by_role("link", name=t(language, name)).click()
        saved = tmp_path / f"my-data.{extension}"
        download.value.save_as(saved)
        text = saved.read_text(encoding="utf-8-sig")
        assert ann_email in text and "Lyon" in text
        if extension == "json":
            assert json.loads(text)["registrations"][0]["event"] == TITLE[language]

    # E-mails go out before the restriction, and stop with it.
    ask_join_link(ann, live_server, slug, language)
    mail_sink.wait_for(lambda m: m["To"] == ann_email)
    ann.goto(f"{live_server.url}/t/{slug}/me/privacy")
    ann.get_by_role("button", name=t(language, "Restrict processing")).click()
    expect(ann.get_by_role("button", name=t(language, "Lift the restriction"))).to_be_visible()
    expect(ann.locator("main")).to_contain_text(t(
        language, "Processing of your data is restricted: it is kept, but not used. You "
        "receive no e-mails and appear in no list or export."))
    mail_sink.clear()
    ask_join_link(ann, live_server, slug, language)
    with pytest.raises(AssertionError):
        mail_sink.wait_for(lambda m: m["To"] == ann_email, timeout=3)

    # A post-mortem directive: hand the data over to a named person.
    ann.goto(f"{live_server.url}/t/{slug}/me/privacy")
    ann.get_by_label(t(language, "Hand my data over to a person I name")).check()
    ann.get_by_label(t(language, "Name of the person")).fill("Léa Martin")
    ann.get_by_role("button", name=t(language, "Save my directive")).click()
    expect(ann.locator("#directive-error, .error").first).to_contain_text(
        t(language, "Give the e-mail address of the person."))
    ann.get_by_label(t(language, "E-mail address of the person")).fill("lea@example.org")
    ann.get_by_role("button", name=t(language, "Save my directive")).click()
    expect(ann.locator("#privacy").get_by_role("status")).to_contain_text(
        t(language, "Your directive is saved."))
    expect(ann.get_by_label(t(language, "E-mail address of the person"))).to_have_value(
        "lea@example.org")

    # Delete the account, then take it back by signing in again (within the 30 days).
    ann.get_by_label(t(language, "I want to delete my account")).check()
    ann.get_by_role("button", name=t(language, "Delete my account")).click()
    expect(ann.get_by_role("heading", level=1)).to_have_text(
        t(language, "Your account is deleted"))
    assert accessibility(ann, f"{language}-deleted") == []
    participant_sign_in(ann, live_server, slug, f"ann@{slug}.example.org", language,
                        PASSWORD)
    expect(ann.get_by_role("heading", level=1)).to_have_text(
        t(language, "Your account is deactivated"))
    ann.get_by_role("button", name=t(language, "Reactivate my account")).click()
    ann.get_by_role("navigation").get_by_role(
        "link", name=t(language, "My data and privacy"), exact=True).click()
    expect(ann.get_by_label(t(language, "E-mail address of the person"))).to_have_value(
        "lea@example.org")

    # --- two requests through the form ------------------------------------------------------
    visitor = pages.open()
    visitor.goto(f"{live_server.url}/t/{slug}/")
    visitor.get_by_role("button", name={"fr": "Français", "en": "English"}[language],
                        exact=True).click()
    send_request(visitor, live_server, mail_sink, slug, language, ann_email,
                 "Access: a copy of my data")
    assert accessibility(visitor, f"{language}-request") == []
    other_email = f"sam@{slug}.example.org"
    send_request(visitor, live_server, mail_sink, slug, language, other_email,
                 "Rectification: correct my data")

    # --- the tenant answers one and extends the other ----------------------------------------
    manager = pages.open()
    inbox = f"{live_server.url}/t/{slug}/admin/rights"
    member_sign_in(manager, inbox, f"manager@{slug}.example.org", language)
    expect(manager.get_by_role("heading", level=1)).to_have_text(t(language, "Rights requests"))
    assert accessibility(manager, f"{language}-inbox") == []
    shot(manager, f"rights-{language}-inbox")

    manager.get_by_role("row").filter(has_text=other_email).get_by_role("link").click()
    manager.get_by_label(t(language, "2 months")).check()
    manager.get_by_label(t(language, "Reasons (sent to the requester)")).fill(
        "Our archives are on paper.")
    manager.get_by_role("button", name=t(language, "Extend and tell the requester")).click()
    expect(manager.get_by_role("status")).to_contain_text(t(
        language, "The request is extended; the requester is told why by e-mail."))
    extended = mail_sink.wait_for(lambda m: m["To"] == other_email and "Our archives" in
                                  SMTPSink.text(m))
    assert extended["Subject"] == t(
        language, "Your request about your personal data: more time is needed")
    assert accessibility(manager, f"{language}-request-detail") == []

    manager.goto(inbox)
    manager.get_by_role("row").filter(has_text=ann_email).filter(
        has_text=t(language, "Access: a copy of my data")).first.get_by_role("link").click()
    manager.get_by_label(t(language, "Answer (sent to the requester)")).fill(
        "Here is all we hold.")
    manager.get_by_role("button", name=t(language, "Answer and close")).click()
    expect(manager.get_by_role("status")).to_contain_text(t(
        language, "The request is answered; the requester is told by e-mail."))
    answered = mail_sink.wait_for(lambda m: m["To"] == ann_email and "/answer/" in
                                  SMTPSink.text(m))
    link = next(url for url in SMTPSink.links(answered) if "/answer/" in url)
    body = visitor.request.get(on_server(live_server, link))
    assert body.ok and json.loads(body.text())["profile"]["email"] == ann_email
