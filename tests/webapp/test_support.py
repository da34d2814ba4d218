"""Support access: tenant admins grant, list and revoke time-limited access; an operator reads
a tenant's data as a viewer only while its grant is active, every page logged; expired,
revoked, forged or another tenant's grants change nothing."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.clock import utcnow
from tenants import api as tenants_api
from tests import factories
from tests.fixtures.people import client_for as signed_in
from webapp import db
from webapp.organisations import services as org_services
from webapp.support.models import SupportGrant

SUPPORT = "support@parvis.test"
STAFF_PAGE = "/t/acme/admin/participants"


def grants() -> list[SupportGrant]:
    return list(db.session().scalars(select(SupportGrant).order_by(SupportGrant.id)))


def support_reads(slug: str = "acme") -> list[str]:
    return [page for _, page, _ in tenants_api.support_reads(slug)]


@pytest.fixture
def owner(app: Flask):  # type: ignore[no-untyped-def]
    return signed_in(app, "owner@acme.test", slug="acme")


@pytest.fixture
def support(app: Flask):  # type: ignore[no-untyped-def]
    return signed_in(app, SUPPORT, operator_role="support")


def give(client, slug: str = "acme", hours: int = 24, reason: str = "Ticket 42"):  # type: ignore[no-untyped-def]
    return client.post(f"/organisations/{slug}/support", data={"hours": hours, "reason": reason})


# --- who may see what ------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("owner", 200), ("admin", 200), ("manager", 403),
                                          ("moderator", 403), ("viewer", 403)])
def test_grant_page_by_member_role(app, role, status):
    member = signed_in(app, f"{role}@acme.test", slug="acme", role=role)
    assert member.get("/organisations/acme/support").status_code == status
    assert give(member).status_code == (303 if status == 200 else 403)
    with app.app_context():
        assert len(grants()) == (1 if status == 200 else 0)


@pytest.mark.parametrize("role", ["admin", "support", "privacy"])
def test_operators_see_active_grants_but_cannot_grant(app, role):
    operator = signed_in(app, f"{role}@parvis.test", operator_role=role)
    assert operator.get("/ops/support").status_code == 200
    assert operator.get("/organisations/acme/support").status_code == 403
    assert give(operator).status_code == 403
    with app.app_context():
        assert grants() == []


def test_members_and_anonymous_cannot_see_the_operators_list(app, client, owner):
    assert owner.get("/ops/support").status_code == 403
    assert client.get("/ops/support").status_code == 302
    assert client.get("/organisations/acme/support").status_code == 302
    assert give(client).status_code == 401


# --- reading under a grant ------------------------------------------------------------------


def test_without_a_grant_the_support_sees_nothing(app, support):
    assert support.get(STAFF_PAGE).status_code == 403
    with app.app_context():
        assert support_reads() == []


def test_with_a_grant_the_support_reads_as_a_viewer_and_every_read_is_logged(
        app, owner, support):
    with app.app_context():
        person = factories.participant("acme", "ada@example.org", first_name="Ada")
    assert give(owner).status_code == 303
    listing = support.get(STAFF_PAGE)
    assert listing.status_code == 200
    assert "Ada" in listing.get_data(as_text=True)
    assert support.get(f"{STAFF_PAGE}?q=Ada").status_code == 200
    # A viewer may not open a full record: refused, so nothing was read.
    assert support.get(f"{STAFF_PAGE}/{person}").status_code == 403
    with app.app_context():
        assert support_reads() == [f"{STAFF_PAGE}?q=Ada", STAFF_PAGE]
    page = owner.get("/organisations/acme/support").get_data(as_text=True)
    assert SUPPORT in page and STAFF_PAGE in page
    # Viewer: no admin pages, and no write at all.
    assert support.get("/t/acme/admin/consent").status_code == 403
    assert support.post("/t/acme/admin/events/new", data={}).status_code == 403


def test_revoked_and_expired_grants_end_access_at_once(app, clock, owner, support):
    give(owner, hours=1)
    assert support.get(STAFF_PAGE).status_code == 200
    clock.advance(minutes=61)
    assert support.get(STAFF_PAGE).status_code == 403
    owner = signed_in(app, "admin@acme.test", slug="acme", role="admin")
    give(owner, hours=8)
    assert support.get(STAFF_PAGE).status_code == 200
    with app.app_context():
        active = grants()[-1].id
    assert owner.post(f"/organisations/acme/support/{active}/revoke").status_code == 303
    assert support.get(STAFF_PAGE).status_code == 403
    assert owner.post(f"/organisations/acme/support/{active}/revoke").status_code == 409
    with app.app_context():
        assert len(support_reads()) == 2  # the two reads made while a grant was active


def test_another_tenants_grant_opens_nothing_here_and_cannot_be_revoked(app, owner, support):
    globex = signed_in(app, "owner@globex.test", slug="globex")
    give(globex, slug="globex")
    assert support.get(STAFF_PAGE).status_code == 403
    assert support.get("/t/globex/admin/participants").status_code == 200
    with app.app_context():
        theirs = grants()[0]
    assert owner.post(f"/organisations/acme/support/{theirs.id}/revoke").status_code == 404
    assert owner.post(f"/organisations/globex/support/{theirs.id}/revoke").status_code == 403
    with app.app_context():
        assert grants()[0].revoked_at is None
        assert support_reads() == []


def test_a_member_role_is_kept_for_an_operator_who_is_also_a_member(app):
    both = signed_in(app, "dual@acme.test", slug="acme", role="admin")
    with app.app_context():
        from webapp.auth.models import Account

        account = db.session().scalar(select(Account).where(Account.email == "dual@acme.test"))
        account.operator_role = "support"
        # Operators must have two-factor sign-in, or every page sends them to set it up.
        account.totp_secret, account.totp_enabled_at = factories.TOTP_SECRET, utcnow()
        db.commit()
    assert both.get("/t/acme/admin/consent").status_code == 200  # admin, not a viewer
    with app.app_context():
        assert support_reads() == []


@pytest.mark.parametrize("data, field", [
    ({"hours": 200, "reason": "x"}, "hours"), ({"hours": "many", "reason": "x"}, "hours"),
    ({"hours": 24, "reason": "  "}, "reason"), ({"hours": 24, "reason": "x" * 1001}, "reason"),
])
def test_bad_grants_are_refused_and_change_nothing(app, owner, data, field):
    answer = owner.post("/organisations/acme/support", data=data)
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.get_data(as_text=True)
    with app.app_context():
        assert grants() == []


def test_one_grant_at_a_time(app, owner):
    give(owner)
    assert give(owner).status_code == 422
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(SupportGrant)) == 1
        tenant = org_services.get(db.session(), "acme")
        assert grants()[0].tenant_id == tenant.id
