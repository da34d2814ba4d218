"""Signup (issue 7, point 1): plan -> account verified by e-mail -> terms and DPA -> payment or
trial -> provisioning by billing -> onboarding. Bad input changes nothing and never answers 500."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tenants import api as tenants_api
from tests import factories
from tests.tenants.account_helpers import path
from webapp import db
from webapp.auth.models import Account, Membership
from webapp.billing import services as billing
from webapp.billing.gateway import GatewayError
from webapp.billing.models import Subscription
from webapp.dpa import versions as dpa
from webapp.dpa.models import DpaAcceptance
from webapp.organisations import services as org_services
from webapp.organisations.models import ControllerIdentity, Tenant, TenantStatus
from webapp.signup import tasks, terms
from webapp.signup.models import PendingSignup, TermsAcceptance

EMAIL = "founder@newco.example.org"
VERIFY_SUBJECT = "Confirmez votre adresse e-mail pour créer votre compte Parvis"  # French first


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


def tenant_row(app, **where) -> Tenant | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(select(Tenant).filter_by(**where))


def account_form(email: str = EMAIL, password: str = factories.PASSWORD, **extra: str) -> dict:
    return {"plan": "team", "email": email, "password": password, "password_confirm": password,
            **extra}


def verify_link(outbox, to: str = EMAIL) -> str:  # type: ignore[no-untyped-def]
    message = outbox.wait_for(lambda m: m["To"] == to and "/signup/verify/" in outbox.text(m))
    [link] = [u for u in outbox.links(message) if "/signup/verify/" in u]
    return path(link)


def sign_up(client, outbox, email: str = EMAIL):  # type: ignore[no-untyped-def]
    """An account made through the signup pages, signed in; returns the verification answer."""
    assert client.post("/signup/account", data=account_form(email)).status_code == 303
    return client.post(verify_link(outbox, email))


def organisation_form(name: str = "New Co", **extra: str) -> dict:
    return {"plan": "team", "name": name, "terms_version": terms.current().id,
            "dpa_version": dpa.current().id, "accept_terms": "y", "accept_dpa": "y", **extra}


def reserved(client, outbox, name: str = "New Co", email: str = EMAIL) -> str:  # type: ignore[no-untyped-def]
    """A signed-up account with its organisation reserved; returns the provisional slug."""
    sign_up(client, outbox, email)
    response = client.post("/signup/organisation", data=organisation_form(name))
    assert response.status_code == 303
    return re.fullmatch(r"/signup/([a-z0-9-]+)/payment\?plan=team", response.location)[1]


def onboarding_form(slug: str, **extra: str) -> dict:
    return {"name": "New Co", "slug": slug, "default_language": "fr",
            "legal_name": "New Co SAS", "address": "1 rue de la Paix\n75002 Paris",
            "dpo_name": "Dana Protect", "dpo_email": "dpo@newco.example.org", **extra}


# --- plan choice and the account ---------------------------------------------------------------


def test_home_page_leads_to_the_plans(app, client, english):
    home = english(client).get("/").get_data(as_text=True)
    assert 'href="/signup"' in home
    page = client.get("/signup").get_data(as_text=True)
    for code in ("starter", "team", "organisation"):
        assert f'href="/signup/account?plan={code}"' in page
    assert "Free trial: 14 days" in page


def test_account_is_created_only_when_the_link_is_followed(app, client, outbox):
    response = client.post("/signup/account", data=account_form())
    assert response.status_code == 303
    assert response.location == "/signup/check-inbox"
    assert count(app, Account) == 0
    link = verify_link(outbox)

    page = client.get(link)  # opening the link (a mail scanner may) spends nothing
    assert page.status_code == 200
    assert count(app, Account) == 0
    confirmed = client.post(link)
    assert confirmed.status_code == 303
    assert confirmed.location == "/signup/organisation?plan=team"
    with app.app_context():
        account = db.session().scalar(select(Account).where(Account.email == EMAIL))
        assert account.password_hash.startswith("$argon2id$")
        assert account.operator_role is None
    assert client.get("/signup/organisation?plan=team").status_code == 200  # signed in

    assert client.post(link).status_code == 410  # one use only
    assert count(app, Account) == 1
    assert count(app, PendingSignup) == 0  # the password hash now lives in the account only


def test_an_existing_address_gets_the_same_answer_and_no_second_account(app, client, english,
                                                                      outbox):
    with app.app_context():
        factories.account(EMAIL)
    response = english(client).post("/signup/account",
                                    data=account_form(password="another long pass 42"))
    assert response.status_code == 303
    assert response.location == "/signup/check-inbox"  # as for a new address
    message = outbox.wait_for(lambda m: m["To"] == EMAIL)
    assert message["Subject"] == "You already have a Parvis account"
    assert not [u for u in outbox.links(message) if "/verify/" in u]
    assert count(app, Account) == 1


def test_an_expired_link_creates_nothing(app, client, outbox, clock):
    client.post("/signup/account", data=account_form())
    link = verify_link(outbox)
    clock.advance(days=3)
    response = client.post(link)
    assert response.status_code == 410
    assert count(app, Account) == 0
    assert client.post("/signup/verify/not-a-token").status_code == 410


def test_signups_never_confirmed_are_purged_when_their_link_expires(app, client, outbox, clock):
    client.post("/signup/account", data=account_form())
    client.post("/signup/account", data=account_form("late@newco.example.org"))
    clock.advance(days=1)
    client.post("/signup/account", data=account_form("later@newco.example.org"))
    clock.advance(days=1, minutes=1)
    assert tasks.purge_expired_signups.call_local() == 2
    with app.app_context():
        assert db.session().scalars(select(PendingSignup.email)).all() == [
            "later@newco.example.org"]


def test_a_second_request_within_a_minute_sends_no_second_link(app, client, outbox):
    client.post("/signup/account", data=account_form())
    verify_link(outbox)
    client.post("/signup/account", data=account_form())
    assert [m["Subject"] for m in outbox.messages] == [VERIFY_SUBJECT]


@pytest.mark.parametrize(("data", "message"), [
    (account_form(email="not an address"), "Enter a valid e-mail address"),
    (account_form(password="short"), "Use at least 12 characters."),
    (account_form(password="founder-founder-2026"), "Do not use your e-mail address"),
    ({**account_form(), "password_confirm": "something else entirely"},
     "The two passwords are different."),
    ({**account_form(), "email": ""}, "Enter your e-mail address."),
    ({**account_form(), "plan": "gold"}, "Choose one of the plans."),
    ({**account_form(), "plan": ""}, "Choose one of the plans."),
])
def test_bad_account_input_is_refused_with_its_reason(app, client, english, outbox, data,
                                                      message):
    response = english(client).post("/signup/account", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, PendingSignup) == 0
    assert outbox.messages == []


def test_french_errors_by_default(app, client):
    response = client.post("/signup/account", data=account_form(password="short"))
    assert response.status_code == 422
    assert "Utilisez au moins 12 caractères." in response.get_data(as_text=True)


# --- terms, DPA and payment ----------------------------------------------------------------------


def test_the_organisation_step_needs_a_signed_in_account(app, client):
    response = client.get("/signup/organisation")
    assert response.status_code in (302, 303, 401)
    assert client.post("/signup/organisation", data=organisation_form()).status_code in (
        302, 303, 401)
    assert count(app, Tenant) == 2


def test_terms_and_dpa_are_recorded_with_the_reserved_tenant(app, client, outbox):
    slug = reserved(client, outbox)
    assert slug == "new-co"
    with app.app_context():
        session = db.session()
        tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
        account = session.scalar(select(Account).where(Account.email == EMAIL))
        assert tenant.status == TenantStatus.PROVISIONING
        assert not tenants_api.exists(slug)  # no schema before the payment
        assert session.scalar(select(Membership.role).where(
            Membership.tenant_id == tenant.id, Membership.account_id == account.id)) == "owner"
        accepted = session.scalars(select(TermsAcceptance)).one()
        assert (accepted.tenant_id, accepted.account_id, accepted.version, accepted.language) \
            == (tenant.id, account.id, terms.current().id, "fr")
        assert accepted.text_sha256 == terms.current().sha256("fr")
        assert accepted.accepted_at is not None
        dpa_row = session.scalars(select(DpaAcceptance)).one()
        assert (dpa_row.tenant_id, dpa_row.account_id, dpa_row.version) == (
            tenant.id, account.id, dpa.current().id)


def test_a_second_organisation_with_the_same_name_gets_another_address(app, client, outbox):
    assert reserved(client, outbox) == "new-co"
    response = client.post("/signup/organisation", data=organisation_form())
    assert response.location.startswith("/signup/new-co-2/payment")


@pytest.mark.parametrize(("change", "message"), [
    ({"accept_terms": ""}, "Accept the terms of service to continue."),
    ({"accept_dpa": ""}, "Accept the data processing agreement to continue."),
    ({"name": "   "}, "Enter the organisation"),
    ({"name": "Evil\u202ename"}, "invisible formatting characters"),
    ({"terms_version": "2020-01-01"}, "changed while you were reading them"),
    ({"dpa_version": "2020-01-01"}, "changed while you were reading them"),
    ({"terms_version": ""}, "changed while you were reading them"),
])
def test_terms_step_refuses_bad_input_and_creates_nothing(app, client, english, outbox, change,
                                                          message):
    sign_up(english(client), outbox)
    response = client.post("/signup/organisation", data={**organisation_form(), **change})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, Tenant) == 2
    assert count(app, TermsAcceptance) == 0
    assert count(app, DpaAcceptance) == 0


def test_the_trial_opens_the_space_at_once(app, client, outbox):
    slug = reserved(client, outbox)
    response = client.post(f"/signup/{slug}/payment", data={"plan": "starter", "mode": "trial"})
    assert response.status_code == 303
    assert response.location == f"/signup/{slug}/waiting"
    assert tenant_row(app, slug=slug).status == TenantStatus.ACTIVE
    assert tenants_api.exists(slug)
    waiting = client.get(response.location)
    assert waiting.status_code == 303
    assert waiting.location == f"/signup/{slug}/welcome"


def test_checkout_redirect_provisions_nothing_the_webhook_does(app, client, outbox, monkeypatch):
    calls = []

    def start_checkout(session, account, tenant, plan, *, success_url, cancel_url):  # type: ignore[no-untyped-def]
        calls.append((account.email, tenant.slug, plan, success_url, cancel_url))
        return "https://checkout.stripe.test/pay/cs_1"

    monkeypatch.setattr(billing, "start_checkout", start_checkout)
    slug = reserved(client, outbox)
    payment = client.get(f"/signup/{slug}/payment?plan=team")
    assert 'value="team" checked' in payment.get_data(as_text=True)
    response = client.post(f"/signup/{slug}/payment", data={"plan": "team", "mode": "checkout"})
    assert response.status_code == 303
    assert response.location == "https://checkout.stripe.test/pay/cs_1"
    [(email, called_slug, plan, success, cancel)] = calls
    assert (email, called_slug, plan) == (EMAIL, slug, "team")
    assert success.endswith(f"/signup/{slug}/waiting")
    assert cancel.endswith(f"/signup/{slug}/payment?plan=team")

    # Stripe sends the owner back: still waiting, the page reloads itself.
    waiting = client.get(f"/signup/{slug}/waiting")
    assert waiting.status_code == 200
    assert '<meta http-equiv="refresh" content="3">' in waiting.get_data(as_text=True)
    assert client.get(f"/signup/{slug}/welcome").location == f"/signup/{slug}/waiting"
    assert tenant_row(app, slug=slug).status == TenantStatus.PROVISIONING

    with app.app_context():  # what billing's webhook handler does once the payment is confirmed
        org_services.provision(db.session(), org_services.get(db.session(), slug))
        db.commit()
    assert client.get(f"/signup/{slug}/waiting").location == f"/signup/{slug}/welcome"
    assert client.get(f"/signup/{slug}/payment").location == f"/signup/{slug}/welcome"


def test_stripe_unreachable_answers_503_and_changes_nothing(app, client, outbox, monkeypatch):
    def start_checkout(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise GatewayError("connection refused")

    monkeypatch.setattr(billing, "start_checkout", start_checkout)
    slug = reserved(client, outbox)
    response = client.post(f"/signup/{slug}/payment", data={"plan": "team", "mode": "checkout"})
    assert response.status_code == 503
    assert "été débité" in response.get_data(as_text=True)
    assert tenant_row(app, slug=slug).status == TenantStatus.PROVISIONING
    assert count(app, Subscription) == 0


def test_a_signed_in_account_skips_the_account_step(app, client):
    with app.app_context():
        factories.account("member@elsewhere.example.org")
    factories.login(client, "member@elsewhere.example.org")
    page = client.get("/signup").get_data(as_text=True)
    assert 'href="/signup/organisation?plan=starter"' in page
    response = client.get("/signup/account?plan=starter")
    assert response.location == "/signup/organisation?plan=starter"
    assert client.post("/signup/organisation", data=organisation_form()).status_code == 303
    assert tenant_row(app, slug="new-co").status == TenantStatus.PROVISIONING


def test_one_trial_per_account(app, client, english, outbox):
    slug = reserved(english(client), outbox)
    client.post(f"/signup/{slug}/payment", data={"plan": "team", "mode": "trial"})
    second = client.post("/signup/organisation", data=organisation_form("Other Co"))
    other = second.location.split("/")[2]
    response = client.post(f"/signup/{other}/payment", data={"plan": "team", "mode": "trial"})
    assert response.status_code == 422
    assert "already used your free trial" in response.get_data(as_text=True)
    assert tenant_row(app, slug=other).status == TenantStatus.PROVISIONING
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Subscription).where(
            Subscription.trial_ends_at.is_not(None))) == 1


def test_unknown_plan_is_refused(app, client, outbox):
    slug = reserved(client, outbox)
    response = client.post(f"/signup/{slug}/payment", data={"plan": "gold", "mode": "trial"})
    assert response.status_code == 422
    assert tenant_row(app, slug=slug).status == TenantStatus.PROVISIONING


def test_someone_else_never_sees_another_signup(app, client, outbox):
    slug = reserved(client, outbox)
    with app.app_context():
        factories.account("other@elsewhere.test")
    other = app.test_client()
    factories.login(other, "other@elsewhere.test")
    for page in ("payment", "waiting", "welcome"):
        assert other.get(f"/signup/{slug}/{page}").status_code == 404
    assert other.post(f"/signup/{slug}/payment",
                      data={"plan": "team", "mode": "trial"}).status_code == 404
    assert tenant_row(app, slug=slug).status == TenantStatus.PROVISIONING


# --- onboarding ---------------------------------------------------------------------------------


def paid(client, outbox, name: str = "New Co") -> str:  # type: ignore[no-untyped-def]
    slug = reserved(client, outbox, name)
    client.post(f"/signup/{slug}/payment", data={"plan": "team", "mode": "trial"})
    return slug


def test_onboarding_saves_the_space_and_the_controller(app, client, english, outbox):
    slug = paid(english(client), outbox)
    page = client.get(f"/signup/{slug}/welcome").get_data(as_text=True)
    assert "Welcome to Parvis" in page
    assert f'value="{slug}"' in page
    assert f'href="/t/{slug}/admin/consent"' in page
    assert "Consent proofs: 5 years." in page and "/admin/retention" in page

    response = client.post(f"/signup/{slug}/welcome", data=onboarding_form(slug))
    assert response.status_code == 303
    assert response.location == f"/t/{slug}/admin/events"
    with app.app_context():
        tenant = org_services.get(db.session(), slug)
        assert tenant.default_language == "fr"  # was English, the language of the signup
        identity = db.session().get(ControllerIdentity, tenant.id)
        assert (identity.legal_name, identity.dpo_name, identity.dpo_email) == (
            "New Co SAS", "Dana Protect", "dpo@newco.example.org")
        assert identity.address == "1 rue de la Paix\r\n75002 Paris" or \
            identity.address == "1 rue de la Paix\n75002 Paris"
    assert client.get(response.location).status_code == 200
    # Done once: the page now sends the owner to the space.
    assert client.get(f"/signup/{slug}/welcome").location == f"/t/{slug}/admin/events"


def test_onboarding_moves_the_fresh_space_to_the_chosen_address(app, client, outbox):
    slug = paid(client, outbox)
    response = client.post(f"/signup/{slug}/welcome",
                           data=onboarding_form("club-ete", name="Club Été"))
    assert response.status_code == 303
    assert response.location == "/t/club-ete/admin/events"
    assert tenants_api.exists("club-ete")
    assert not tenants_api.exists(slug)
    assert tenant_row(app, slug="club-ete").name == "Club Été"
    assert client.get("/t/club-ete/").status_code == 200
    assert client.get(f"/t/{slug}/").status_code == 404


def test_an_address_taken_during_checkout_asks_for_another(app, client, english, outbox):
    """The owner wants "newco" but another organisation took it while they were paying."""
    slug = paid(english(client), outbox)
    with app.app_context():
        factories.tenant("newco")
    response = client.post(f"/signup/{slug}/welcome", data=onboarding_form("newco"))
    assert response.status_code == 422
    assert "This address name is already taken: choose another one." in response.get_data(
        as_text=True)
    assert count(app, ControllerIdentity) == 0
    assert tenants_api.exists(slug)
    assert client.post(f"/signup/{slug}/welcome",
                       data=onboarding_form("newco-events")).status_code == 303
    assert tenant_row(app, slug="newco-events") is not None


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"slug": "Bad Slug!"}, "slug", "The address name must start with a lowercase letter"),
    ({"slug": "admin"}, "slug", "This address name is reserved."),
    ({"slug": "acme"}, "slug", "This address name is already taken"),
    ({"dpo_email": "nope"}, "dpo_email", "Enter a valid e-mail address"),
    ({"dpo_name": ""}, "dpo_name", "Enter the name of the data protection officer"),
    ({"legal_name": "Bad\x07name"}, "legal_name", "control characters"),
    ({"address": ""}, "address", "postal address."),
    ({"default_language": "de"}, "default_language", "Not a valid choice"),
    ({"name": "x" * 201}, "name", "Field cannot be longer than 200 characters."),
])
def test_onboarding_refuses_bad_input_and_changes_nothing(app, client, english, outbox, change,
                                                          field, message):
    slug = paid(english(client), outbox)
    response = client.post(f"/signup/{slug}/welcome", data={**onboarding_form(slug), **change})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert message in page
    tenant = tenant_row(app, slug=slug)
    assert (tenant.name, tenant.default_language) == ("New Co", "en")
    assert count(app, ControllerIdentity) == 0


def test_account_page_offers_to_finish_a_signup(app, client, english, outbox):
    slug = reserved(english(client), outbox)
    page = client.get("/account").get_data(as_text=True)
    assert f'href="/signup/{slug}/payment"' in page
    assert 'href="/signup"' in page
