"""PRODUCT.md's numbers, each pinned to the day: a change of any of them by a day fails here.

- "Retention and deletion": an account deactivated (inactive, or deleted by its owner) can be
  reactivated for 30 days, then it is erased.
- "Cookie consent": a refusal is not asked again for 6 months; closing the banner is a refusal.
- "Participants and registration": reminders default to 24 h and 1 h before the start.

The expected values are written out here, never read from the constants under test.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.consent import banner as consent_banner
from tenants.consent import cache as consent_cache
from tenants.consent import visitor as consent_visitor
from tenants.consent.views import rate_limit
from tenants.events import services as events
from tenants.events.models import Event
from tenants.outbox import TenantJob
from tenants.participants.models import Participant
from tenants.retention import services as retention
from tests import factories
from tests.fixtures.people import english, sign_in_member
from tests.tenants.registration_helpers import person
from tests.tenants.test_consent import choose, entries

HOME = "/t/acme/"
SCRIPT = "https://stats.example.org/matomo.js"


def add_service() -> None:
    """A service needing consent (its cookies are not what these tests are about)."""
    with tenants_api.tenant_context("acme") as db:
        consent_banner.save_service(db, None, name="Matomo", provider="InnoCraft",
                                    purpose="audience", cookies=[], location="France",
                                    load_kind="script", load_url=SCRIPT)


@pytest.fixture(autouse=True)
def _fresh_consent_caches():  # type: ignore[no-untyped-def]
    rate_limit.hits.clear()
    yield
    consent_cache.configs.forget()
    consent_cache.caches.forget_entries()


def at(clock, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    """Move ``utcnow()`` to ``moment`` (give or take the test's own run time)."""
    clock.advance(seconds=(moment - utcnow()).total_seconds())


# --- 30 days to reactivate ------------------------------------------------------------------


def deactivate(slug: str, participant_id: int, reason: str) -> datetime:
    """Deactivate the account as the sweep (inactive) or its owner (deleted) does; returns
    when."""
    with tenants_api.tenant_context(slug) as db:
        found = db.get(Participant, participant_id)
        if reason == "deleted":
            retention.request_deletion(db, found)
        else:
            retention.deactivate_inactive(db, found)
        db.flush()
        return found.deactivated_at


def reactivation_page(client, email: str) -> str:  # type: ignore[no-untyped-def]
    signed = factories.participant_login(client, "acme", email)
    assert signed.status_code == 303 and signed.headers["Location"].endswith(
        "/account/reactivate")
    return client.get("/t/acme/account/reactivate").get_data(as_text=True)


def exists(participant_id: int) -> bool:
    with tenants_api.tenant_context("acme") as db:
        return db.get(Participant, participant_id) is not None


@pytest.mark.parametrize("reason", ["inactive", "deleted"])
def test_a_deactivated_account_can_be_reactivated_for_30_days_then_it_is_erased(
        app, client, clock, reason):
    me = person("acme", "ann@example.org")
    with app.test_request_context("/"):
        since = deactivate("acme", me, reason)
    with tenants_api.tenant_context("acme") as db:
        assert retention.erasure_due(db, db.get(Participant, me)) == since + timedelta(days=30)
    english(client)

    at(clock, since + timedelta(days=30) - timedelta(minutes=1))
    with app.app_context():
        tenants_api.sweep_retention("acme")
    assert exists(me)
    page = reactivation_page(client, "ann@example.org")
    assert "Reactivate my account" in page

    at(clock, since + timedelta(days=30) + timedelta(minutes=1))
    page = reactivation_page(client, "ann@example.org")
    assert "The time to reactivate it has passed" in page and "Reactivate my account" not in page
    with app.app_context():
        tenants_api.sweep_retention("acme")
    assert not exists(me)


# --- a refusal is remembered 6 months ---------------------------------------------------------


class BannerClose(HTMLParser):
    """The banner's close form: its action, and what pressing its button posts."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.action = ""
        self.data: dict[str, str] = {}
        self.buttons = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form" and "consent-close" in found.get("class", "").split():
            self.inside, self.action = True, found["action"]
        elif self.inside and tag in ("input", "button") and found.get("name"):
            self.data[found["name"]] = found.get("value", "")
            self.buttons += tag == "button"

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def banner_shown(client) -> bool:  # type: ignore[no-untyped-def]
    return 'id="consent-banner"' in client.get(HOME).get_data(as_text=True)


def test_closing_the_banner_refuses_everything_for_6_months(app, client, clock):
    """The close button of the banner, pressed as a browser would: what it posts is a
    refusal of every service, remembered 6 calendar months to the day, then asked again."""
    add_service()
    at(clock, datetime(2031, 1, 15, 12, 0, tzinfo=UTC))  # 15 January + 6 months = 181 days
    page = client.get(HOME).get_data(as_text=True)
    close = BannerClose()
    close.feed(page)
    assert close.action == "/t/acme/cookies" and close.buttons == 1
    closed = client.post(close.action, data=close.data)
    assert closed.status_code == 303 and closed.headers["Location"] == HOME

    [entry] = entries()
    assert set(entry.choices.values()) == {False}  # a refusal of every service
    assert entry.expires_at - entry.created_at == timedelta(days=181)
    cookie = next(h for h in closed.headers.getlist("Set-Cookie")
                  if h.startswith(consent_visitor.COOKIE + "="))
    assert re.search(r"Expires=Tue, 15 Jul 2031 12:00:\d\d GMT", cookie)
    html = client.get(HOME).get_data(as_text=True)
    assert 'id="consent-banner"' not in html and SCRIPT not in html

    at(clock, entry.expires_at - timedelta(minutes=1))
    assert not banner_shown(client)  # not asked again within the 6 months
    at(clock, entry.expires_at + timedelta(minutes=1))
    assert banner_shown(client)  # asked again after them


def test_refuse_all_is_remembered_6_months_to_the_day(app, client, clock):
    add_service()
    at(clock, datetime(2031, 8, 31, 9, 30, tzinfo=UTC))  # to the last day of February
    assert choose(client, "refuse").status_code == 303
    [entry] = entries()
    assert entry.expires_at.date() == date(2032, 2, 29)  # 2032 is a leap year
    assert entry.expires_at - entry.created_at == timedelta(days=182)


# --- reminders 24 h and 1 h before ------------------------------------------------------------


def test_reminders_default_to_24_hours_and_1_hour_before_the_start(app, client):
    start = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    with app.app_context(), tenants_api.tenant_context("acme") as db:
        event = events.create(db, title={"fr": "Atelier", "en": "Workshop"},
                              starts_at=start, ends_at=start + timedelta(hours=2),
                              status="published")
        event_id = event.id
        assert event.reminders == [1440, 60]
    with tenants_api.tenant_context("acme") as db:
        queued = [job.run_after for job in db.scalars(
            select(TenantJob).where(TenantJob.task.endswith("send_reminders"))
            .order_by(TenantJob.run_after))]
        stored = db.get(Event, event_id)
        assert stored.reminders == [1440, 60]
    assert queued == [start - timedelta(hours=24), start - timedelta(hours=1)]

    # An event stored without reminders chosen gets the same ones.
    with tenants_api.tenant_context("acme") as db:
        bare = Event(title={"en": "Bare"}, starts_at=start, ends_at=start + timedelta(hours=1),
                     status="draft")
        db.add(bare)
        db.flush()
        assert bare.reminders == [1440, 60]

    # The admin's form for a new event has them ticked, and only them.
    sign_in_member(client, "acme", "admin", in_english=True)
    page = client.get("/t/acme/admin/events/new").get_data(as_text=True)
    boxes = re.findall(r'<input type="checkbox" name="reminders"[^>]*value="(\d+)"\s*(checked)?',
                       page)
    assert sorted(boxes) == [("10080", ""), ("1440", "checked"), ("60", "checked")]
