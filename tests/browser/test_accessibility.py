"""axe-core on the demo's pages in French and English: no serious or critical WCAG 2.1 A/AA
violation. Only this test's browser profile bypasses the CSP, to inject axe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, screenshot
from tests.fixtures.browser import AXE, RUN_AXE, fill_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

@pytest.fixture
def axe_page(browser: Browser) -> Iterator[Page]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm install")
    context = browser.new_context(bypass_csp=True)
    yield context.new_page()
    context.close()


def violations(page: Page, name: str) -> list[str]:
    page.add_script_tag(path=str(AXE))
    screenshot(page, f"axe-{name}")
    return [f"{name}: {line}" for line in page.evaluate(RUN_AXE)]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_pages_have_no_serious_accessibility_violations(
        axe_page: Page, live_server: LiveServer, language: str):
    page = axe_page
    page.goto(f"{live_server.url}/t/demo/")
    if language == "en":
        page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    found = violations(page, f"{language}-tenant-home")

    page.goto(f"{live_server.url}/login?next=/t/demo/admin/participants")
    expect(page.locator("#email")).to_be_visible()
    found += violations(page, f"{language}-login")

    fill_sign_in(page, live_server.owner_email, live_server.owner_password)
    expect(page.get_by_role("table")).to_be_visible()
    found += violations(page, f"{language}-participants")

    assert found == []
