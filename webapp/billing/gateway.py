"""The billing gateway: what Parvis asks of Stripe, behind one interface.

``StripeGateway`` is the only implementation and uses the official ``stripe`` library. Offline
(the demo, the tests) the same class talks over HTTP to the fake Stripe of ``fake.py``: only its
address differs, so the library's requests, responses and webhook signatures are exercised for
real.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import stripe
from flask import current_app

# The webhook's classes live with its schema; the views and services import them from here.
from webapp.billing.webhook_schema import (
    InvalidEvent,
    RejectedEvent,
    WebhookEvent,
    labels_of,
    parse_event,
)

FAKE_PREFIX = "/_fake-stripe"
# Seconds: a signature older than this is refused (replays), and so is one dated further
# ahead (a clock that far off, or a forged date, is not Stripe's).
WEBHOOK_TOLERANCE = 300


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


class Gateway(Protocol):
    def create_checkout_session(self, *, plan: str, tenant_id: int, email: str,
                                success_url: str, cancel_url: str) -> CheckoutSession: ...

    def create_portal_session(self, *, customer: str, return_url: str) -> str: ...

    def retrieve_subscription(self, subscription_id: str) -> SubscriptionState: ...

    def construct_event(self, payload: bytes, signature: str) -> WebhookEvent: ...


def _timestamp(value: int | str | None) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


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
        """The event, once its HMAC, its timestamp and its shape are right.

        ``InvalidEvent``: not signed with our secret (anyone can send that; nothing is kept).
        ``RejectedEvent``: signed, but dated outside the tolerance or not of the expected shape.
        """
        try:
            # The library checks the HMAC only: it refuses old timestamps but accepts any date
            # in the future (stripe 16.1), so both sides are checked here.
            stripe.WebhookSignature.verify_header(payload, signature, self.webhook_secret,
                                                  tolerance=None)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidEvent(str(error)) from error
        age = time.time() - _signed_at(signature)
        if abs(age) > WEBHOOK_TOLERANCE:
            raise RejectedEvent("timestamp_old" if age > 0 else "timestamp_future",
                                "Stripe-Signature", *labels_of(payload))
        return parse_event(payload)


def _signed_at(header: str) -> int:
    """The header's timestamp, read as the library reads it (the first ``t=``), which the
    verified HMAC covers."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int(next(item[1] for item in items if item[0] == "t"))


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
