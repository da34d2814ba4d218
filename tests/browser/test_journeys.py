"""Smoke journeys in a real browser: the demo tenant in both languages, sign-in and sign-out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, screenshot
from tests.fixtures.browser import fill_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_demo_tenant_is_french_and_switches_to_english(page: Page, live_server: LiveServer):
    page.goto(f"{live_server.url}/t/demo/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Association Démo")
    welcome = page.locator("main p").first
    french_welcome = welcome.inner_text()
    # htmx is served from our static folder and runs under the strict CSP.
    assert page.evaluate("typeof htmx") == "object"
    screenshot(page, "demo-home-fr")

    page.get_by_role("button", name="English").click()

    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/t/demo/")
    expect(welcome).to_have_text("Welcome to the events space of Association Démo.")
    assert french_welcome != welcome.inner_text()
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-current", "true")
    screenshot(page, "demo-home-en")


def test_owner_signs_in_sees_participants_and_signs_out(
        browser: Browser, page: Page, live_server: LiveServer):
    participants = f"{live_server.url}/t/demo/admin/participants"
    page.goto(participants)
    expect(page).to_have_url(re.compile(r"/login\?next="))

    fill_sign_in(page, live_server.owner_email, live_server.owner_password)

    expect(page).to_have_url(participants)
    expect(page.get_by_role("cell", name="Camille")).to_be_visible()
    expect(page.get_by_role("link", name="Martin")).to_be_visible()
    screenshot(page, "demo-participants-fr")
    cookies = page.context.cookies()

    def replay_cookies() -> Page:
        """A new browser profile carrying the signed-in session cookie."""
        other = browser.new_context()
        other.add_cookies(cookies)
        other_page = other.new_page()
        other_page.goto(participants)
        return other_page

    before = replay_cookies()
    expect(before).to_have_url(participants)
    before.context.close()

    page.locator("form[action$='/logout'] button").click()
    expect(page).to_have_url(f"{live_server.url}/login")

    after = replay_cookies()
    expect(after).to_have_url(re.compile(r"/login\?next="))
    expect(after.get_by_role("cell", name="Camille")).to_have_count(0)
    after.context.close()
