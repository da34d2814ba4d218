"""Billing services: checkout and trial, webhooks, the lifecycle sweep, entitlements.

Every change of a paid subscription comes from applying the subscription's *current* state,
re-fetched from the gateway under a lock on its row: whatever the order or the number of
deliveries of Stripe's events, the last one applied leaves what Stripe holds now. Billing
changes what a tenant may do (its status and limits), never its data.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.jobs import enqueue, task
from core.web.pagination import Page, paginate
from core.web.urls import external_url
from tenants.api import Limits
from webapp import db as control_db
from webapp import tenancy
from webapp.auth.models import Account
from webapp.billing import plans
from webapp.billing.gateway import RejectedEvent, SubscriptionState, WebhookEvent, gateway
from webapp.billing.models import ENDED, Invoice, RejectedWebhook, StripeEvent, Subscription
from webapp.contract import services as contract
from webapp.members import services as members
from webapp.organisations import services as organisations
from webapp.organisations.models import Tenant, TenantStatus

log = logging.getLogger(__name__)

PAID = ("active", "trialing")
UNPAID = ("past_due", "unpaid")


class BillingError(ValueError):
    """A billing request refused with a translated reason."""

def subscription_of(db: Session, tenant_id: int) -> Subscription | None:
    return db.scalar(select(Subscription).where(Subscription.tenant_id == tenant_id))


def entitlements(db: Session, tenant_id: int) -> Limits:
    """What the tenant's plan allows (``None`` fields: no limit). A tenant without a
    subscription was created by an operator outside billing and is not limited."""
    plan = db.scalar(select(Subscription.plan).where(Subscription.tenant_id == tenant_id))
    return plans.limits_of(plan)


def _check_plan(code: str) -> plans.Plan:
    plan = plans.get(code)
    if plan is None:
        raise BillingError(_l("Choose a plan from the list."))
    return plan


def _subscription_for(db: Session, account: Account, tenant: Tenant,
                      plan: plans.Plan) -> Subscription:
    subscription = subscription_of(db, tenant.id)
    if subscription is None:
        subscription = Subscription(tenant_id=tenant.id, account_id=account.id, plan=plan.code,
                                    status="checkout")
        db.add(subscription)
    elif subscription.stripe_subscription_id:
        # Paying already (plan changes go through the Portal), or ended: the contract is over.
        raise BillingError(_l("This organisation already has a subscription: change it from "
                              "the subscription page."))
    return subscription


def start_checkout(db: Session, account: Account, tenant: Tenant, plan: str, *,
                   success_url: str, cancel_url: str) -> str:
    """The Stripe Checkout address where ``account`` pays for ``tenant`` on ``plan``.

    Nothing is provisioned here nor on the return to ``success_url`` (which may carry
    ``{CHECKOUT_SESSION_ID}``): only the ``checkout.session.completed`` webhook does it.
    Raises ``BillingError`` (a known subscription, an unknown plan) or ``GatewayError``.
    """
    chosen = _check_plan(plan)
    subscription = _subscription_for(db, account, tenant, chosen)
    session = gateway().create_checkout_session(
        plan=chosen.code, tenant_id=tenant.id, email=account.email,
        success_url=success_url, cancel_url=cancel_url)
    if subscription.status == "checkout":
        subscription.plan = chosen.code
    db.flush()
    return session.url


def start_trial(db: Session, account: Account, tenant: Tenant, plan: str) -> Subscription:
    """Start ``plan``'s free trial for a tenant still ``provisioning`` and provision it now
    (no payment to wait for). One trial per account."""
    chosen = _check_plan(plan)
    if tenant.status != TenantStatus.PROVISIONING:
        raise BillingError(_l("A trial can only start for a new organisation."))
    used = db.scalar(select(Subscription.id).where(Subscription.account_id == account.id,
                                                   Subscription.trial_ends_at.is_not(None)))
    if used is not None:
        raise BillingError(_l("You have already used your free trial: choose a paid plan."))
    subscription = _subscription_for(db, account, tenant, chosen)
    subscription.plan = chosen.code
    subscription.status = "trialing"
    subscription.trial_ends_at = utcnow() + timedelta(days=chosen.trial_days)
    organisations.provision(db, tenant)
    db.flush()
    return subscription


def portal_url(db: Session, tenant: Tenant, return_url: str) -> str | None:
    """The Customer Portal address for ``tenant``'s paying customer; None before a payment."""
    subscription = subscription_of(db, tenant.id)
    if subscription is None or not subscription.stripe_customer_id:
        return None
    return gateway().create_portal_session(customer=subscription.stripe_customer_id,
                                           return_url=return_url)


# --- webhooks --------------------------------------------------------------------------------


def handle_event(db: Session, event: WebhookEvent) -> str:
    """Apply one verified webhook event; returns what was done (for the log and tests).

    ``event`` comes from ``gateway().construct_event``, whose schema
    (``webhook_schema.parse_event``) has checked every field read here: types, lengths,
    characters and ranges the columns hold.

    The event id is inserted first: a later delivery of the same event fails on the unique
    key and applies nothing (one arriving while the first is under way is told so at once on
    PostgreSQL, see ``_claim``). The caller commits; any exception rolls the id back with the
    effect, so a retry applies both.
    """
    if not _claim(db, event.id):
        return "in_progress"
    try:
        with db.begin_nested():
            db.add(StripeEvent(id=event.id, type=event.type, received_at=utcnow()))
    except IntegrityError:
        return "duplicate"
    obj = event.object
    if event.type == "checkout.session.completed":
        return _checkout_completed(db, obj)
    if event.type.startswith("customer.subscription."):
        return _sync_by_id(db, str(obj["id"]), _tenant_ref(obj))
    if event.type in ("invoice.paid", "invoice.payment_failed"):
        subscription_id = _invoice_subscription(obj)
        if subscription_id is None:
            return "ignored"
        # The invoice carries its subscription's metadata: it may arrive before any other event.
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        outcome = _sync_by_id(db, subscription_id, _tenant_ref(details))
        if event.type == "invoice.paid" and outcome != "unknown":
            _record_invoice(db, obj, subscription_id)
        return outcome
    return "ignored"


def _claim(db: Session, event_id: str) -> bool:
    """PostgreSQL: False when another transaction is applying this very event right now, so a
    burst of redeliveries answers at once (Stripe retries later) instead of each holding a
    connection while it waits on the unique key. SQLite's writers queue anyway."""
    if db.get_bind().dialect.name != "postgresql":
        return True
    key = int.from_bytes(hashlib.sha256(f"stripe-event:{event_id}".encode()).digest()[:8],
                         "big", signed=True)
    return bool(db.scalar(select(func.pg_try_advisory_xact_lock(key))))


def _tenant_ref(obj: dict) -> int | None:
    """The tenant id Parvis put in the object (the schema checked it is one, or absent)."""
    value = (obj.get("metadata") or {}).get("tenant_id") or obj.get("client_reference_id")
    return int(value) if value else None


def _invoice_subscription(invoice: dict) -> str | None:
    details = ((invoice.get("parent") or {}).get("subscription_details") or {})
    return details.get("subscription") or invoice.get("subscription")


def _locked(db: Session, *conditions: ColumnElement[bool]) -> Subscription | None:
    """The subscription row, locked until the commit (PostgreSQL; SQLite's POST requests
    already hold the write lock): two events for it are applied one after the other."""
    return db.scalar(select(Subscription).where(*conditions)
                     .with_for_update().execution_options(populate_existing=True))


def _checkout_completed(db: Session, session: dict) -> str:
    tenant_id = _tenant_ref(session)
    subscription = _locked(db, Subscription.tenant_id == tenant_id) if tenant_id else None
    if subscription is None or not session.get("subscription"):
        log.warning("checkout %s completed for no known tenant", session.get("id"))
        return "unknown"
    if subscription.stripe_subscription_id not in (None, session["subscription"]):
        # A second payment for the same tenant (two tabs): Stripe holds two subscriptions;
        # the first one stays, the second is for an operator to refund.
        log.error("tenant %s paid twice: subscription %s kept, %s to refund", tenant_id,
                  subscription.stripe_subscription_id, session["subscription"])
        return "already_subscribed"
    subscription.stripe_subscription_id = session["subscription"]
    subscription.stripe_customer_id = session.get("customer")
    return _apply(db, subscription, gateway().retrieve_subscription(session["subscription"]))


def _sync_by_id(db: Session, subscription_id: str, tenant_id: int | None) -> str:
    """Apply the current state of a Stripe subscription to the row that knows it (or, for
    events arriving before ``checkout.session.completed``, the row of its tenant)."""
    condition = Subscription.stripe_subscription_id == subscription_id
    if tenant_id is not None:
        condition = or_(condition, (Subscription.tenant_id == tenant_id)
                        & Subscription.stripe_subscription_id.is_(None))
    subscription = _locked(db, condition)
    if subscription is None:
        log.warning("event for subscription %s of no known tenant", subscription_id)
        return "unknown"
    subscription.stripe_subscription_id = subscription_id
    return _apply(db, subscription, gateway().retrieve_subscription(subscription_id))


def _apply(db: Session, subscription: Subscription, state: SubscriptionState) -> str:
    """Make the row say what Stripe says now, then the tenant's status follow.

    A tenant waiting for its first payment is provisioned by whichever webhook first shows the
    subscription paid: usually ``checkout.session.completed``, but a payment that needed 3-D
    Secure or a bank debit is confirmed later, by ``customer.subscription.updated``."""
    subscription.status = state.status
    subscription.stripe_customer_id = state.customer
    subscription.plan = state.plan or subscription.plan
    subscription.cancel_at_period_end = state.cancel_at_period_end
    subscription.current_period_end = state.current_period_end
    was_unpaid = subscription.past_due_since is not None
    if state.status in UNPAID or (state.status in ENDED
                                  and state.cancellation_reason == "payment_failed"):
        subscription.past_due_since = subscription.past_due_since or utcnow()
    else:
        subscription.past_due_since = None
    tenant = db.get(Tenant, subscription.tenant_id)
    assert tenant is not None  # the foreign key
    if tenant.status == TenantStatus.PROVISIONING:
        if state.status not in PAID:
            return "waiting"
        organisations.provision(db, tenant)
    _follow(db, subscription, tenant)
    if not was_unpaid and subscription.past_due_since is not None:
        _tell(tenant.id, "past_due")
    db.flush()
    _refresh_limits()
    return state.status


def _record_invoice(db: Session, invoice: dict, subscription_id: str) -> None:
    if db.scalar(select(Invoice.id).where(Invoice.stripe_invoice_id == invoice["id"])):
        return
    subscription = db.scalar(select(Subscription).where(
        Subscription.stripe_subscription_id == subscription_id))
    tenant = db.get(Tenant, subscription.tenant_id) if subscription else None
    address = invoice.get("customer_address") or {}
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    tax_ids = invoice.get("customer_tax_ids") or []
    db.add(Invoice(
        stripe_invoice_id=invoice["id"], tenant_id=tenant.id if tenant else None,
        tenant_slug=tenant.slug if tenant else "",
        number=(invoice.get("number") or invoice["id"])[:100],
        amount_cents=int(invoice.get("amount_paid") or 0),
        currency=str(invoice.get("currency") or "eur")[:3],
        billing_name=(invoice.get("customer_name") or "")[:200],
        billing_email=(invoice.get("customer_email") or "")[:254],
        billing_address=", ".join(str(v) for v in address.values() if v),
        tax_ids=", ".join(t.get("value") or "" for t in tax_ids)[:500],
        paid_at=datetime.fromtimestamp(paid_at, utcnow().tzinfo) if paid_at else utcnow()))
    db.flush()


def record_rejection(db: Session, payload: bytes, rejected: RejectedEvent) -> None:
    """Keep a signed webhook refused for good where operators see it; the same body delivered
    again counts as one more delivery of the same row."""
    digest = hashlib.sha256(payload).hexdigest()
    now = utcnow()
    what = {"reason": rejected.reason, "field": rejected.field[:200],
            "event_id": rejected.event_id[:100], "event_type": rejected.event_type[:100],
            "last_received_at": now}
    query = select(RejectedWebhook).where(RejectedWebhook.body_sha256 == digest)
    row = db.scalar(query)
    if row is None:
        try:
            with db.begin_nested():
                db.add(RejectedWebhook(body_sha256=digest, received_at=now, deliveries=1,
                                       **what))
        except IntegrityError:  # the same body, recorded meanwhile by another delivery
            row = db.scalar(query)
    if row is not None:
        for key, value in what.items():
            setattr(row, key, value)
        row.deliveries += 1
    db.flush()
    log.warning("webhook refused (%s at %s): event %r of type %r", rejected.reason,
                rejected.field or "body", rejected.event_id, rejected.event_type)


def rejections(db: Session, page: int = 1) -> Page[RejectedWebhook]:
    """A page of the refused webhooks, newest first (the operators' list), with how many there
    are (one statement)."""
    return paginate(db, select(RejectedWebhook).order_by(RejectedWebhook.last_received_at.desc(),
                                                         RejectedWebhook.id.desc()), page)


# --- lifecycle -------------------------------------------------------------------------------


def unpaid_since(subscription: Subscription) -> datetime | None:
    """Since when the tenant has not paid what it owes: a failed renewal, or a trial that ended
    without a subscription."""
    if subscription.past_due_since is not None:
        return subscription.past_due_since
    if (subscription.status == "trialing" and subscription.stripe_subscription_id is None
            and subscription.trial_ends_at is not None and subscription.trial_ends_at <= utcnow()):
        return subscription.trial_ends_at
    return None


def _target(subscription: Subscription) -> TenantStatus | None:
    """The tenant status the subscription calls for; None: the contract ends.

    Only a subscription the organisation cancelled ends the contract. One that Stripe cancelled
    because every retry of a payment failed is unpaid, not terminated: it follows the grace,
    read-only and suspended steps and stays suspended, so a failed payment never leads to the
    data's destruction (an operator or the owner ends the contract, with its return period)."""
    since = unpaid_since(subscription)
    if subscription.status in ENDED and since is None:
        return None
    if since is None:
        return TenantStatus.ACTIVE
    config = current_app.config
    grace = timedelta(days=config["BILLING_GRACE_DAYS"])
    if utcnow() < since + grace:
        return TenantStatus.ACTIVE  # the grace period: everything works, members see a banner
    if utcnow() < since + grace + timedelta(days=config["BILLING_READ_ONLY_DAYS"]):
        return TenantStatus.READ_ONLY
    return TenantStatus.SUSPENDED


def _follow(db: Session, subscription: Subscription, tenant: Tenant) -> None:
    """Set the tenant's status from its subscription. Billing only moves a tenant it put where
    it is: an operator's suspension, or a contract already ended, is left alone."""
    if tenant.status in (TenantStatus.PROVISIONING, TenantStatus.ENDED, TenantStatus.DESTROYED):
        return
    if tenant.status.value != (subscription.tenant_status or tenant.status.value):
        return  # an operator changed it since billing last did
    target = _target(subscription)
    if target is None:
        _end_contract(db, tenant)
        subscription.tenant_status = TenantStatus.ENDED.value
        return
    if tenant.status != target:
        log.info("tenant %s: %s -> %s (billing)", tenant.slug, tenant.status, target)
        organisations.set_status(db, tenant, target)
        _tell(tenant.id, {TenantStatus.READ_ONLY: "read_only",
                          TenantStatus.SUSPENDED: "suspended"}.get(target, "restored"))
    subscription.tenant_status = target.value


def _tell(tenant_id: int, kind: str) -> None:
    """E-mail the owners and admins once this unit of work commits."""
    enqueue(send_status_notice, tenant_id, kind)


def _end_contract(db: Session, tenant: Tenant) -> None:
    contract.end_contract(db, tenant, contract.SUBSCRIPTION_ENDED)


def _refresh_limits() -> None:
    """Plan limits travel with the cached registry row: drop the cache (again at commit)."""

    tenancy.cache.clear()
    control_db.after_commit(tenancy.cache.clear)


def sweep(db: Session) -> int:
    """Move tenants along the lifecycle as time passes (grace over -> read-only -> suspended);
    returns how many changed status. Run hourly."""
    changed = 0
    candidates = db.scalars(select(Subscription).where(or_(
        Subscription.past_due_since.is_not(None),
        (Subscription.status == "trialing") & Subscription.stripe_subscription_id.is_(None)))
        .with_for_update())
    for subscription in candidates:
        tenant = db.get(Tenant, subscription.tenant_id)
        if tenant is None:
            continue
        before = tenant.status
        _follow(db, subscription, tenant)
        changed += tenant.status != before
    db.flush()
    return changed


# --- what members see ------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """The billing banner: which situation, and until when nothing changes."""

    kind: str  # "past_due", "read_only", "suspended", "trial", "trial_over", "cancelling"
    until: datetime | None


def notice(db: Session, tenant_id: int) -> Notice | None:
    return notice_of(subscription_of(db, tenant_id))


def notice_of(subscription: Subscription | None) -> Notice | None:
    """The banner of a tenant with ``subscription`` (None: a tenant outside billing)."""
    if subscription is None:
        return None
    if subscription.tenant_status == TenantStatus.SUSPENDED.value:
        return Notice("suspended", None)
    since = unpaid_since(subscription)
    config = current_app.config
    if since is not None:
        grace_end = since + timedelta(days=config["BILLING_GRACE_DAYS"])
        if utcnow() < grace_end and subscription.tenant_status != TenantStatus.READ_ONLY.value:
            kind = "trial_over" if subscription.past_due_since is None else "past_due"
            return Notice(kind, grace_end)
        return Notice("read_only", grace_end + timedelta(days=config["BILLING_READ_ONLY_DAYS"]))
    if subscription.status == "trialing" and subscription.stripe_subscription_id is None:
        return Notice("trial", subscription.trial_ends_at)
    if subscription.cancel_at_period_end and subscription.status in PAID:
        return Notice("cancelling", subscription.current_period_end)
    return None


def invoices(db: Session, tenant_id: int) -> list[Invoice]:
    return list(db.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id)
                           .order_by(Invoice.paid_at.desc())))


# A job a service queues is declared beside it (tasks.py holds the periodic ones): the
# job calls back into this module, so in tasks.py it would make an import circle.
NOTICES = ("past_due", "read_only", "suspended", "restored")


@task(formerly=("webapp.billing.tasks:send_status_notice",))
def send_status_notice(tenant_id: int, kind: str) -> int:
    """E-mail the organisation's owners and admins what billing just did (one of ``NOTICES``);
    nothing if the space has moved on since (a later notice tells). Returns how many."""
    session = control_db.session()
    tenant = session.get(Tenant, tenant_id)
    current = notice(session, tenant_id)
    now = current.kind if current is not None else "restored"
    if tenant is None or kind not in NOTICES or now != kind:
        return 0
    return members.email_owners_and_admins(
        session, tenant_id, "billing/email/status", kind=kind, organisation=tenant.name,
        until=current.until if current else None,
        link=external_url("billing.subscription", slug=tenant.slug))
