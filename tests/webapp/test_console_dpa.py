"""A tenant opened from the operators' console (PRODUCT.md, processor duties: the DPA is
accepted by the tenant owner before provisioning). Signup has the owner accept it first; the
console, where no owner exists yet, records on whose instruction the space was opened, leaves
the acceptance pending, and its owner sees a banner on every page until they accept it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tests.fixtures.people import client_for, english, signed_in
from webapp import db
from webapp.auth.models import Account, Membership
from webapp.dpa import services as dpa_services
from webapp.dpa import versions as dpa
from webapp.organisations import services as org_services
from webapp.organisations.models import ProvisioningInstruction, Tenant

OPERATOR = "admin@parvis.test"
OWNER = "owner@initech.test"
FORM = {"name": "Initech", "slug": "initech", "default_language": "fr",
        "instructed_by_name": "Bill Lumbergh", "instructed_by_email": "Bill@Initech.example"}


def tenants(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Tenant))


def operator(app: Flask):  # type: ignore[no-untyped-def]
    return client_for(app, OPERATOR, operator_role="admin")


def banner(client) -> str:  # type: ignore[no-untyped-def]
    """The DPA banner of a page the owner opens, or "" when there is none."""
    page = client.get("/account").get_data(as_text=True)
    start = page.find('class="notice dpa-banner"')
    return "" if start < 0 else page[start:page.index("</div>", start)]


@pytest.mark.parametrize(("missing", "english_text", "french_text"), [
    ({"instructed_by_name": ""}, "Enter the name of the person who asked for this space.",
     "Saisissez le nom de la personne qui a demandé cet espace."),
    ({"instructed_by_email": ""}, "Enter a valid e-mail address",
     "Saisissez une adresse e-mail valide"),
    ({"instructed_by_email": "not an address"}, "Enter a valid e-mail address",
     "Saisissez une adresse e-mail valide"),
    ({"instructed_by_name": "Bill\u202eLumbergh"}, "at most 200 printable characters",
     "200 caractères imprimables"),
])
def test_no_tenant_without_saying_on_whose_instruction(app, tenant_storage, missing,
                                                       english_text, french_text):
    client = operator(app)
    before = tenant_storage()
    refused = client.post("/ops/tenants", data={**FORM, **missing})
    assert refused.status_code == 422
    assert french_text in refused.get_data(as_text=True)
    refused = english(client).post("/ops/tenants", data={**FORM, **missing})
    assert refused.status_code == 422
    assert english_text in refused.get_data(as_text=True)
    assert tenants(app) == 2 and tenant_storage() == before


def test_the_instruction_is_recorded_and_the_acceptance_pending(app):
    client = english(operator(app))
    assert client.post("/ops/tenants", data=FORM).status_code == 303
    with app.app_context():
        tenant = org_services.get(db.session(), "initech")
        found = db.session().get(ProvisioningInstruction, tenant.id)
        assert (found.instructed_by_name, found.instructed_by_email, found.operator_email) == (
            "Bill Lumbergh", "bill@initech.example", OPERATOR)
        assert dpa_services.dpa_pending(tenant.id)
    page = client.get("/ops/tenants/initech/status").get_data(as_text=True)
    assert "Opened on the instruction of" in page and "Bill Lumbergh" in page
    assert "Acceptance of the current version pending" in page


def test_the_owner_sees_the_banner_until_they_accept_in_the_browser(app):
    assert operator(app).post("/ops/tenants", data=FORM).status_code == 303
    with app.app_context():
        factories.member("initech", OWNER, "owner")
        tenant_id = org_services.get(db.session(), "initech").id
    owner = english(signed_in(app.test_client(), OWNER))
    shown = banner(owner)
    assert "waiting for your acceptance" in shown and "/organisations/initech/dpa" in shown
    page = owner.get("/organisations/initech/dpa").get_data(as_text=True)
    assert "on the instruction of Bill Lumbergh" in page and "Accept the agreement" in page
    # Still pending after a page without the box ticked.
    assert owner.post("/organisations/initech/dpa",
                      data={"version": dpa.current().id}).status_code == 422
    assert banner(owner)

    accepted = owner.post("/organisations/initech/dpa",
                          data={"version": dpa.current().id, "confirm": "y"})
    assert accepted.status_code == 303
    assert banner(owner) == ""
    with app.app_context():
        acceptance = dpa_services.accepted_version(db.session(), tenant_id)
        assert acceptance is not None and acceptance.account_email == OWNER
    console = english(signed_in(app.test_client(), OPERATOR))
    page = console.get("/ops/tenants/initech/status").get_data(as_text=True)
    assert f"accepted by {OWNER}" in page and "pending" not in page


def test_the_banner_is_for_owners_only(app):
    assert operator(app).post("/ops/tenants", data=FORM).status_code == 303
    admin = english(client_for(app, "admin@initech.test", slug="initech", role="admin"))
    assert banner(admin) == ""
    assert admin.post("/organisations/initech/dpa", data={
        "version": dpa.current().id, "confirm": "y"}).status_code == 403


def test_whoever_asked_for_the_space_is_invited_to_own_it(app, outbox):
    """The console's space gets its owner by an e-mailed invitation to the instructing person,
    valid only while the space has no owner."""
    client = english(operator(app))
    created = client.post("/ops/tenants", data=FORM)
    assert created.status_code == 303
    assert "bill@initech.example is invited to become its owner." in client.get(
        created.headers["Location"]).get_data(as_text=True)
    [message] = [m for m in outbox.messages if m["To"] == "bill@initech.example"]
    [link] = [link for link in outbox.links(message) if "/invitations/" in link]
    path = urlsplit(link).path
    bill = app.test_client()
    answer = bill.post(path, data={"display_name": "Bill Lumbergh",
                                   "new_password": "a long passphrase 42",
                                   "confirm": "a long passphrase 42"})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    with app.app_context():
        tenant = org_services.get(db.session(), "initech")
        roles = db.session().execute(select(Account.email, Membership.role).join(
            Membership).where(Membership.tenant_id == tenant.id)).all()
    assert roles == [("bill@initech.example", "owner")]
