"""axe-core on the demo's pages in French and English: no serious or critical WCAG 2.1 A/AA
violation. Only this test's browser profile bypasses the CSP, to inject axe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_journeys import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target).join(", ")}`);
}"""


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

    sign_in(page, live_server)
    expect(page.get_by_role("table")).to_be_visible()
    found += violations(page, f"{language}-participants")

    assert found == []
