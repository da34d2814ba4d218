"""The cookie consent journey of issue 5 in Chromium, in French and English.

A tenant uses an analytics service and embeds a clip. Both are served by Playwright's router at
https addresses of their own (nothing leaves the machine); the analytics script sets a cookie
when it runs. The browser's own network and cookie APIs prove: before any choice, no request
goes to the services and no cookie but the site's own is set; "Refuse all" takes one click, like
"Accept all"; the clip shows a placeholder until its own "Load this content" button; after
"Accept all" the script loads (the page's CSP allows it for this visitor only) and sets its
cookie; after withdrawal from the "Cookie settings" link the script is gone and its cookie
deleted. The banner and the cookie settings page pass axe-core.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route, expect

from tests import factories
from tests.browser.conftest import REPORT_CSP, LiveServer, in_child
from tests.fixtures.browser import accessibility, choose_language, t, tn

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ANALYTICS = "https://analytics.example.test"
VIDEO = "https://video.example.test"
EMBED = f"{VIDEO}/embed/42"
SCRIPT = f"{ANALYTICS}/pa.js"
TRACKER_COOKIE = "_pa_id"
# What the fake analytics does when it runs: sets its cookie and marks the page.
SCRIPT_BODY = (f'document.cookie = "{TRACKER_COOKIE}=visitor-42; path=/; max-age=3600";'
               'document.documentElement.dataset.analytics = "loaded";')


def _seed(settings: dict, slug: str) -> None:
    """In a child process (see test_registration_journey): a tenant and its analytics."""
    from tenants import api as tenants_api
    from tenants.consent import banner as consent_banner
    from webapp.app import create_app

    app = create_app(settings)
    with app.app_context():
        factories.tenant(slug, name="Parvis Cookies", language="fr")
        with tenants_api.tenant_context(slug) as db:
            consent_banner.save_service(
                db, None, name="PageAudience", provider="Audience SAS", purpose="audience",
                cookies=[{"name": TRACKER_COOKIE, "duration": 13, "unit": "months"}],
                location="France", load_kind="script", load_url=SCRIPT)
            consent_banner.save_service(
                db, None, name="ClipHost", provider="Clip Inc.", purpose="embedded",
                cookies=[], location="European Union", load_kind="embed", load_url=EMBED)
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def seed_tenant(server: LiveServer, slug: str) -> None:
    in_child(_seed, server.settings, slug)


class Visitor:
    """A browser profile whose requests to the analytics service are answered locally and
    recorded, and whose CSP violations and script errors are collected."""

    def __init__(self, browser: Browser) -> None:
        self.context: BrowserContext = browser.new_context()
        self.context.add_init_script(REPORT_CSP)
        self.analytics: list[str] = []
        self.video: list[str] = []
        self.problems: list[str] = []
        self.context.route(f"{ANALYTICS}/**", self._answer)
        self.context.route(f"{VIDEO}/**", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>clip</title>"))
        self.page: Page = self.context.new_page()
        self.page.on("request", self._seen)
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.on("console", lambda m: self.problems.append(m.text)
                     if m.type == "error" and "CSP" in m.text else None)

    def _answer(self, route: Route) -> None:
        route.fulfill(status=200, content_type="text/javascript", body=SCRIPT_BODY)

    def _seen(self, request: Request) -> None:
        if request.url.startswith(ANALYTICS):
            self.analytics.append(request.url)
        elif request.url.startswith(VIDEO):
            self.video.append(request.url)

    def cookie_names(self) -> set[str]:
        return {cookie["name"] for cookie in self.context.cookies()}

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visitors(browser: Browser) -> Iterator[list[Visitor]]:
    opened: list[Visitor] = []
    yield opened
    problems = [problem for visitor in opened for problem in visitor.problems]
    for visitor in opened:
        visitor.close()
    assert problems == [], "the browser reported CSP violations or script errors"


def answer_in_one_click(page: Page, language: str, answer: str) -> None:
    """The banner's ``answer`` button is there at once, and one click settles the banner."""
    page.get_by_role("button", name=t(language, answer), exact=True).click()
    expect(page.locator("#consent-banner")).to_have_count(0)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_consent_journey(browser: Browser, live_server: LiveServer, visitors: list[Visitor],
                         language: str) -> None:
    slug = f"cookies-{language}"
    seed_tenant(live_server, slug)
    home = f"{live_server.url}/t/{slug}/"

    # A first visitor: the banner, nothing sent to the service, no tracker cookie.
    visitor = Visitor(browser)
    visitors.append(visitor)
    page = visitor.page
    page.goto(home)
    choose_language(page, language)
    banner = page.locator("#consent-banner")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("heading", level=2)).to_have_text(
        t(language, "Your choices about cookies"))
    expect(banner).to_contain_text("PageAudience")
    expect(banner).to_contain_text(t(language, "Audience measurement"))
    for answer in ("Accept all", "Refuse all"):
        expect(banner.get_by_role("button", name=t(language, answer), exact=True)).to_be_visible()
    expect(banner.get_by_role("link", name=t(language, "Choose"), exact=True)).to_be_visible()
    assert accessibility(page, f"{language}-consent-banner") == []
    # Keyboard: the banner's first answer is reached right after the skip link and the close
    # button.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(banner.get_by_role("button", name=t(language, "Accept all"), exact=True)).to_be_focused()
    assert visitor.analytics == []
    assert TRACKER_COOKIE not in visitor.cookie_names()
    assert page.locator(f'script[src^="{ANALYTICS}"]').count() == 0

    # "Refuse all": one click, as "Accept all" below; still nothing, and the banner stays
    # away on the next page.
    answer_in_one_click(page, language, "Refuse all")
    page.goto(home)
    expect(banner).to_have_count(0)
    assert visitor.analytics == [] and TRACKER_COOKIE not in visitor.cookie_names()
    assert visitor.cookie_names() <= {"parvis_session", "parvis_consent"}

    # The embedded clip: a placeholder until "Load this content", which consents to it alone.
    assert visitor.video == [] and page.locator("iframe").count() == 0
    # The frame may show before its request is reported: wait for the request itself.
    with page.expect_request(lambda request: request.url.startswith(VIDEO)):
        page.get_by_role("button", name=t(language, "Load this content"), exact=True).click()
    expect(page.locator(f'iframe[src="{EMBED}"]')).to_be_visible()
    assert visitor.video == [EMBED] and visitor.analytics == []

    # Another visitor accepts: one click too; the script loads and sets its cookie.
    other = Visitor(browser)
    visitors.append(other)
    page = other.page
    page.goto(home)
    choose_language(page, language)
    answer_in_one_click(page, language, "Accept all")
    expect(page.locator("html")).to_have_attribute("data-analytics", "loaded")
    assert other.analytics == [SCRIPT]
    assert TRACKER_COOKIE in other.cookie_names()

    # Withdrawal from the footer's "Cookie settings": the script is gone, its cookie deleted.
    page.get_by_role("link", name=t(language, "Cookie settings"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Cookie settings"))
    expect(page.get_by_role("checkbox", name="PageAudience")).to_be_checked()
    assert accessibility(page, f"{language}-cookie-settings") == []
    other.analytics.clear()
    page.get_by_role("button", name=t(language, "Refuse all"), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/t/{slug}/$"))
    expect(page.locator("html")).not_to_have_attribute("data-analytics", "loaded")
    assert page.locator(f'script[src^="{ANALYTICS}"]').count() == 0
    assert other.analytics == []
    assert TRACKER_COOKIE not in other.cookie_names()
    expect(page.locator("#consent-banner")).to_have_count(0)

    # The cookie policy is generated from the configuration, in the page's language.
    page.goto(f"{home}cookies/policy")
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Cookie policy"))
    expect(page.get_by_role("rowheader", name="PageAudience")).to_be_visible()
    # The lifetime is a number and a unit, worded in the page's language ("13 mois").
    lifetime = tn(language, "%(num)d month", "%(num)d months", 13)
    expect(page.locator("main")).to_contain_text(f"{TRACKER_COOKIE} ({lifetime})")
