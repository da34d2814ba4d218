"""The Stripe webhook refuses every signed body of the wrong shape or date with a 400 (never a
500, never a 503 that Stripe would retry forever), applies nothing, and records the refusal
for operators; a valid event is still applied. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from tests import factories
from tests.webapp.billing_fixtures import Fake, checkout, deliver, fake, new_organisation
from webapp import db
from webapp.billing import services, views, webhook_schema
from webapp.billing.fake import sign
from webapp.billing.models import Invoice, RejectedWebhook, StripeEvent, Subscription
from webapp.organisations.models import Tenant, TenantStatus

__all__ = ["fake"]  # the fixture, imported for this module's tests

Events = dict[str, dict[str, Any]]


@pytest.fixture
def events(ctx: Flask, fake: Fake) -> Events:
    """The "club" organisation waiting for its first payment, and the events Stripe sent when
    it paid (not delivered yet), by type."""
    owner, tenant = new_organisation("club", "owner@club.test")
    checkout(fake, owner, tenant)
    return {Fake.type_of(body): json.loads(body) for body, _ in fake.take()}


def _post(client, body: object, secret: str, *, age: int = 0):  # type: ignore[no-untyped-def]
    """Deliver ``body`` (bytes, or JSON-encoded) signed with ``secret``, ``age`` seconds ago."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json",
               "Stripe-Signature": sign(payload, secret, timestamp=int(time.time()) - age)}
    return deliver(client, payload, headers)


def _count(model: type) -> int:
    return db.session().scalar(select(func.count()).select_from(model))


def _nothing_applied() -> None:
    session = db.session()
    session.expire_all()
    assert _count(StripeEvent) == 0 and _count(Invoice) == 0
    tenant = session.scalar(select(Tenant).where(Tenant.slug == "club"))
    assert tenant.status == TenantStatus.PROVISIONING
    subscription = session.scalar(select(Subscription).where(Subscription.tenant_id == tenant.id))
    assert (subscription.status, subscription.stripe_subscription_id) == ("checkout", None)


def _recorded() -> RejectedWebhook:
    db.session().expire_all()
    rows = list(db.session().scalars(select(RejectedWebhook)))
    assert len(rows) == 1, rows
    return rows[0]


def _completed(events: Events) -> dict:
    return copy.deepcopy(events["checkout.session.completed"])


def _created(events: Events) -> dict:
    return copy.deepcopy(events["customer.subscription.created"])


def _paid(events: Events) -> dict:
    return copy.deepcopy(events["invoice.paid"])


def _with(body: dict, path: str, value: object) -> dict:
    """``body`` with the field at the dotted ``path`` set to ``value`` (deleted if ``...``)."""
    *parents, last = path.split(".")
    here: Any = body
    for key in parents:
        here = here[int(key)] if isinstance(here, list) else here[key]
    if value is ...:
        del here[last]
    else:
        here[last] = value
    return body


# (name, make the body from the real events, reason, field)
SHAPES: list[tuple[str, Callable[[Events], object], str, str]] = [
    ("array body", lambda e: [_completed(e)], "wrong_type", ""),
    ("string body", lambda e: "evt_1", "wrong_type", ""),
    ("not JSON", lambda e: b"{not json", "not_json", ""),
    ("nested 100000 deep", lambda e: b"[" * 100_000 + b"]" * 100_000, "not_json", ""),
    ("subscription object without id",
     lambda e: _with(_created(e), "data.object.id", ...), "missing", "data.object.id"),
    ("subscription id a number",
     lambda e: _with(_created(e), "data.object.id", 12), "wrong_type", "data.object.id"),
    ("no event id", lambda e: _with(_completed(e), "id", ...), "missing", "id"),
    ("NUL in the event id",
     lambda e: _with(_completed(e), "id", "evt_\x00nul"), "bad_characters", "id"),
    ("300-character event id",
     lambda e: _with(_completed(e), "id", "evt_" + "x" * 296), "too_long", "id"),
    ("lone surrogate in the event id",
     lambda e: _with(_completed(e), "id", "evt_\ud800"), "bad_characters", "id"),
    ("no type", lambda e: _with(_completed(e), "type", ...), "missing", "type"),
    ("NUL in the type",
     lambda e: _with(_completed(e), "type", "checkout.\x00"), "bad_characters", "type"),
    ("type of 101 characters",
     lambda e: _with(_completed(e), "type", "a" * 101), "too_long", "type"),
    ("no data", lambda e: _with(_completed(e), "data", ...), "missing", "data"),
    ("data.object a list",
     lambda e: _with(_completed(e), "data.object", []), "wrong_type", "data.object"),
    ("tenant id 2**70",
     lambda e: _with(_completed(e), "data.object.metadata.tenant_id", str(2**70)),
     "out_of_range", "data.object.metadata.tenant_id"),
    ("tenant id 2**70 as a number",
     lambda e: _with(_completed(e), "data.object.metadata.tenant_id", 2**70),
     "wrong_type", "data.object.metadata.tenant_id"),
    ("negative tenant id",
     lambda e: _with(_completed(e), "data.object.metadata.tenant_id", "-1"),
     "out_of_range", "data.object.metadata.tenant_id"),
    ("tenant id not a number",
     lambda e: _with(_completed(e), "data.object.metadata.tenant_id", "abc"),
     "out_of_range", "data.object.metadata.tenant_id"),
    ("tenant id in Arabic-Indic digits",
     lambda e: _with(_completed(e), "data.object.metadata.tenant_id", "\u0661"),
     "out_of_range", "data.object.metadata.tenant_id"),
    ("client reference 2**70",
     lambda e: _with(_with(_completed(e), "data.object.metadata", {}),
                     "data.object.client_reference_id", str(2**70)),
     "out_of_range", "data.object.client_reference_id"),
    ("subscription's tenant id -1",
     lambda e: _with(_created(e), "data.object.metadata.tenant_id", "-1"),
     "out_of_range", "data.object.metadata.tenant_id"),
    ("metadata a list",
     lambda e: _with(_completed(e), "data.object.metadata", ["1"]),
     "wrong_type", "data.object.metadata"),
    ("expanded subscription",
     lambda e: _with(_completed(e), "data.object.subscription", {"id": "sub_1"}),
     "wrong_type", "data.object.subscription"),
    ("300-character subscription id",
     lambda e: _with(_completed(e), "data.object.subscription", "sub_" + "x" * 296),
     "too_long", "data.object.subscription"),
    ("invoice amount beyond 32 bits",
     lambda e: _with(_paid(e), "data.object.amount_paid", 2**40),
     "out_of_range", "data.object.amount_paid"),
    ("invoice amount a string",
     lambda e: _with(_paid(e), "data.object.amount_paid", "4900"),
     "wrong_type", "data.object.amount_paid"),
    ("invoice paid in the year 10000",
     lambda e: _with(_paid(e), "data.object.status_transitions.paid_at", 10**12),
     "out_of_range", "data.object.status_transitions.paid_at"),
    ("NUL in the billing name",
     lambda e: _with(_paid(e), "data.object.customer_name", "Club\x00SARL"),
     "bad_characters", "data.object.customer_name"),
    ("tax ids an object",
     lambda e: _with(_paid(e), "data.object.customer_tax_ids", {"value": "FR1"}),
     "wrong_type", "data.object.customer_tax_ids"),
    ("tax id value a number",
     lambda e: _with(_paid(e), "data.object.customer_tax_ids.0.value", 12),
     "wrong_type", "data.object.customer_tax_ids.0.value"),
    ("invoice number of 101 characters",
     lambda e: _with(_paid(e), "data.object.number", "N" * 101),
     "too_long", "data.object.number"),
    ("invoice parent a string",
     lambda e: _with(_paid(e), "data.object.parent", "sub_1"),
     "wrong_type", "data.object.parent"),
]


@pytest.mark.parametrize(("make", "reason", "field"), [s[1:] for s in SHAPES],
                         ids=[s[0] for s in SHAPES])
def test_a_signed_body_of_the_wrong_shape_is_refused_and_recorded(
        ctx: Flask, client, fake: Fake, events: Events, make: Callable[[Events], object],
        reason: str, field: str):
    response = _post(client, make(events), fake.webhook_secret)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert (response.json["reason"], response.json["field"]) == (reason, field)
    _nothing_applied()
    row = _recorded()
    assert (row.reason, row.field, row.deliveries) == (reason, field, 1)
    assert len(row.event_id) <= 100 and row.event_id.isprintable() and "\x00" not in row.event_id


def test_what_is_recorded_is_made_safe_and_never_the_body(ctx: Flask, client, fake: Fake,
                                                          events: Events):
    body = _with(_paid(events), "id", "evt_" + "\x00" * 3 + "y" * 300)
    _post(client, body, fake.webhook_secret)
    row = _recorded()
    assert row.event_id == "evt_???" + "y" * 92 + "…" and row.event_type == "invoice.paid"
    stored = " ".join(str(getattr(row, c.key)) for c in RejectedWebhook.__table__.columns)
    assert "Club SARL" not in stored and "owner@club.test" not in stored


@pytest.mark.parametrize(("age", "reason"), [(-360, "timestamp_future"), (360, "timestamp_old")],
                         ids=["6 minutes ahead", "6 minutes old"])
def test_a_signature_dated_outside_the_tolerance_is_refused_and_recorded(
        ctx: Flask, client, fake: Fake, events: Events, age: int, reason: str):
    completed = events["checkout.session.completed"]
    response = _post(client, completed, fake.webhook_secret, age=age)
    assert response.status_code == 400 and response.json["reason"] == reason
    _nothing_applied()
    row = _recorded()
    assert (row.reason, row.field) == (reason, "Stripe-Signature")
    assert (row.event_id, row.event_type) == (completed["id"], "checkout.session.completed")
    # Within the tolerance, both ways (Stripe's clock and ours differ a little), it applies.
    assert _post(client, completed, fake.webhook_secret, age=-240).status_code == 200
    assert _post(client, events["customer.subscription.created"], fake.webhook_secret,
                 age=240).status_code == 200


def test_a_forged_signature_is_not_recorded(ctx: Flask, client, fake: Fake, events: Events):
    """Anyone can post that: keeping it would let anyone fill the table."""
    response = _post(client, [events["invoice.paid"]], "whsec_not_the_secret")
    assert response.status_code == 400
    assert _count(RejectedWebhook) == 0
    _nothing_applied()


def test_valid_events_are_still_applied_after_a_refusal_with_the_same_id(
        ctx: Flask, client, fake: Fake, events: Events):
    """A refused body does not take its event id: the right one is applied (the id stays under
    its unique key, in the same transaction as the effect)."""
    completed = events["checkout.session.completed"]
    assert _post(client, _with(_completed(events), "data.object.metadata.tenant_id", "abc"),
                 fake.webhook_secret).status_code == 400
    for body in events.values():
        response = _post(client, body, fake.webhook_secret)
        assert response.status_code == 200, response.get_data(as_text=True)
    assert _post(client, completed, fake.webhook_secret).json["outcome"] == "duplicate"
    session = db.session()
    session.expire_all()
    assert session.scalar(select(Tenant).where(Tenant.slug == "club")).status == \
        TenantStatus.ACTIVE
    assert _count(StripeEvent) == 3 and _count(Invoice) == 1 and _count(RejectedWebhook) == 1


def test_the_same_refused_body_again_is_one_more_delivery(ctx: Flask, client, fake: Fake,
                                                          events: Events, clock):
    bad = _with(_created(events), "data.object.id", ...)
    first = _post(client, bad, fake.webhook_secret)
    clock.advance(hours=1)
    again = _post(client, bad, fake.webhook_secret)
    assert first.status_code == again.status_code == 400
    row = _recorded()
    assert row.deliveries == 2 and row.last_received_at > row.received_at


def test_an_unknown_event_type_needs_no_object_id(ctx: Flask, client, fake: Fake):
    """Stripe's other events (a balance has no id) are acknowledged, not refused."""
    body = {"id": "evt_balance", "type": "balance.available", "data": {"object": {
        "object": "balance", "available": [{"amount": 1, "currency": "eur"}]}}}
    response = _post(client, body, fake.webhook_secret)
    assert response.status_code == 200 and response.json["outcome"] == "ignored"
    assert _count(RejectedWebhook) == 0


def test_a_value_the_database_refuses_despite_the_schema_is_refused_not_retried(
        ctx: Flask, client, fake: Fake, events: Events, monkeypatch: pytest.MonkeyPatch):
    """Should the schema miss a case, a value the database refuses still answers 400 (recorded)
    and not 503: only an unavailable database is worth Stripe's retries. Here the schema lets
    everything through; PostgreSQL refuses the NUL, SQLite the 2**70."""
    monkeypatch.setattr(webhook_schema, "_event", lambda body: webhook_schema.WebhookEvent(
        id=body["id"], type=body["type"], object=body["data"]["object"]))
    body = _with(_completed(events), "id", "evt_\x00")
    _with(body, "data.object.metadata.tenant_id", str(2**70))
    _with(body, "data.object.client_reference_id", str(2**70))
    response = _post(client, body, fake.webhook_secret)
    assert response.status_code == 400 and response.json["reason"] == "unstorable"
    _nothing_applied()
    assert _recorded().reason == "unstorable"


def test_a_refusal_that_cannot_be_recorded_is_retried(app: Flask, ctx: Flask, client,
                                                      fake: Fake, events: Events):
    """The database is down: 503 (Stripe retries), then the retry is refused and recorded."""
    bad = _with(_created(events), "data.object.id", ...)
    failing = [True]

    def database_down(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if failing[0] and "billing_rejected_webhooks" in statement:
            raise OperationalError(statement, {}, Exception("server closed the connection"))

    event.listen(db.engine(), "before_cursor_execute", database_down)
    try:
        assert _post(client, bad, fake.webhook_secret).status_code == 503
        failing[0] = False
        assert _post(client, bad, fake.webhook_secret).status_code == 400
    finally:
        event.remove(db.engine(), "before_cursor_execute", database_down)
    assert _recorded().deliveries == 1
    _nothing_applied()


def test_operators_see_the_refused_webhooks(app: Flask, ctx: Flask, client, fake: Fake,
                                            events: Events, english):
    _post(client, _with(_completed(events), "data.object.metadata.tenant_id", "-1"),
          fake.webhook_secret)
    _post(client, events["invoice.paid"], fake.webhook_secret, age=-3600)
    operator = english(app.test_client())
    factories.account("ops@parvis.test", operator_role="support")
    factories.login(operator, "ops@parvis.test")
    page = operator.get("/ops/billing/refused-webhooks")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "A number or an organisation id is out of range." in text
    assert "data.object.metadata.tenant_id" in text
    assert events["checkout.session.completed"]["id"] in text
    assert "The signature is dated more than 5 minutes in the future." in text
    assert 'href="/ops/billing/refused-webhooks"' in text  # in the operators' menu


def test_only_operators_see_the_refused_webhooks(app: Flask, client):
    """(Outside an app context: flask-login keeps the signed-in user on ``g``.)"""
    assert client.get("/ops/billing/refused-webhooks").status_code in (302, 401)
    with app.app_context():
        factories.member("acme", "owner@acme.test", "owner")
    factories.login(client, "owner@acme.test")
    assert client.get("/ops/billing/refused-webhooks").status_code == 403


def test_every_reason_reads_in_words() -> None:
    assert set(views.REASON_LABELS) == set(webhook_schema.REASONS)


def test_services_read_only_what_the_schema_checked(ctx: Flask, client, fake: Fake,
                                                    events: Events):
    """An invoice with odd but valid values (no number, a null tax id value, long names) is
    recorded, cut to its columns."""
    paid = _paid(events)
    obj = paid["data"]["object"]
    obj.update(number=None, customer_name="N" * 300, customer_tax_ids=[{"value": None}])
    assert _post(client, paid, fake.webhook_secret).status_code == 200
    invoice = db.session().scalar(select(Invoice))
    assert invoice.number == obj["id"] and invoice.billing_name == "N" * 200
    assert services.subscription_of(db.session(), invoice.tenant_id) is not None
