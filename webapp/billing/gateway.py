"""The billing gateway: what Parvis asks of Stripe, behind one interface.

``StripeGateway`` is the only implementation and uses the official ``stripe`` library. Offline
(the demo, the tests) the same class talks over HTTP to the fake Stripe of ``fake.py``: only its
address differs, so the library's requests, responses and webhook signatures are exercised for
real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import stripe
from flask import current_app

FAKE_PREFIX = "/_fake-stripe"
WEBHOOK_TOLERANCE = 300  # seconds: an older signature is refused (replay protection)


class InvalidEvent(ValueError):
    """A webhook whose signature, timestamp or body does not verify."""


class GatewayError(RuntimeError):
    """Stripe could not be reached or refused the request."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class SubscriptionState:
    """A subscription as Stripe holds it now."""

    id: str
    customer: str
    status: str
    plan: str | None  # None: a price Parvis does not know
    cancel_at_period_end: bool
    current_period_end: datetime | None
    # Stripe's ``cancellation_details.reason``: "payment_failed" when it cancelled the
    # subscription after the last failed retry of a payment.
    cancellation_reason: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object: dict[str, Any]


class Gateway(Protocol):
    def create_checkout_session(self, *, plan: str, tenant_id: int, email: str,
                                success_url: str, cancel_url: str) -> CheckoutSession: ...

    def create_portal_session(self, *, customer: str, return_url: str) -> str: ...

    def retrieve_subscription(self, subscription_id: str) -> SubscriptionState: ...

    def construct_event(self, payload: bytes, signature: str) -> WebhookEvent: ...


def _timestamp(value: object) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None  # type: ignore[arg-type]


class StripeGateway:
    """The gateway over the official ``stripe`` library; ``api_base`` points it at the fake."""

    def __init__(self, *, api_key: str, webhook_secret: str, prices: dict[str, str],
                 api_base: str | None = None) -> None:
        self.client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base} if api_base else None,
            max_network_retries=2)
        self.webhook_secret = webhook_secret
        self.prices = prices
        self.plans_by_price = {price: plan for plan, price in prices.items()}

    def create_checkout_session(self, *, plan: str, tenant_id: int, email: str,
                                success_url: str, cancel_url: str) -> CheckoutSession:
        metadata = {"tenant_id": str(tenant_id), "plan": plan}
        try:
            session = self.client.v1.checkout.sessions.create(params={
                "mode": "subscription",
                "line_items": [{"price": self.prices[plan], "quantity": 1}],
                "customer_email": email,
                "client_reference_id": str(tenant_id),
                "consent_collection": {"terms_of_service": "required"},
                "tax_id_collection": {"enabled": True},
                "billing_address_collection": "required",
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
                "success_url": success_url,
                "cancel_url": cancel_url,
            })
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        return CheckoutSession(id=session.id, url=session.url or "")

    def create_portal_session(self, *, customer: str, return_url: str) -> str:
        try:
            portal = self.client.v1.billing_portal.sessions.create(
                params={"customer": customer, "return_url": return_url})
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        return portal.url

    def retrieve_subscription(self, subscription_id: str) -> SubscriptionState:
        try:
            sub = self.client.v1.subscriptions.retrieve(subscription_id)
        except stripe.StripeError as error:
            raise GatewayError(str(error)) from error
        data = sub.to_dict()
        item = data["items"]["data"][0]
        customer = data["customer"]
        return SubscriptionState(
            id=data["id"], customer=customer if isinstance(customer, str) else customer["id"],
            status=data["status"], plan=self.plans_by_price.get(item["price"]["id"]),
            cancel_at_period_end=bool(data.get("cancel_at_period_end")),
            current_period_end=_timestamp(item.get("current_period_end")),
            cancellation_reason=(data.get("cancellation_details") or {}).get("reason"))

    def construct_event(self, payload: bytes, signature: str) -> WebhookEvent:
        try:
            # The library checks the HMAC and the timestamp's age; the body is then read as is.
            stripe.Webhook.construct_event(payload, signature, self.webhook_secret,
                                           tolerance=WEBHOOK_TOLERANCE)
            body = json.loads(payload)
            return WebhookEvent(id=str(body["id"]), type=str(body["type"]),
                                object=dict(body["data"]["object"]))
        except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError) as error:
            raise InvalidEvent(str(error)) from error


def gateway() -> Gateway:
    """The app's gateway: real Stripe, or the fake (at ``STRIPE_API_BASE``, else mounted on
    this server at ``BASE_URL``)."""
    config = current_app.config
    api_base = config["STRIPE_API_BASE"]
    if not api_base and config["BILLING_GATEWAY"] == "fake":
        api_base = config["BASE_URL"] + FAKE_PREFIX  # mounted on this server (never the Host)
    return StripeGateway(api_key=config["STRIPE_API_KEY"],
                         webhook_secret=config["STRIPE_WEBHOOK_SECRET"],
                         prices=config["STRIPE_PRICES"], api_base=api_base or None)
