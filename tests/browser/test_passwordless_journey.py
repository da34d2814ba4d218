"""Registering without a password and signing in by e-mail (issue 19, item 1), in Chromium, in
French and English, checked with axe-core.

A visitor registers for an event with the form alone (no password), confirms from the e-mail
(one click confirms the address and the registration), signs out, and signs in later by the
e-mailed link; a participant who has a password still signs in with it. E-mails are read from
the SMTP sink the live server sends to. Texts are compared through the translation catalogues.
"""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import LiveServer, Pages, from_child
from tests.fixtures.browser import (
    accessibility,
    catalog,
    choose_language,
    label,
    on_server,
    participant_sign_in,
    shot,
    t,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TITLE = {"fr": "Atelier sans mot de passe", "en": "Password-free workshop"}


def _seed(settings: dict, slug: str, veteran: str, pipe) -> None:  # type: ignore[no-untyped-def]
    """In a child process: a French tenant, a published event, a participant with a password."""
    from tenants import api as tenants_api
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Sans Mot", language="fr")
        event = factories.event(slug, title=TITLE, capacity=10)
        factories.confirmed_participant(slug, veteran, first_name="Vera", language="en")
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()
    pipe.send(event)


def mail(sink: SMTPSink, to: str, language: str, subject: str) -> str:
    """The text of the e-mail to ``to`` whose subject is ``subject`` in ``language``."""
    message = sink.wait_for(lambda m: m["To"] == to and m["Subject"] == t(language, subject),
                            timeout=15)
    return SMTPSink.text(message)


def status_text(language: str, text: str) -> str:
    return catalog(language).upgettext("registration", text)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_register_without_a_password_then_sign_in_by_e_mailed_link(
        pages: Pages, live_server: LiveServer, mail_sink: SMTPSink, language: str):
    slug = f"nopass-{language}-{secrets.token_hex(3)}"
    email = f"lou@{slug}.example.org"
    veteran = f"vera@{slug}.example.org"
    event = from_child(_seed, live_server.settings, slug, veteran)
    found: list[str] = []
    page: Page = pages.open()

    # 1. Register with the form alone: the password fields are left blank.
    page.goto(f"{live_server.url}/t/{slug}/events/{event}")
    choose_language(page, language)
    page.get_by_role("link", name=t(language, "Register"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t(language, "Register for “%(title)s”", title=TITLE[language]))
    expect(label(page, language, "Password (optional)")).to_have_value("")
    page.locator("#email").fill(email)
    page.locator("#first_name").fill("Lou")
    page.locator("#last_name").fill("Martin")
    found += accessibility(page, f"{language}-signup")
    if language == "fr":
        shot(page, "signup-no-password-fr")
    page.locator("main form.registration-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/signup/check-inbox$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Check your inbox"))

    # 2. One click in the confirmation e-mail confirms the address and the registration.
    text = mail(mail_sink, email, language, "Confirm your e-mail address")
    [link] = [line.strip() for line in text.splitlines() if "/confirm/" in line]
    page.goto(on_server(live_server, link))
    expect(page).to_have_url(re.compile(r"/me/registrations$"))
    expect(page.locator("main")).to_contain_text(
        t(language, "Your e-mail address is confirmed: welcome!"))
    row = page.get_by_role("row").filter(has_text=TITLE[language])
    expect(row.locator("td strong")).to_have_text(status_text(language, "Confirmed"))
    found += accessibility(page, f"{language}-my-registrations")

    # 3. Later, signed out, back by an e-mailed link.
    page.get_by_role("button", name=t(language, "Sign out")).click()
    page.goto(f"{live_server.url}/t/{slug}/login")
    page.get_by_role("link", name=t(language, "Get a sign-in link by e-mail")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Sign in by e-mail"))
    found += accessibility(page, f"{language}-sign-in-by-e-mail")
    label(page, language, "E-mail address").fill(email)
    page.get_by_role("button", name=t(language, "Send me a sign-in link")).click()
    expect(page).to_have_url(re.compile(r"/login/code"))
    expect(label(page, language, "E-mail address")).to_have_value(email)
    found += accessibility(page, f"{language}-sign-in-code")
    if language == "fr":
        shot(page, "sign-in-code-fr")
    text = mail(mail_sink, email, language, "Your sign-in link")
    [link] = [line.strip() for line in text.splitlines() if "/login/link/" in line]
    page.goto(on_server(live_server, link))
    found += accessibility(page, f"{language}-sign-in-link")
    page.get_by_role("button", name=t(language, "Continue")).click()
    expect(page).to_have_url(re.compile(r"/me/registrations$"))
    expect(page.get_by_role("row").filter(has_text=TITLE[language])).to_be_visible()

    # The link works once.
    page.get_by_role("button", name=t(language, "Sign out")).click()
    page.goto(on_server(live_server, link))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t(language, "This link no longer works"))

    # 4. A participant with a password still signs in with it.
    other = pages.open()
    participant_sign_in(other, live_server, slug, veteran, language, factories.PASSWORD)
    expect(other.get_by_role("button", name=t(language, "Sign out"))).to_be_visible()

    assert found == []
    assert pages.problems == []
