"""The fake Stripe served over HTTP for billing tests, and helpers to sign up and pay."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests import factories
from webapp import db
from webapp.auth.models import Account, Membership
from webapp.billing import services
from webapp.billing.fake import FakeStripe
from webapp.organisations.models import Tenant, TenantStatus


class Fake(FakeStripe):
    """The fake, keeping the events it sends instead of posting them: tests deliver them."""

    def __init__(self, app: Flask) -> None:
        self.sent: list[tuple[bytes, dict[str, str]]] = []
        super().__init__(webhook_secret=app.config["STRIPE_WEBHOOK_SECRET"],
                         prices=app.config["STRIPE_PRICES"],
                         webhook_url="http://parvis.test/billing/webhook",
                         deliver=lambda url, body, headers: self.sent.append((body, headers)))

    def take(self) -> list[tuple[bytes, dict[str, str]]]:
        taken, self.sent[:] = list(self.sent), []
        return taken

    @staticmethod
    def type_of(body: bytes) -> str:
        return json.loads(body)["type"]


@pytest.fixture
def fake(app: Flask) -> Iterator[Fake]:
    """A fake Stripe on its own port, and the app's gateway pointed at it."""
    stripe = Fake(app)
    server = make_server("127.0.0.1", 0, stripe.app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    before = app.config["STRIPE_API_BASE"]
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{server.port}"
    try:
        yield stripe
    finally:
        app.config["STRIPE_API_BASE"] = before
        server.shutdown()
        server.server_close()


def deliver(client: FlaskClient, body: bytes, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post("/billing/webhook", data=body, headers=headers)


def new_organisation(slug: str, email: str) -> tuple[Account, Tenant]:
    """An owner and a tenant reserved by signup, waiting for its payment (``provisioning``)."""
    owner = factories.account(email)
    session = db.session()
    tenant = Tenant(slug=slug, name=slug.title(), status=TenantStatus.PROVISIONING)
    session.add(tenant)
    session.flush()
    session.add(Membership(tenant_id=tenant.id, account_id=owner.id, role="owner"))
    db.commit()
    return owner, tenant


def checkout(fake: Fake, owner: Account, tenant: Tenant, plan: str = "team") -> str:
    """Start Checkout for ``tenant`` and pay it at the fake; returns the checkout id."""
    url = services.start_checkout(db.session(), owner, tenant, plan,
                                  success_url="http://parvis.test/done",
                                  cancel_url="http://parvis.test/back")
    db.commit()
    checkout_id = url.rsplit("/", 1)[1]
    fake.pay(checkout_id, name="Club SARL", tax_id="FR12345678901")
    return checkout_id
