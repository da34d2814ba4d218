"""The operator console (issue 7, point 8): tenants with status, plan and schema revision;
suspend and reactivate with a recorded reason; never any tenant data."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories
from webapp import db
from webapp.billing.models import Subscription
from webapp.organisations import services as org_services
from webapp.organisations.models import StatusChange, TenantStatus

OPERATOR_ROLES = ("admin", "support", "privacy")


def operator(app, role: str = "admin"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    email = f"{role}@parvis.test"
    with app.app_context():
        factories.account(email, operator_role=role)
    assert factories.login(client, email).status_code == 303
    return client


def status_of(app, slug: str) -> TenantStatus:  # type: ignore[no-untyped-def]
    with app.app_context():
        return org_services.get(db.session(), slug).status


def changes(app) -> list[StatusChange]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(db.session().scalars(select(StatusChange).order_by(StatusChange.id)))
        db.session().expunge_all()
        return found


@pytest.mark.parametrize("role", OPERATOR_ROLES)
def test_every_operator_role_sees_the_registry(app, english, role):
    with app.app_context():
        acme = org_services.get(db.session(), "acme")
        db.session().add(Subscription(tenant_id=acme.id, plan="team", status="active"))
        db.commit()
    client = english(operator(app, role))
    page = client.get("/ops/tenants")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "/t/acme/" in text and "/t/globex/" in text
    assert "<td>Team</td>" in text  # acme's plan
    assert "not billed" in text  # globex: created by an operator, not billed
    with app.app_context():
        revision = org_services.get(db.session(), "acme").schema_revision
    assert revision and revision in text
    assert client.get("/ops/tenants/acme/status").status_code == 200


def test_members_get_403_and_anonymous_visitors_must_sign_in(app, client):
    for path in ("/ops/tenants", "/ops/tenants/acme/status"):
        anonymous = client.get(path)
        assert anonymous.status_code in (302, 401)
    assert client.post("/ops/tenants/acme/status",
                       data={"status": "suspended", "reason": "x"}).status_code in (302, 401)
    with app.app_context():
        factories.member("acme", "owner@acme.test", "owner")
    member = app.test_client()
    factories.login(member, "owner@acme.test")
    assert member.get("/ops/tenants").status_code == 403
    assert member.get("/ops/tenants/acme/status").status_code == 403
    assert member.post("/ops/tenants/acme/status",
                       data={"status": "suspended", "reason": "x"}).status_code == 403
    assert status_of(app, "acme") == TenantStatus.ACTIVE
    assert changes(app) == []


def test_the_privacy_officer_cannot_suspend_nor_create(app):
    client = operator(app, "privacy")
    assert client.post("/ops/tenants/acme/status",
                       data={"status": "suspended", "reason": "x"}).status_code == 403
    assert client.post("/ops/tenants", data={"name": "X", "slug": "xyz",
                                              "default_language": "fr"}).status_code == 403
    page = client.get("/ops/tenants/acme/status").get_data(as_text=True)
    assert 'name="reason"' not in page
    assert status_of(app, "acme") == TenantStatus.ACTIVE


def test_support_cannot_create_a_tenant(app):
    client = operator(app, "support")
    assert 'action="/ops/tenants"' not in client.get("/ops/tenants").get_data(as_text=True)
    assert client.post("/ops/tenants", data={"name": "X", "slug": "xyz",
                                              "default_language": "fr"}).status_code == 403


@pytest.mark.parametrize("role", ("admin", "support"))
def test_suspend_and_reactivate_with_a_recorded_reason(app, english, role):
    client = english(operator(app, role))
    response = client.post("/ops/tenants/acme/status",
                           data={"status": "suspended", "reason": "Phishing pages reported"})
    assert response.status_code == 303
    assert response.location == "/ops/tenants/acme/status"
    assert status_of(app, "acme") == TenantStatus.SUSPENDED
    assert client.get("/t/acme/").status_code == 403

    page = client.get("/ops/tenants/acme/status").get_data(as_text=True)
    assert "Phishing pages reported" in page
    assert f"{role}@parvis.test" in page
    assert "Reactivate the organisation" in page

    client.post("/ops/tenants/acme/status", data={"status": "active", "reason": "Cleaned up"})
    assert status_of(app, "acme") == TenantStatus.ACTIVE
    assert client.get("/t/acme/").status_code == 200
    [suspended, reactivated] = changes(app)
    assert (suspended.from_status, suspended.to_status, suspended.reason) == (
        TenantStatus.ACTIVE, TenantStatus.SUSPENDED, "Phishing pages reported")
    assert (reactivated.from_status, reactivated.to_status, reactivated.reason) == (
        TenantStatus.SUSPENDED, TenantStatus.ACTIVE, "Cleaned up")
    assert suspended.account_email == f"{role}@parvis.test"
    assert suspended.at is not None


def test_reactivation_restores_read_only(app):
    with app.app_context():
        org_services.set_status(db.session(), org_services.get(db.session(), "acme"),
                                TenantStatus.READ_ONLY)
        db.commit()
    client = operator(app)
    client.post("/ops/tenants/acme/status", data={"status": "suspended", "reason": "Abuse"})
    client.post("/ops/tenants/acme/status", data={"status": "active", "reason": "Resolved"})
    assert status_of(app, "acme") == TenantStatus.READ_ONLY


@pytest.mark.parametrize(("data", "message"), [
    ({"status": "suspended", "reason": ""}, "Give the reason for this change."),
    ({"status": "suspended", "reason": "   "}, "Give the reason for this change."),
    ({"status": "suspended", "reason": "x" * 1001}, "at most 1000 characters"),
    ({"status": "suspended", "reason": "bad\x07reason"}, "control characters"),
    ({"status": "active", "reason": "Not suspended"}, "Only a suspended organisation"),
])
def test_bad_status_changes_are_refused_and_change_nothing(app, english, data, message):
    client = english(operator(app))
    response = client.post("/ops/tenants/acme/status", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="reason-error"' in page
    assert message in page
    assert status_of(app, "acme") == TenantStatus.ACTIVE
    assert changes(app) == []


def test_a_forged_status_is_400_and_an_unknown_tenant_404(app):
    client = operator(app)
    for status in ("read_only", "provisioning", "ended", ""):
        assert client.post("/ops/tenants/acme/status",
                           data={"status": status, "reason": "x"}).status_code == 400
    assert client.post("/ops/tenants/nobody/status",
                       data={"status": "suspended", "reason": "x"}).status_code == 404
    assert client.get("/ops/tenants/nobody/status").status_code == 404
    assert changes(app) == []


def test_no_tenant_data_is_shown(app):
    """The console shows the registry, never what a tenant holds: its participants' addresses
    do not appear, and no page links into the tenant's own pages."""
    with app.app_context():
        factories.participant("acme", "secret.person@example.org", first_name="Zerubabel")
    client = operator(app)
    for path in ("/ops/tenants", "/ops/tenants/acme/status"):
        page = client.get(path).get_data(as_text=True)
        assert "secret.person@example.org" not in page
        assert "Zerubabel" not in page
        assert 'href="/t/acme' not in page
