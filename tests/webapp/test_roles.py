"""Who may see what: tenant roles, other tenants, the operator console and tenant statuses."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from tenants import api as tenants_api
from tenants import db as tenant_db
from tests import factories
from tests.fixtures.people import sign_in_member, sign_in_operator
from webapp import db
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant, TenantStatus

OPERATOR = "ops@parvis.test"
# On whose instruction an operator opens a tenant from the console (webapp/organisations).
INSTRUCTION = {"instructed_by_name": "Ann Client", "instructed_by_email": "ann@client.example"}


def tenant_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Tenant))


def test_viewer_lists_participants_but_cannot_open_a_record(app, client):
    with app.app_context():
        ada = factories.participant("acme", "ada@acme.test", first_name="Ada",
                                    last_name="Lovelace")
    sign_in_member(client, "acme", "viewer", "staff@acme.test")

    listing = client.get("/t/acme/admin/participants")
    assert listing.status_code == 200
    assert "Lovelace" in listing.get_data(as_text=True)
    assert f"/admin/participants/{ada}" not in listing.get_data(as_text=True)
    assert client.get(f"/t/acme/admin/participants/{ada}").status_code == 403


def test_manager_opens_a_record(app, client):
    with app.app_context():
        ada = factories.participant("acme", "ada@acme.test", last_name="Lovelace")
    sign_in_member(client, "acme", "manager", "staff@acme.test")
    response = client.get(f"/t/acme/admin/participants/{ada}")
    assert response.status_code == 200
    assert "ada@acme.test" in response.get_data(as_text=True)


def test_member_of_one_tenant_has_no_access_to_another(app, client):
    with app.app_context():
        bob = factories.participant("globex", "bob@globex.test", last_name="Builder")
    sign_in_member(client, "acme", "owner", "staff@acme.test")
    assert client.get("/t/globex/admin/participants").status_code == 403
    assert client.get(f"/t/globex/admin/participants/{bob}").status_code == 403
    assert client.get("/t/acme/admin/participants").status_code == 200


def test_operator_console_is_for_operators_only(app, client):
    sign_in_member(client, "acme", "owner", "staff@acme.test")
    assert client.get("/ops/tenants").status_code == 403
    assert client.post("/ops/tenants", data={"name": "Evil", "slug": "evil",
                                             "default_language": "fr"}).status_code == 403
    assert client.post("/ops/tenants/acme/status",
                       data={"status": "suspended"}).status_code == 403
    assert tenant_count(app) == 2

    operator = sign_in_operator(app.test_client(), OPERATOR)
    page = operator.get("/ops/tenants")
    assert page.status_code == 200
    assert "/t/globex/" in page.get_data(as_text=True)


def test_operator_creates_a_tenant_that_serves_its_pages(app, client, tenant_storage):
    sign_in_operator(client, OPERATOR)
    before = tenant_storage()
    response = client.post("/ops/tenants", data={"name": "Initech", "slug": "initech",
                                                 "default_language": "en", **INSTRUCTION})
    assert response.status_code == 303
    assert response.headers["Location"] == "/ops/tenants"
    assert len(tenant_storage() - before) == 1  # its own schema, or its own file
    with app.app_context():
        tenant = org_services.get(db.session(), "initech")
        assert tenant.status == TenantStatus.ACTIVE
        assert tenant.default_language == "en"
    home = client.get("/t/initech/")
    assert home.status_code == 200
    assert "Initech" in home.get_data(as_text=True)


def test_invalid_slug_in_the_console_shows_the_error_and_creates_nothing(
        app, client, english, tenant_storage):
    sign_in_operator(english(client), OPERATOR)
    before = tenant_storage()
    response = client.post("/ops/tenants", data={"name": "Bad", "slug": "../Bad",
                                                 "default_language": "fr", **INSTRUCTION})
    assert response.status_code == 422
    assert "The address name must start with a lowercase letter" in response.get_data(
        as_text=True)
    assert tenant_count(app) == 2
    assert tenant_storage() == before


def test_name_error_is_shown_on_the_name_field(app, client, english):
    sign_in_operator(english(client), OPERATOR)
    response = client.post("/ops/tenants", data={"name": "Bad\x07name", "slug": "badname",
                                                 "default_language": "fr", **INSTRUCTION})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="name-error"' in page
    assert 'id="slug-error"' not in page
    assert tenant_count(app) == 2


def set_status(client, slug: str, status: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/ops/tenants/{slug}/status",
                           data={"status": status, "reason": "Test of the closed page"})
    assert response.status_code == 303


def test_suspended_tenant_shows_a_closed_page(app, client, english):
    sign_in_operator(english(client), OPERATOR)
    set_status(client, "acme", "suspended")

    response = client.get("/t/acme/")
    assert response.status_code == 403
    assert "This space is not available" in response.get_data(as_text=True)
    assert client.get("/t/globex/").status_code == 200

    set_status(client, "acme", "active")
    assert client.get("/t/acme/").status_code == 200


def test_read_only_tenant_serves_reads_and_refuses_writes(app, make_app, english):
    # No tenant page takes a POST yet: a dedicated app adds one to the tenant blueprint
    # (its "tenant." endpoint prefix), so the tenant guards apply to it as to any tenant page.
    probe_app = make_app()

    def add_participant():  # type: ignore[no-untyped-def]
        tenants_api.participants.add(tenant_db.session(),
                                     email=f"{secrets.token_hex(4)}@example.test")
        return "", 204

    probe_app.add_url_rule("/t/<tenant>/probe", endpoint="tenant.probe",
                           view_func=add_participant, methods=["POST"])
    client = english(probe_app.test_client())
    assert client.post("/t/acme/probe").status_code == 204
    assert client.post("/t/globex/probe").status_code == 204

    with probe_app.app_context():
        org_services.set_status(db.session(), org_services.get(db.session(), "acme"),
                                TenantStatus.READ_ONLY)
        db.commit()

    assert client.get("/t/acme/").status_code == 200
    refused = client.post("/t/acme/probe")
    assert refused.status_code == 403
    assert "This space is read-only for now" in refused.get_data(as_text=True)
    assert client.post("/t/globex/probe").status_code == 204
    assert tenants_api.count_participants("acme") == 1
    assert tenants_api.count_participants("globex") == 2


def test_unknown_tenant_status_change_is_404(app, client):
    sign_in_operator(client, OPERATOR)
    assert client.post("/ops/tenants/nobody/status",
                       data={"status": "suspended"}).status_code == 404
    assert client.post("/ops/tenants/acme/status",
                       data={"status": "provisioning"}).status_code == 400


def test_htmx_form_error_returns_only_the_fragment(app, client, english):
    sign_in_operator(english(client), OPERATOR)
    response = client.post("/ops/tenants", data={"name": "", "slug": "BAD",
                                                 "default_language": "fr"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "HX-Request" in response.headers["Vary"]
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment
    assert "<h1>" not in fragment
    assert 'id="name-error"' in fragment
    assert "<table" in fragment  # the registry block, which hx-target replaces

    full = client.post("/ops/tenants", data={"name": "", "slug": "BAD",
                                             "default_language": "fr"})
    assert "<html" in full.get_data(as_text=True)
    assert "HX-Request" in full.headers["Vary"]
