"""Billing services: checkout and trial, webhooks, the lifecycle sweep, entitlements.

Every change of a subscription comes from applying the subscription's *current* state,
re-fetched from the gateway under a row lock: whatever the order or number of deliveries of
Stripe's events, the last one applied leaves what Stripe holds now. Billing changes what a
tenant may do (its status and limits), never its data.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenants.api import Limits
from webapp.billing import plans
from webapp.billing.models import Subscription


def subscription_of(db: Session, tenant_id: int) -> Subscription | None:
    return db.scalar(select(Subscription).where(Subscription.tenant_id == tenant_id))


def entitlements(db: Session, tenant_id: int) -> Limits:
    """What the tenant's plan allows (``None`` fields: no limit). A tenant without a
    subscription was created by an operator outside billing and is not limited."""
    subscription = subscription_of(db, tenant_id)
    plan = plans.get(subscription.plan) if subscription is not None else None
    return plan.limits if plan is not None else plans.UNLIMITED
