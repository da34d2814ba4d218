"""Plan limits: enforced inside the tenant with a clear page and the way to a larger plan;
a read-only space still lets participants exercise their rights."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tenants import api as tenants_api
from tests import factories
from tests.tenants.account_helpers import signup_data
from tests.tenants.registration_helpers import add_people
from tests.tenants.test_events import form as event_form
from tests.tenants.test_fields import texts as field_texts
from webapp import db, tenancy
from webapp.billing import plans
from webapp.billing.models import Subscription
from webapp.organisations.models import Tenant, TenantStatus

SMALL = tenants_api.Limits(events_per_month=2, participants=3, custom_fields=1, members=2)


@pytest.fixture
def small_plan(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """acme on the starter plan, made small so the tests reach its limits quickly."""
    monkeypatch.setitem(plans.PLANS, "starter", plans.Plan(
        "starter", "Starter", 1900, SMALL, trial_days=14))
    acme = db.session().query(Tenant).filter_by(slug="acme").one()
    db.session().add(Subscription(tenant_id=acme.id, plan="starter", status="active"))
    db.commit()
    tenancy.cache.clear()
    yield
    tenancy.cache.clear()


def _admin(client, english, role: str = "admin"):  # type: ignore[no-untyped-def]
    factories.member("acme", f"{role}@acme.test", role)
    factories.login(english(client), f"{role}@acme.test")
    return client


def test_events_per_month(small_plan: None, client, english):
    admin = _admin(client, english, "owner")
    for _ in range(2):
        assert admin.post("/t/acme/admin/events/new", data=event_form()).status_code == 303
    refused = admin.post("/t/acme/admin/events/new", data=event_form())
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "Your plan allows 2 new events per month" in page
    assert "/organisations/acme/subscription" in page and "See the plans" in page
    with tenants_api.tenant_context("acme") as session:
        from sqlalchemy import func, select

        from tenants.events.models import Event
        assert session.scalar(select(func.count()).select_from(Event)) == 2


def test_custom_fields(small_plan: None, client, english):
    admin = _admin(client, english)
    new = "/t/acme/admin/form/fields/new?type=text"
    assert admin.post(new, data=field_texts()).status_code in (200, 303)
    refused = admin.post(new, data=field_texts(**{"label-en": "Second"}))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "Your plan allows 1 custom registration fields" in page
    assert "only the owner can change it" in page
    # From the htmx form, the refusal replaces the page's content instead of being ignored.
    swapped = admin.post(new, data=field_texts(**{"label-en": "Third"}),
                         headers={"HX-Request": "true"})
    assert swapped.status_code == 403 and swapped.headers["HX-Retarget"] == "#main"
    assert "Your plan allows 1 custom registration fields" in swapped.get_data(as_text=True)


def test_participants(small_plan: None, client, english):
    add_people("acme", 3)
    refused = english(client).post("/t/acme/signup", data=signup_data("late@example.org"))
    assert refused.status_code == 403
    assert "cannot accept new participants" in refused.get_data(as_text=True)
    assert tenants_api.count_participants("acme") == 3


def test_no_subscription_no_limit(ctx: Flask, client, english):
    """A tenant made by an operator (no subscription) is not limited."""
    admin = _admin(client, english)
    for _ in range(3):
        assert admin.post("/t/acme/admin/events/new", data=event_form()).status_code == 303


def test_read_only_space_keeps_participants_rights(ctx: Flask, client, english):
    factories.confirmed_participant("acme", "ada@example.org")
    acme = db.session().query(Tenant).filter_by(slug="acme").one()
    acme.status = TenantStatus.READ_ONLY
    db.commit()
    visitor = english(client)
    signed_in = visitor.post("/t/acme/login", data={"email": "ada@example.org",
                                                   "password": factories.PASSWORD})
    assert signed_in.status_code == 303
    assert visitor.get("/t/acme/me").status_code == 200
    assert visitor.post("/t/acme/me/visibility", data={"visibility": "hidden"}).status_code in (
        303, 422)
    assert visitor.post("/t/acme/logout").status_code == 303
    # Anything else that writes is refused.
    refused = visitor.post("/t/acme/signup", data=signup_data("new@example.org"))
    assert refused.status_code == 403 and "read-only" in refused.get_data(as_text=True)
