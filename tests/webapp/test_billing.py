"""Billing: Checkout and provisioning by webhook, webhook guarantees, the lifecycle."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from tenants import api as tenants_api
from tests import factories
from tests.webapp.billing_fixtures import Fake, checkout, deliver, fake, new_organisation
from webapp import db
from webapp.billing import services
from webapp.billing.fake import sign
from webapp.billing.models import Invoice, StripeEvent
from webapp.contract.models import ContractEnd
from webapp.organisations.models import Tenant, TenantStatus

__all__ = ["fake"]  # the fixture, imported for this module's tests


def _tenant(slug: str) -> Tenant:
    session = db.session()
    session.expire_all()
    return session.scalar(select(Tenant).where(Tenant.slug == slug))


def _count(model: type) -> int:
    return db.session().scalar(select(func.count()).select_from(model))


def test_payment_confirmed_by_webhook_provisions_the_tenant(ctx: Flask, client, fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    # The customer is back on the success page: nothing is provisioned by that alone.
    assert _tenant("club").status == TenantStatus.PROVISIONING
    events = fake.take()
    assert [Fake.type_of(b) for b, _ in events] == [
        "customer.subscription.created", "invoice.paid", "checkout.session.completed"]
    for body, headers in events:
        assert deliver(client, body, headers).status_code == 200
    tenant = _tenant("club")
    assert tenant.status == TenantStatus.ACTIVE and tenants_api.exists("club")
    subscription = services.subscription_of(db.session(), tenant.id)
    assert (subscription.status, subscription.plan) == ("active", "team")
    invoice = db.session().scalar(select(Invoice))
    assert (invoice.tenant_slug, invoice.amount_cents, invoice.tax_ids) == (
        "club", 4900, "FR12345678901")
    assert services.entitlements(db.session(), tenant.id).events_per_month == 20


def test_a_payment_confirmed_after_checkout_provisions_then(ctx: Flask, client, fake: Fake):
    """3-D Secure or a bank debit: Checkout completes before the payment is confirmed."""
    owner, tenant = new_organisation("club", "owner@club.test")
    url = services.start_checkout(db.session(), owner, tenant, "team",
                                  success_url="http://parvis.test/done",
                                  cancel_url="http://parvis.test/back")
    db.commit()
    fake.pay(url.rsplit("/", 1)[1], name="Club SARL", confirmed_later=True)
    for body, headers in fake.take():
        assert deliver(client, body, headers).status_code == 200
    assert _tenant("club").status == TenantStatus.PROVISIONING  # not paid yet
    assert not tenants_api.exists("club")
    fake.portal_action(next(iter(fake.subscriptions)), "pay_renewal")  # the bank confirms
    for body, headers in fake.take():
        assert deliver(client, body, headers).status_code == 200
    assert _tenant("club").status == TenantStatus.ACTIVE and tenants_api.exists("club")
    assert _count(Invoice) == 1


def test_a_forged_signature_is_refused_and_changes_nothing(ctx: Flask, client, fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    body, headers = fake.take()[-1]
    forged = {**headers, "Stripe-Signature": sign(body, "whsec_not_the_secret")}
    assert deliver(client, body, forged).status_code == 400
    tampered = body.replace(b"Club SARL", b"Evil SARL")
    assert tampered != body
    assert deliver(client, tampered, headers).status_code == 400
    assert deliver(client, body, {"Content-Type": "application/json"}).status_code == 400
    assert _count(StripeEvent) == 0
    assert _tenant("club").status == TenantStatus.PROVISIONING


def test_a_stale_timestamp_is_refused(ctx: Flask, client, fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    body, headers = fake.take()[-1]
    old = sign(body, fake.webhook_secret, timestamp=int(time.time()) - 600)
    assert deliver(client, body, {**headers, "Stripe-Signature": old}).status_code == 400
    assert _tenant("club").status == TenantStatus.PROVISIONING


@pytest.mark.spans_connections  # 20 threads
def test_the_same_event_20_times_concurrently_has_one_effect(app: Flask, ctx: Flask, fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    events = fake.take()
    invoice_paid = next(e for e in events if Fake.type_of(e[0]) == "invoice.paid")
    completed = events[-1]
    statuses: list[int] = []
    start = threading.Barrier(20)

    def post(body: bytes, headers: dict[str, str]) -> None:
        client = app.test_client()
        start.wait()
        statuses.append(deliver(client, body, headers).status_code)

    for body, headers in (completed, invoice_paid):
        threads = [threading.Thread(target=post, args=(body, headers)) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # 409: another delivery is applying it (PostgreSQL answers at once); 503: admission control
    # turned the delivery away before it started (20 at once, CPU slots); Stripe retries both.
    assert set(statuses) <= {200, 409, 503} and statuses.count(200) >= 2
    assert _count(StripeEvent) == 2 and _count(Invoice) == 1
    for body, headers in (completed, invoice_paid):  # the retries
        response = deliver(app.test_client(), body, headers)
        assert response.status_code == 200 and response.json["outcome"] == "duplicate"
    assert _count(StripeEvent) == 2 and _count(Invoice) == 1
    assert _tenant("club").status == TenantStatus.ACTIVE




@pytest.mark.parametrize("deleted", [True, False], ids=["ending", "upgraded"])
def test_every_order_of_delivery_gives_the_same_end_state(ctx: Flask, client, fake: Fake,
                                                          deleted: bool):
    """An organisation on a trial pays (so it is open already), changes plan, and maybe ends
    its subscription; Stripe's events arrive in every possible order."""
    owner, tenant = new_organisation("club", "owner@club.test")
    services.start_trial(db.session(), owner, tenant, "starter")
    db.commit()
    checkout(fake, owner, tenant, plan="starter")
    subscription_id = next(iter(fake.subscriptions))
    fake.portal_action(subscription_id, "change_plan", "organisation")
    if deleted:
        fake.portal_action(subscription_id, "end_period")
    events = {Fake.type_of(b): (b, h) for b, h in fake.take()}
    completed = events.pop("checkout.session.completed")
    assert sorted(events) == sorted(
        ["customer.subscription.created", "invoice.paid", "customer.subscription.updated"]
        + (["customer.subscription.deleted"] if deleted else []))
    end_states = set()
    # Every order of the subscription's events; Checkout's completion goes in turn at each
    # place (all orders of all five would take minutes).
    for n, order in enumerate(itertools.permutations(events.values())):
        _reset_to_paid(tenant.id)
        order = list(order)
        order.insert(n % (len(order) + 1), completed)
        for body, headers in order:
            assert deliver(client, body, headers).status_code == 200
        row = services.subscription_of(db.session(), tenant.id)
        db.session().refresh(row)
        end_states.add((row.status, row.plan, row.stripe_subscription_id,
                        _tenant("club").status, _count(Invoice)))
    expected = (("canceled", "organisation", subscription_id, TenantStatus.ENDED, 1) if deleted
                else ("active", "organisation", subscription_id, TenantStatus.ACTIVE, 1))
    assert end_states == {expected}


def _reset_to_paid(tenant_id: int) -> None:
    """Back to the moment before any event: no event seen, the trial's subscription, the tenant
    open (its schema stays: a contract end only closes it)."""
    from sqlalchemy import delete

    from webapp.contract.models import ContractEnd

    session = db.session()
    session.execute(delete(StripeEvent))
    session.execute(delete(Invoice))
    session.execute(delete(ContractEnd))
    subscription = services.subscription_of(session, tenant_id)
    subscription.status, subscription.plan, subscription.tenant_status = (
        "trialing", "starter", None)
    subscription.stripe_subscription_id = subscription.stripe_customer_id = None
    session.get(Tenant, tenant_id).status = TenantStatus.ACTIVE
    db.commit()


def test_a_database_failure_answers_5xx_then_the_retry_succeeds(app: Flask, ctx: Flask, client,
                                                                 fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    completed = fake.take()[-1]
    failing = [True]

    def database_down(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if failing[0] and "billing_stripe_events" in statement and statement.startswith("INSERT"):
            raise OperationalError(statement, {}, Exception("server closed the connection"))

    event.listen(db.engine(), "before_cursor_execute", database_down)
    try:
        assert deliver(client, *completed).status_code == 503
        assert _count(StripeEvent) == 0
        assert _tenant("club").status == TenantStatus.PROVISIONING
        failing[0] = False
        assert deliver(client, *completed).status_code == 200
    finally:
        event.remove(db.engine(), "before_cursor_execute", database_down)
    assert _tenant("club").status == TenantStatus.ACTIVE and _count(StripeEvent) == 1


def test_checkout_completed_for_an_unknown_tenant_is_acknowledged(ctx: Flask, client,
                                                                   fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    body, headers = fake.take()[-1]
    other = json.loads(body)
    other["id"] = "evt_unknown_tenant"
    other["data"]["object"]["client_reference_id"] = "999999"
    other["data"]["object"]["metadata"]["tenant_id"] = "999999"
    payload = json.dumps(other).encode()
    response = deliver(client, payload, {**headers, "Stripe-Signature": sign(
        payload, fake.webhook_secret)})
    assert response.status_code == 200 and response.json["outcome"] == "unknown"
    assert _tenant("club").status == TenantStatus.PROVISIONING


def test_checkout_completed_for_a_tenant_already_provisioned_keeps_its_data(
        ctx: Flask, client, fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    body, headers = fake.take()[-1]
    assert deliver(client, body, headers).status_code == 200
    factories.participant("club", "ada@example.org")
    again = json.loads(body)
    again["id"] = "evt_sent_again"  # Stripe may send an event anew, with another id
    payload = json.dumps(again).encode()
    response = deliver(client, payload, {**headers, "Stripe-Signature": sign(
        payload, fake.webhook_secret)})
    assert response.status_code == 200
    assert _tenant("club").status == TenantStatus.ACTIVE
    assert tenants_api.count_participants("club") == 1


def test_a_slug_taken_during_checkout(ctx: Flask, client, fake: Fake):
    """The address name is reserved by signup's registry row while the payment is awaited:
    nobody can take it meanwhile, and the payment opens the tenant under it."""
    from webapp.organisations import services as organisations

    owner, tenant = new_organisation("club", "owner@club.test")
    with pytest.raises(organisations.TenantError):
        organisations.create(db.session(), slug="club", name="Another club")
    db.session().rollback()
    checkout(fake, owner, tenant)
    for body, headers in fake.take():
        deliver(client, body, headers)
    assert _tenant("club").status == TenantStatus.ACTIVE
    assert _count(Tenant) == 3  # the two base tenants and this one


def test_a_trial_provisions_at_once_and_only_once_per_account(ctx: Flask):
    owner, tenant = new_organisation("club", "owner@club.test")
    subscription = services.start_trial(db.session(), owner, tenant, "starter")
    db.commit()
    assert _tenant("club").status == TenantStatus.ACTIVE and subscription.status == "trialing"
    second = Tenant(slug="club-two", name="Two", status=TenantStatus.PROVISIONING)
    db.session().add(second)
    db.commit()
    with pytest.raises(services.BillingError):
        services.start_trial(db.session(), owner, second, "starter")


def paying_club(fake: Fake, client) -> str:  # type: ignore[no-untyped-def]
    """The "club" organisation, paid through Checkout and provisioned; its subscription id."""
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    for body, headers in fake.take():
        deliver(client, body, headers)
    return next(iter(fake.subscriptions))


def test_failed_renewal_grace_then_read_only_then_reactivation(ctx: Flask, client, fake: Fake,
                                                               clock, english, outbox):
    subscription_id = paying_club(fake, client)
    fake.portal_action(subscription_id, "fail_renewal")
    for body, headers in fake.take():
        assert deliver(client, body, headers).status_code == 200
    assert _tenant("club").status == TenantStatus.ACTIVE  # the grace period
    factories.login(english(client), "owner@club.test")
    page = client.get("/t/club/admin/events").get_data(as_text=True)
    assert "The last payment of the subscription failed" in page
    clock.advance(days=13)
    assert services.sweep(db.session()) == 0
    clock.advance(days=2)
    assert services.sweep(db.session()) == 1
    db.commit()
    assert _tenant("club").status == TenantStatus.READ_ONLY
    assert client.post("/t/club/admin/events/new", data={}).status_code == 403
    assert "this space is read-only" in client.get("/t/club/admin/events").get_data(as_text=True)
    clock.advance(days=30)
    services.sweep(db.session())
    db.commit()
    assert _tenant("club").status == TenantStatus.SUSPENDED
    assert services.notice(db.session(), _tenant("club").id) == services.Notice("suspended", None)
    fake.portal_action(subscription_id, "pay_renewal")
    for body, headers in fake.take():
        assert deliver(client, body, headers).status_code == 200
    assert _tenant("club").status == TenantStatus.ACTIVE  # reactivation restores everything
    assert _count(Invoice) == 2
    # The owner was told by e-mail at each step, in their language, with the way to pay.
    told = [m["Subject"] for m in outbox.messages if m["To"] == "owner@club.test"]
    assert [subject.split(": ", 1)[1] for subject in told] == [
        "le paiement de l'abonnement a échoué", "l'espace est désormais en lecture seule",
        "l'espace est suspendu", "l'espace est de nouveau ouvert"], told
    assert outbox.links(outbox.messages[-1])[-1].endswith("/organisations/club/subscription")


def test_billing_leaves_an_operator_suspension_alone(ctx: Flask, client, fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    for body, headers in fake.take():
        deliver(client, body, headers)
    _tenant("club").status = TenantStatus.SUSPENDED  # an operator closed it
    db.commit()
    fake.portal_action(next(iter(fake.subscriptions)), "pay_renewal")
    for body, headers in fake.take():
        deliver(client, body, headers)
    assert _tenant("club").status == TenantStatus.SUSPENDED


def test_subscription_page_roles(ctx: Flask, client, fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    services.start_trial(db.session(), owner, tenant, "starter")
    db.commit()
    for role in ("admin", "manager", "viewer"):
        factories.member("club", f"{role}@club.test", role)
    anonymous = client.get("/organisations/club/subscription")
    assert anonymous.status_code in (302, 401)
    for role, get, post in (("viewer", 403, 403), ("manager", 403, 403), ("admin", 200, 403)):
        factories.login(client, f"{role}@club.test")
        assert client.get("/organisations/club/subscription").status_code == get
        assert client.post("/organisations/club/subscription/checkout",
                           data={"plan": "team"}).status_code == post
        client.get("/logout")
    factories.login(client, "owner@club.test")
    assert client.get("/organisations/club/subscription").status_code == 200
    bad = client.post("/organisations/club/subscription/checkout", data={"plan": "gold"})
    assert bad.status_code == 422
    response = client.post("/organisations/club/subscription/checkout", data={"plan": "team"})
    assert response.status_code == 303 and "/checkout/cs_test_" in response.location


def test_a_paying_owner_changes_plan_in_the_portal_not_at_checkout(ctx: Flask, client,
                                                                   fake: Fake):
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    for body, headers in fake.take():
        deliver(client, body, headers)
    with pytest.raises(services.BillingError):
        services.start_checkout(db.session(), owner, _tenant("club"), "starter",
                                success_url="http://parvis.test/", cancel_url="http://parvis.test/")
    factories.login(client, "owner@club.test")
    response = client.post("/organisations/club/subscription/portal")
    assert response.status_code == 303 and "/portal/bps_" in response.location
    page = client.get("/organisations/club/subscription").get_data(as_text=True)
    assert "FAKE-" in page  # the paid invoice


def test_the_portal_before_any_payment_says_to_choose_a_plan(ctx: Flask, client, english):
    owner, tenant = new_organisation("club", "owner@club.test")
    services.start_trial(db.session(), owner, tenant, "team")
    db.commit()
    factories.login(english(client), "owner@club.test")
    response = client.post("/organisations/club/subscription/portal", follow_redirects=True)
    assert "Choose a plan first" in response.get_data(as_text=True)


def test_real_stripe_needs_its_settings_at_start_up(tmp_path):
    from webapp import config

    with pytest.raises(ValueError, match="PARVIS_STRIPE_API_KEY"):
        config.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                     "BILLING_GATEWAY": "stripe", "STRIPE_API_KEY": "sk_test_1"})
    ready = config.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                         "BILLING_GATEWAY": "stripe", "STRIPE_API_KEY": "sk_test_1",
                         "STRIPE_WEBHOOK_SECRET": "whsec_1", "STRIPE_PRICES": {"team": "price_1"}})
    assert ready["STRIPE_PRICES"] == {"team": "price_1"}
    with pytest.raises(ValueError, match="'fake' or 'stripe'"):
        config.load({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                     "BILLING_GATEWAY": "paypal"})


def test_a_subscription_stripe_cancels_for_failed_payments_suspends_but_never_ends(
        ctx: Flask, client, fake: Fake, clock):
    subscription_id = paying_club(fake, client)
    fake.portal_action(subscription_id, "fail_renewal")
    fake.portal_action(subscription_id, "retries_exhausted")
    for body, headers in fake.take():
        assert deliver(client, body, headers).status_code == 200
    assert _tenant("club").status == TenantStatus.ACTIVE  # still the grace period
    clock.advance(days=15)
    services.sweep(db.session())
    db.commit()
    assert _tenant("club").status == TenantStatus.READ_ONLY
    clock.advance(days=400)
    services.sweep(db.session())
    db.commit()
    assert _tenant("club").status == TenantStatus.SUSPENDED  # and no contract end
    assert _count(ContractEnd) == 0
    assert tenants_api.exists("club")
