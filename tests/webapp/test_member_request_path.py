"""A signed-in member's page asks the control plane one thing (issue 18), in one statement from
Flask-Login's loader: the live login session, its account and the member's standing in the
tenant (``webapp.tenancy.Standing``: role, the tenant's two-factor rule, the subscription for
the billing banner, whether the DPA and sub-processor banners have anything to show). Nothing
about the person is kept from one request to the next: a role taken away, a policy turned on
or a payment failed shows on the very next page.

The resolver's own tests (the registry cache) are in tests/test_request_path.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from core.clock import utcnow
from tests import factories
from tests.conftest import StatementCounter
from tests.fixtures.people import sign_in_member
from webapp import db, tenancy
from webapp.auth import services as auth_services
from webapp.auth.models import Account, Membership
from webapp.billing.models import Subscription
from webapp.dpa import services as dpa_services
from webapp.dpa import versions
from webapp.members.models import MemberPolicy
from webapp.organisations.models import Tenant

OWNER = "owner@acme.test"
PAGES = ("/t/acme/admin/events", "/t/acme/admin/participants")


@pytest.fixture
def control_statements(app: Flask) -> Iterator[StatementCounter]:
    """``with control_statements: …``: the statements sent to the control plane meanwhile (the
    tenant plane has an engine of its own on both databases)."""
    counter = StatementCounter()
    with app.app_context():
        engine = db.engine()
    event.listen(engine, "before_cursor_execute", counter.record)
    yield counter
    event.remove(engine, "before_cursor_execute", counter.record)


def acme_and_owner_ids(app: Flask) -> tuple[int, int]:
    with app.app_context():
        tenant_id = db.session().scalar(select(Tenant.id).where(Tenant.slug == "acme"))
        owner_id = db.session().scalar(select(Account.id).where(Account.email == OWNER))
    assert tenant_id is not None and owner_id is not None
    return tenant_id, owner_id


@pytest.fixture
def owner(app: Flask, client: FlaskClient) -> FlaskClient:
    """acme's owner, signed in (without two-factor sign-in), the DPA accepted: no banner of
    the owner's asks for its list."""
    sign_in_member(client, "acme", "owner", in_english=True)
    tenant_id, owner_id = acme_and_owner_ids(app)
    with app.app_context():
        dpa_services.accept(db.session(), tenant_id, owner_id, versions.current().id)
        db.commit()
    return client


def set_in_another_unit_of_work(app: Flask, *rows: object, statement: object = None) -> None:
    with app.app_context():
        session = db.session()
        session.add_all(rows)
        if statement is not None:
            session.execute(statement)  # type: ignore[call-overload]
        db.commit()


@pytest.mark.parametrize("page", PAGES)
def test_an_owners_admin_page_asks_the_control_plane_once(
        owner: FlaskClient, control_statements: StatementCounter, page: str) -> None:
    assert owner.get(page).status_code == 200  # the registry cache is warm from here on
    with control_statements:
        assert owner.get(page).status_code == 200
    sent = control_statements.statements
    assert len(sent) == 1, "\n\n".join(sent)
    assert not [sql for sql in sent if sql.lstrip().upper().startswith("SELECT TENANTS.")]


def test_the_billing_banner_comes_with_the_standing(
        app: Flask, owner: FlaskClient, control_statements: StatementCounter) -> None:
    tenant_id, owner_id = acme_and_owner_ids(app)
    assert "billing-banner" not in owner.get(PAGES[0]).get_data(as_text=True)
    set_in_another_unit_of_work(app, Subscription(
        tenant_id=tenant_id, account_id=owner_id, plan="organisation", status="past_due",
        past_due_since=utcnow()))
    owner.get(PAGES[0])  # the registry row again: the plan's limits come with it
    with control_statements:
        page = owner.get(PAGES[0]).get_data(as_text=True)
    assert "The last payment of the subscription failed" in page
    assert control_statements.count == 1, "\n\n".join(control_statements.statements)


def test_a_role_taken_away_shows_on_the_next_request(app: Flask, owner: FlaskClient) -> None:
    tenant_id, owner_id = acme_and_owner_ids(app)
    assert owner.get("/t/acme/admin/members").status_code == 200
    set_in_another_unit_of_work(app, statement=update(Membership).where(
        Membership.tenant_id == tenant_id, Membership.account_id == owner_id)
        .values(role="viewer"))
    assert owner.get("/t/acme/admin/members").status_code == 403


def test_a_session_ended_elsewhere_shows_on_the_next_request(
        app: Flask, owner: FlaskClient) -> None:
    assert owner.get(PAGES[0]).status_code == 200
    with app.app_context():  # "sign out everywhere", from another browser
        auth_services.end_all_sessions(db.session(), db.session().scalar(
            select(Account).where(Account.email == OWNER)))
        db.commit()
    signed_out = owner.get(PAGES[0])
    assert signed_out.status_code in (302, 303) and "/login" in signed_out.location


def test_a_two_factor_rule_shows_on_the_next_request(app: Flask, owner: FlaskClient) -> None:
    tenant_id, owner_id = acme_and_owner_ids(app)
    assert owner.get(PAGES[0]).status_code == 200
    set_in_another_unit_of_work(app, MemberPolicy(
        tenant_id=tenant_id, require_two_factor=True, changed_by_id=owner_id,
        changed_at=utcnow()))
    refused = owner.get(PAGES[0])
    assert refused.status_code == 302 and "/account/two-factor" in refused.location


def test_a_pending_dpa_shows_its_banner_without_a_statement_of_its_own(
        app: Flask, client: FlaskClient, control_statements: StatementCounter) -> None:
    # Neither acme nor globex has accepted it: the banner names both, in the names' order.
    sign_in_member(client, "globex", "owner", OWNER)
    sign_in_member(client, "acme", "owner", OWNER, in_english=True)
    assert client.get("/t/globex/").status_code == 200  # its registry row kept from here on
    assert client.get(PAGES[0]).status_code == 200  # and acme's
    with control_statements:
        page = client.get(PAGES[0]).get_data(as_text=True)
    assert control_statements.count == 1, "\n\n".join(control_statements.statements)
    banner = page[page.index('class="notice dpa-banner"'):]
    banner = banner[:banner.index("</div>")]
    assert 0 < banner.index("/organisations/acme/dpa") < banner.index("/organisations/globex/dpa")


def test_pending_dpas_of_tenants_not_visited_cost_one_statement_together(
        app: Flask, client: FlaskClient, control_statements: StatementCounter) -> None:
    """The banner names tenants whose registry rows this process has not kept: read together,
    whatever their number (a row read inside the request's transaction is not kept)."""
    with app.app_context():
        for slug in ("initech", "umbrella"):
            factories.tenant(slug)
    for slug in ("globex", "initech", "umbrella"):
        sign_in_member(client, slug, "owner", OWNER)
    sign_in_member(client, "acme", "owner", OWNER, in_english=True)
    tenancy.cache.clear()  # none of the other tenants' rows kept
    assert client.get(PAGES[0]).status_code == 200  # acme's row kept from here on
    with control_statements:
        page = client.get(PAGES[0]).get_data(as_text=True)
    assert control_statements.count == 2, "\n\n".join(control_statements.statements)
    for slug in ("acme", "globex", "initech", "umbrella"):
        assert f"/organisations/{slug}/dpa" in page
