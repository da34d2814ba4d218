"""Billing in Chromium, in French and English, offline with the fake Stripe (issue 7).

The owner of an organisation on a free trial chooses a plan and pays through Checkout; the
space follows Stripe's webhook (never the return to Parvis). Through the Customer Portal the
owner downgrades, then a renewal fails: members see the grace banner; the grace period over
(the lifecycle sweep runs in a child of the test process with its clock moved) the space is
read-only; a payment restores it; the owner cancels at the end of the period. axe-core checks
Parvis's pages (the fake Stripe's pages stand for Stripe's own).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from core.clock import move_clock, utcnow
from tests import factories
from tests.browser.conftest import LiveServer, Pages, in_child
from tests.fixtures.browser import accessibility, shot, sign_in, t

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _seed(settings: dict, slug: str, owner: str, language: str) -> None:
    """In a child process: an organisation on the Team plan's free trial, and its owner."""
    from tenants import api as tenants_api
    from webapp import db
    from webapp.app import create_app
    from webapp.billing.models import Subscription

    app = create_app(settings)
    with app.app_context():
        tenant = factories.tenant(slug, name=f"Club {slug}", language=language)
        person = factories.account(owner, language=language)
        factories.member(slug, owner, "owner")
        db.session().add(Subscription(tenant_id=tenant.id, account_id=person.id, plan="team",
                                      status="trialing",
                                      trial_ends_at=utcnow() + timedelta(days=14)))
        db.commit()
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


def _grace_over(settings: dict) -> None:
    """In a child process: 15 days later, the hourly lifecycle sweep runs."""
    from tenants import api as tenants_api
    from webapp.app import create_app
    from webapp.billing import tasks

    app = create_app(settings)
    move_clock(timedelta(days=15))
    with app.app_context():
        assert tasks.lifecycle_sweep.call_local() == 1
    tenants_api.dispose()
    app.extensions["parvis_engine"].dispose()


@pytest.fixture
def people(live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[dict]:
    language = request.node.callspec.params["language"]
    tag = secrets.token_hex(3)
    found = {"slug": f"bill-{language}-{tag}", "owner": f"owner-{tag}@billing.test"}
    in_child(_seed, live_server.settings, found["slug"], found["owner"], language)
    yield found


def until(page: Page, check: Callable[[], bool], what: str) -> None:
    """Reload until ``check()`` holds: Stripe's webhooks arrive after the redirect."""
    for _ in range(40):
        if check():
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError(f"never happened: {what}")


def before_date(language: str, message: str) -> str:
    """The text of ``message`` up to its date, which the page formats."""
    return t(language, message, date="\x00").split("\x00")[0]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_pay_downgrade_fail_read_only_reactivate_cancel(
        pages: Pages, live_server: LiveServer, people: dict, language: str):
    slug, found = people["slug"], []
    subscription = f"{live_server.url}/organisations/{slug}/subscription"
    owner = pages.open()
    sign_in(owner, live_server, people["owner"], language)

    # On a trial: the owner chooses a plan and pays at (the fake) Stripe Checkout.
    owner.goto(subscription)
    expect(owner.get_by_role("heading", level=1)).to_have_text(t(language, "Subscription"))
    expect(owner.get_by_text(before_date(language, "Free trial until %(date)s."))).to_be_visible()
    found += accessibility(owner, f"billing-{language}-trial")
    shot(owner, f"billing-{language}-trial")
    owner.locator("#plan-team").check()
    owner.get_by_role("button", name=t(language, "Pay with Stripe")).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Subscribe to Parvis Team")
    owner.get_by_label("Billing name").fill("Club SARL")
    owner.get_by_label("VAT number (optional)").fill("FR12345678901")
    owner.get_by_label("I agree to Parvis's terms of service").check()
    owner.get_by_role("button", name="Subscribe").click()
    # Back on Parvis: the page reloads itself until the webhook has confirmed the payment.
    expect(owner.get_by_role("button", name=t(language, "Open the payment portal"))
           ).to_be_visible(timeout=30_000)
    expect(owner.locator("#plan-name")).to_have_text(t(language, "Team"))
    amount = {"fr": "49,00 €", "en": "€49.00"}[language]
    table = owner.locator("main table")
    until(owner, lambda: table.count() > 0 and amount in table.inner_text().replace("\xa0", " "),
          "the invoice")
    found += accessibility(owner, f"billing-{language}-paid")
    shot(owner, f"billing-{language}-paid")

    def portal(action: str) -> None:
        owner.goto(subscription)
        owner.get_by_role("button", name=t(language, "Open the payment portal")).click()
        expect(owner.get_by_role("heading", level=1)).to_have_text("Your subscription")
        if action == "Change plan":
            owner.get_by_label("New plan").select_option("starter")
        owner.get_by_role("button", name=action).click()
        owner.get_by_role("link", name="Return to Parvis").click()

    # A downgrade through the Customer Portal.
    portal("Change plan")
    until(owner, lambda: owner.locator("#plan-name").inner_text() == t(language, "Starter"),
          "the downgrade")

    # A renewal fails: members see the grace banner on the space's pages.
    portal("Simulate a failed renewal")
    banner = owner.locator(".billing-banner")
    grace = before_date(language, "The last payment of the subscription failed. Everything "
                                  "keeps working until %(date)s; after that the space becomes "
                                  "read-only.")
    owner.goto(f"{live_server.url}/t/{slug}/admin/events")
    until(owner, lambda: grace in (banner.inner_text() if banner.count() else ""),
          "the grace banner")
    found += accessibility(owner, f"billing-{language}-grace")
    shot(owner, f"billing-{language}-grace")

    # The grace period is over: the space is read-only, and says so.
    in_child(_grace_over, live_server.settings)
    read_only = before_date(language, "The subscription is unpaid: this space is read-only. "
                                      "Participants can still see their data and exercise their "
                                      "rights. Without payment it will be suspended on %(date)s; "
                                      "no data is deleted.")
    until(owner, lambda: read_only in banner.inner_text(), "the read-only banner")
    owner.wait_for_timeout(5_500)  # the registry cache of the live server (5 s)
    owner.goto(f"{live_server.url}/t/{slug}/admin/events/new")
    owner.locator("main form button[type=submit]").last.click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(t(language, "Read-only"))
    found += accessibility(owner, f"billing-{language}-read-only")
    shot(owner, f"billing-{language}-read-only")

    # Paying restores everything; then the owner cancels at the end of the period.
    portal("Simulate a successful payment")
    owner.goto(f"{live_server.url}/t/{slug}/admin/events")
    until(owner, lambda: banner.count() == 0, "the reactivation")
    portal("Cancel at the end of the period")
    cancelled = before_date(language, "The subscription is cancelled and ends on %(date)s. You "
                                      "can keep it from the payment portal until then.")
    until(owner, lambda: cancelled in owner.locator("main").inner_text(), "the cancellation")
    found += accessibility(owner, f"billing-{language}-cancelled")
    shot(owner, f"billing-{language}-cancelled")
    assert found == []
