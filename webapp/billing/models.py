"""Billing records on the control plane: a tenant's subscription, Stripe events seen, invoices,
and the signed webhooks refused for their shape or date."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.db import ControlBase, Timestamps

# Stripe subscription statuses after which nothing is charged any more.
ENDED = ("canceled", "incomplete_expired")


class Subscription(Timestamps, ControlBase):
    """A tenant's plan and the last state of its Stripe subscription that was applied.

    ``status`` mirrors Stripe's subscription status ("trialing", "active", "past_due", "unpaid",
    "canceled"…), or "checkout" while the first payment is awaited. ``past_due_since`` starts
    the grace period; the lifecycle sweep turns it into read-only, then suspension.
    """

    __tablename__ = "billing_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           unique=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)  # who signed up and pays
    plan: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="checkout")
    trial_ends_at: Mapped[datetime | None]
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    current_period_end: Mapped[datetime | None]
    past_due_since: Mapped[datetime | None]
    # The tenant status billing last set: if the tenant's differs, an operator (or the end of
    # the contract) changed it, and billing leaves it alone.
    tenant_status: Mapped[str | None] = mapped_column(String(20))


class StripeEvent(ControlBase):
    """A webhook event already applied: its id is unique, so a redelivery applies nothing."""

    __tablename__ = "billing_stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime]


class RejectedWebhook(ControlBase):
    """A webhook Stripe signed but Parvis refused for good (400, so Stripe stops retrying): a
    body not of the expected shape, or a signature dated outside the tolerance. Operators read
    these to find an event Stripe will not send again.

    Only the reason, the field at fault and the event's id and type (made printable, cut to
    100 characters) are kept, never the body: it may hold personal data. Redeliveries of the
    same body (found by its SHA-256) add to ``deliveries`` instead of adding rows.
    """

    __tablename__ = "billing_rejected_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(30))
    field: Mapped[str] = mapped_column(String(200), default="")
    event_id: Mapped[str] = mapped_column(String(100), default="")
    event_type: Mapped[str] = mapped_column(String(100), default="")
    received_at: Mapped[datetime]
    last_received_at: Mapped[datetime] = mapped_column(index=True)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)


class Invoice(ControlBase):
    """A paid invoice: kept 10 years (accounting law), even after the tenant is destroyed, so the
    tenant is referred to by a copy of its address name as well as by id."""

    __tablename__ = "billing_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_invoice_id: Mapped[str] = mapped_column(String(255), unique=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="SET NULL"),
                                                  index=True)
    tenant_slug: Mapped[str] = mapped_column(String(41))
    number: Mapped[str] = mapped_column(String(100))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    billing_name: Mapped[str] = mapped_column(String(200), default="")
    billing_email: Mapped[str] = mapped_column(String(254), default="")
    billing_address: Mapped[str] = mapped_column(Text, default="")
    tax_ids: Mapped[str] = mapped_column(String(500), default="")
    paid_at: Mapped[datetime]
