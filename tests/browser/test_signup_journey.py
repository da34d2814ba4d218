"""Signup in Chromium, in French and English, offline with the fake Stripe (issue 7, point 1).

A visitor goes from the home page to a plan, creates an account, confirms the address with the
e-mailed link (read from the SMTP sink the live server sends to), accepts the terms and the DPA,
pays on the fake Checkout, waits on the page that reloads itself until Stripe's webhook has
opened the space, and completes onboarding under an address of their choice. axe-core checks
every Parvis page on the way (the fake Stripe's pages stand for Stripe's own).
"""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.conftest import LiveServer, Pages
from tests.fixtures.browser import (
    accessibility,
    choose_language,
    on_server,
    shot,
    t,
)
from tests.mail_sink import SMTPSink

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def heading(page: Page, language: str, message: str, **variables: object) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, message, **variables))


@pytest.mark.parametrize("language", ["fr", "en"])
def test_sign_up_pay_and_onboard(pages: Pages, live_server: LiveServer, mail_sink: SMTPSink,
                                 language: str) -> None:
    tag = secrets.token_hex(3)
    email, slug = f"founder-{tag}@newco.example.org", f"club-{language}-{tag}"
    found: list[str] = []
    page = pages.open()

    # From the home page to the plans.
    page.goto(live_server.url + "/")
    choose_language(page, language)
    page.get_by_role("link", name=t(language, "Create your organisation's space")).click()
    heading(page, language, "Choose your plan")
    found += accessibility(page, f"signup-{language}-plans")
    shot(page, f"signup-{language}-plans")
    page.get_by_role("link", name=t(language, "Choose %(plan)s", plan=t(language, "Team"))).click()

    # The account: nothing exists until the e-mailed link is followed.
    heading(page, language, "Create your account")
    page.get_by_label(t(language, "E-mail address")).fill(email)
    page.get_by_label(t(language, "Password"), exact=True).fill(factories.PASSWORD)
    page.get_by_label(t(language, "Password again")).fill("not the same password")
    page.get_by_role("button", name=t(language, "Create my account")).click()
    expect(page.locator("#password_confirm-error")).to_have_text(
        t(language, "The two passwords are different."))
    found += accessibility(page, f"signup-{language}-account-error")
    page.get_by_label(t(language, "Password"), exact=True).fill(factories.PASSWORD)
    page.get_by_label(t(language, "Password again")).fill(factories.PASSWORD)
    page.get_by_role("button", name=t(language, "Create my account")).click()
    heading(page, language, "Check your inbox")
    found += accessibility(page, f"signup-{language}-inbox")

    message = mail_sink.wait_for(
        lambda m: m["To"] == email and "/signup/verify/" in mail_sink.text(m), timeout=15)
    assert message["Subject"] == t(
        language, "Confirm your e-mail address to create your Parvis account")
    [link] = [u for u in mail_sink.links(message) if "/signup/verify/" in u]
    page.goto(on_server(live_server, link))
    heading(page, language, "Confirm your e-mail address")
    page.get_by_role("button", name=t(language, "Confirm and create my account")).click()

    # The organisation, the terms and the DPA.
    heading(page, language, "Your organisation and the terms")
    page.get_by_label(t(language, "Organisation name")).fill(f"Club {tag}")
    page.get_by_role("button", name=t(language, "Accept and continue")).click()
    expect(page.locator("#accept_dpa-error")).to_have_text(
        t(language, "Accept the data processing agreement to continue."))
    page.get_by_label(t(language, "I have read and accept the terms of service on behalf of "
                                  "my organisation.")).check()
    page.get_by_label(t(language, "I have read and accept the data processing agreement on "
                                  "behalf of my organisation.")).check()
    found += accessibility(page, f"signup-{language}-terms")
    shot(page, f"signup-{language}-terms")
    page.get_by_role("button", name=t(language, "Accept and continue")).click()

    # Payment on the fake Checkout; the space opens with the webhook, not the redirect.
    heading(page, language, "Payment")
    expect(page.locator("input[name=plan][value=team]")).to_be_checked()
    found += accessibility(page, f"signup-{language}-payment")
    page.get_by_role("button", name=t(language, "Pay by card")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe to Parvis Team")
    page.get_by_label("Billing name").fill(f"Club {tag} SAS")
    terms = page.get_by_label("I agree to Parvis's terms of service")
    if terms.count():
        terms.check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page).to_have_url(re.compile(r"/signup/[a-z0-9-]+/(waiting|welcome)$"))
    heading_text = page.get_by_role("heading", level=1)
    expect(heading_text).to_have_text(t(language, "Welcome to Parvis"), timeout=30_000)

    # Onboarding: the space under its chosen address, the controller and its DPO.
    found += accessibility(page, f"signup-{language}-onboarding")
    shot(page, f"signup-{language}-onboarding")
    page.get_by_label(t(language, "Address name")).fill(slug)
    page.get_by_label(t(language, "Legal name of the controller")).fill(f"Club {tag} SAS")
    page.get_by_label(t(language, "Postal address")).fill("1 rue de la Paix\n75002 Paris")
    page.get_by_label(t(language, "Data protection officer or contact")).fill("Dana Protect")
    page.get_by_label(t(language, "Their e-mail address")).fill("dpo@newco.example.org")
    page.get_by_role("button", name=t(language, "Finish setting up")).click()
    expect(page).to_have_url(f"{live_server.url}/t/{slug}/admin/events")
    expect(page.locator(".brand")).to_have_text(f"Club {tag}")
    shot(page, f"signup-{language}-done")

    assert found == [], "\n".join(found)
