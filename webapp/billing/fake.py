"""A fake Stripe, small enough to read, that the official library talks to over HTTP.

It serves the few API calls Parvis makes (Checkout sessions, Customer Portal sessions,
subscriptions), a Checkout page (pay, or a declined card), a Customer Portal page (change
plan, cancel at period end, a failed or successful renewal, the end of the period) and sends
webhook events signed exactly as Stripe signs them (``Stripe-Signature: t=…,v1=HMAC-SHA256``).
State is kept in memory. It is for the demo and the tests: mounted at ``/_fake-stripe`` when
``PARVIS_BILLING_GATEWAY=fake``, or run alone with ``flask billing fake-stripe``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, abort, jsonify, redirect, render_template, request

from webapp.billing.plans import PLANS

PERIOD_SECONDS = 30 * 24 * 3600
RETRY_DELAYS = (0, 1, 2, 4, 8, 16)  # seconds before each delivery attempt, as Stripe retries

Deliver = Callable[[str, bytes, dict[str, str]], None]  # (url, body, headers)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send for ``payload``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_with_retries(url: str, body: bytes, headers: dict[str, str]) -> None:
    """Deliver one event over HTTP in the background, retrying while Parvis answers 5xx or
    cannot be reached (what Stripe does, with shorter delays)."""

    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not a web address: {url!r}")

    def attempt() -> None:
        for delay in RETRY_DELAYS:
            time.sleep(delay)
            try:
                with urllib.request.urlopen(urllib.request.Request(  # noqa: S310 (http checked)
                        url, data=body, headers=headers, method="POST"), timeout=30):
                    return
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    return  # refused for good (a bad signature): Stripe would not retry either
            except OSError:
                pass

    threading.Thread(target=attempt, daemon=True).start()


def _nested(form: dict[str, str]) -> dict[str, Any]:
    """Stripe's form encoding (``line_items[0][price]=…``) as nested dicts."""
    result: dict[str, Any] = {}
    for key, value in form.items():
        parts = re.findall(r"[^\[\]]+", key)
        here = result
        for part in parts[:-1]:
            here = here.setdefault(part, {})
        here[parts[-1]] = value
    return result


class FakeStripe:
    """The fake's state and its WSGI application (``self.app``)."""

    def __init__(self, *, webhook_secret: str, prices: dict[str, str],
                 webhook_url: str | None = None, deliver: Deliver = post_with_retries) -> None:
        self.webhook_secret = webhook_secret
        self.prices = prices
        self.webhook_url = webhook_url  # None: this server's own /billing/webhook (mounted)
        self.deliver = deliver
        self.lock = threading.RLock()
        self.ids = itertools.count(1)
        self.checkouts: dict[str, dict[str, Any]] = {}
        self.portals: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.app = self._make_app()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self.ids):06d}"

    # --- what happens, and the events it sends ------------------------------------------

    def send(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        event = {"id": self.new_id("evt"), "object": "event", "type": type_,
                 "created": int(time.time()), "livemode": False,
                 "data": {"object": json.loads(json.dumps(obj))}}
        body = json.dumps(event).encode()
        url = self.webhook_url or request.host_url.rstrip("/") + "/billing/webhook"
        self.deliver(url, body, {"Content-Type": "application/json",
                                 "Stripe-Signature": sign(body, self.webhook_secret)})
        return event

    def pay(self, checkout_id: str, *, name: str, tax_id: str = "",
            confirmed_later: bool = False) -> dict[str, Any]:
        """The customer pays: a customer, an active subscription, a paid invoice, a completed
        session; events in the order Stripe sends them. ``confirmed_later``: the payment awaits
        3-D Secure or a bank debit, so Checkout completes with the subscription ``incomplete``
        and no paid invoice (``pay_renewal`` confirms it)."""
        with self.lock:
            checkout = self.checkouts[checkout_id]
            if checkout["status"] == "complete":
                return checkout
            customer = {"id": self.new_id("cus"), "object": "customer", "name": name,
                        "email": checkout["customer_email"],
                        "address": {"line1": "1 rue de la Paix", "postal_code": "75002",
                                    "city": "Paris", "country": "FR"},
                        "tax_ids": [{"type": "eu_vat", "value": tax_id}] if tax_id else []}
            self.customers[customer["id"]] = customer
            now = int(time.time())
            subscription = {
                "id": self.new_id("sub"), "object": "subscription", "customer": customer["id"],
                "status": "incomplete" if confirmed_later else "active",
                "cancel_at_period_end": False, "metadata": checkout["metadata"], "created": now,
                "items": {"object": "list", "data": [{
                    "id": self.new_id("si"), "object": "subscription_item",
                    "price": {"id": checkout["price"], "object": "price"},
                    "current_period_end": now + PERIOD_SECONDS}]}}
            self.subscriptions[subscription["id"]] = subscription
            checkout.update(status="complete",
                            payment_status="unpaid" if confirmed_later else "paid",
                            customer=customer["id"], subscription=subscription["id"],
                            customer_details={"name": name, "email": customer["email"]})
            self.send("customer.subscription.created", subscription)
            if not confirmed_later:
                self.send("invoice.paid", self.invoice(subscription))
            self.send("checkout.session.completed", checkout)
            return checkout

    def invoice(self, subscription: dict[str, Any], *, paid: bool = True) -> dict[str, Any]:
        customer = self.customers[subscription["customer"]]
        price = subscription["items"]["data"][0]["price"]["id"]
        number = next(self.ids)
        return {"id": f"in_fake{number:06d}", "object": "invoice",
                "number": f"FAKE-{number:06d}", "currency": "eur",
                "amount_paid": self.amount(price) if paid else 0,
                "amount_due": self.amount(price), "status": "paid" if paid else "open",
                "customer": customer["id"], "customer_name": customer["name"],
                "customer_email": customer["email"], "customer_address": customer["address"],
                "customer_tax_ids": customer["tax_ids"],
                "status_transitions": {"paid_at": int(time.time()) if paid else None},
                "parent": {"type": "subscription_details",
                           "subscription_details": {"subscription": subscription["id"],
                                                    "metadata": subscription["metadata"]}}}

    def amount(self, price: str) -> int:
        plan = {p: code for code, p in self.prices.items()}.get(price)
        return PLANS[plan].price_cents if plan in PLANS else 0

    def portal_action(self, subscription_id: str, action: str, plan: str = "") -> None:
        """What the Customer Portal page (and the tests) can do to a subscription."""
        with self.lock:
            sub = self.subscriptions[subscription_id]
            if sub["status"] == "canceled":
                return
            if action == "change_plan" and plan in self.prices:
                sub["items"]["data"][0]["price"]["id"] = self.prices[plan]
                self.send("customer.subscription.updated", sub)
            elif action in ("cancel", "resume"):
                sub["cancel_at_period_end"] = action == "cancel"
                self.send("customer.subscription.updated", sub)
            elif action == "fail_renewal":
                sub["status"] = "past_due"
                self.send("invoice.payment_failed", self.invoice(sub, paid=False))
                self.send("customer.subscription.updated", sub)
            elif action == "pay_renewal":
                sub["status"] = "active"
                item = sub["items"]["data"][0]
                item["current_period_end"] = int(time.time()) + PERIOD_SECONDS
                self.send("invoice.paid", self.invoice(sub))
                self.send("customer.subscription.updated", sub)
            elif action in ("end_period", "retries_exhausted"):
                # The second is what Stripe does after the last failed retry of a payment,
                # when its setting for failed payments is "cancel the subscription".
                sub["status"] = "canceled"
                sub["cancellation_details"] = {"reason": "payment_failed" if action ==
                                               "retries_exhausted" else "cancellation_requested"}
                self.send("customer.subscription.deleted", sub)

    # --- the HTTP side ---------------------------------------------------------------------

    def _make_app(self) -> Flask:
        app = Flask(__name__, root_path=str(Path(__file__).parent),
                    template_folder="templates/billing/fake")
        fake = self

        def error(status: int, message: str):
            return jsonify(error={"type": "invalid_request_error", "message": message}), status

        @app.post("/v1/checkout/sessions")
        def create_checkout():
            params = _nested(request.form.to_dict())
            price = params.get("line_items", {}).get("0", {}).get("price")
            if params.get("mode") != "subscription" or price not in fake.prices.values():
                return error(400, "mode must be subscription, with a known price")
            with fake.lock:
                checkout_id = fake.new_id("cs_test")
                fake.checkouts[checkout_id] = checkout = {
                    "id": checkout_id, "object": "checkout.session", "mode": "subscription",
                    "status": "open", "payment_status": "unpaid", "price": price,
                    "url": f"{request.url_root}checkout/{checkout_id}",
                    "customer_email": params.get("customer_email", ""),
                    "client_reference_id": params.get("client_reference_id"),
                    "metadata": params.get("metadata", {}),
                    "consent_collection": params.get("consent_collection", {}),
                    "tax_id_collection": params.get("tax_id_collection", {}),
                    "success_url": params["success_url"], "cancel_url": params["cancel_url"],
                    "customer": None, "subscription": None}
            return jsonify(checkout)

        @app.post("/v1/billing_portal/sessions")
        def create_portal():
            customer = request.form.get("customer", "")
            if customer not in fake.customers:
                return error(404, f"No such customer: '{customer}'")
            portal_id = fake.new_id("bps")
            fake.portals[portal_id] = portal = {
                "id": portal_id, "object": "billing_portal.session", "customer": customer,
                "return_url": request.form.get("return_url", ""),
                "url": f"{request.url_root}portal/{portal_id}"}
            return jsonify(portal)

        @app.get("/v1/subscriptions/<subscription_id>")
        def get_subscription(subscription_id: str):
            sub = fake.subscriptions.get(subscription_id)
            if sub is None:
                return error(404, f"No such subscription: '{subscription_id}'")
            with fake.lock:
                return jsonify(sub)

        @app.route("/checkout/<checkout_id>", methods=["GET", "POST"])
        def checkout_page(checkout_id: str):
            checkout = fake.checkouts.get(checkout_id) or abort(404)
            declined = False
            if request.method == "POST":
                if request.form.get("card") == "declined" or not request.form.get("terms"):
                    declined = True
                else:
                    fake.pay(checkout_id, name=request.form.get("name", "").strip()
                             or checkout["customer_email"],
                             tax_id=request.form.get("tax_id", "").strip())
                    return redirect(checkout["success_url"].replace(
                        "{CHECKOUT_SESSION_ID}", checkout_id), 303)
            plan = {p: c for c, p in fake.prices.items()}.get(checkout["price"], "")
            return render_template("checkout.html", checkout=checkout, plan=plan,
                                   amount=fake.amount(checkout["price"]), declined=declined)

        @app.route("/portal/<portal_id>", methods=["GET", "POST"])
        def portal_page(portal_id: str):
            portal = fake.portals.get(portal_id) or abort(404)
            subs = [s for s in fake.subscriptions.values() if s["customer"] == portal["customer"]]
            if request.method == "POST" and subs:
                fake.portal_action(subs[-1]["id"], request.form.get("action", ""),
                                   request.form.get("plan", ""))
                return redirect(request.url, 303)
            sub = subs[-1] if subs else None
            current = ({p: c for c, p in fake.prices.items()}
                       .get(sub["items"]["data"][0]["price"]["id"]) if sub else None)
            return render_template("portal.html", portal=portal, sub=sub, current=current,
                                   plans=list(fake.prices))

        return app
