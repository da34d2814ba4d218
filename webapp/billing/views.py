"""Billing pages: the Stripe webhook, the owner's subscription page (plans, Checkout for an
organisation on a trial, the Customer Portal; owners act, admins see the page), and the
operators' list of refused webhooks."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, abort, flash, g, redirect, request, url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError, StatementError
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from core.extensions import csrf
from core.web.errors import error_page
from core.web.htmx import render, template_globals
from core.web.pagination import requested_page
from core.web.urls import external_url
from tenants import api as tenants_api
from webapp import db, tenancy
from webapp.access import member_required, operator_required
from webapp.billing import plans, services
from webapp.billing.cli import billing_cli
from webapp.billing.fake import FakeStripe
from webapp.billing.forms import CheckoutForm, PortalForm
from webapp.billing.gateway import FAKE_PREFIX, GatewayError, InvalidEvent, RejectedEvent, gateway
from webapp.billing.webhook_schema import labels_of

bp = Blueprint("billing", __name__, template_folder="templates")
log = logging.getLogger(__name__)


@bp.post("/billing/webhook")
@csrf.exempt  # Stripe signs its requests instead
def webhook():
    """400 for a request that does not verify, or that Stripe signed but that can never be
    applied (dated outside the tolerance, a body not of the expected shape: recorded for
    operators); Stripe does not retry a 4xx. 503 when the database or Stripe is unavailable
    and 409 while another delivery of the event is being applied (Stripe retries both), 200
    once it is applied or was already."""
    payload = request.get_data()
    try:
        event = gateway().construct_event(payload, request.headers.get("Stripe-Signature", ""))
    except RejectedEvent as rejected:
        return _refused(payload, rejected)
    except InvalidEvent:
        return {"error": "invalid signature or body"}, 400
    session = db.session()
    try:
        outcome = services.handle_event(session, event)
        session.flush()
    except (SQLAlchemyError, OverflowError, UnicodeEncodeError) as error:
        if not _unstorable(error):
            log.exception("webhook %s (%s) not applied: Stripe will retry", event.id, event.type)
            return {"error": "not applied, retry later"}, 503
        # The schema should have refused it: refuse it now rather than be retried forever.
        log.exception("webhook %s (%s) holds a value the database refuses", event.id, event.type)
        session.rollback()
        return _refused(payload, RejectedEvent("unstorable", "", *labels_of(payload)))
    except GatewayError:
        log.exception("webhook %s (%s) not applied: Stripe will retry", event.id, event.type)
        return {"error": "not applied, retry later"}, 503
    if outcome == "in_progress":
        return {"error": "being applied by another delivery, retry later"}, 409
    return {"received": event.id, "outcome": outcome}


def _unstorable(error: Exception) -> bool:
    """A value the database refused (too long, out of range, a NUL), or its driver could not
    convert (SQLite's sqlite3 raises OverflowError for an integer over 64 bits): no retry can
    succeed, unlike a lost connection or a lock timeout."""
    if isinstance(error, DataError | OverflowError | UnicodeEncodeError):
        return True
    return (isinstance(error, StatementError) and not isinstance(error, DBAPIError)
            and isinstance(error.orig, ValueError | OverflowError))


def _refused(payload: bytes, rejected: RejectedEvent):
    """400 once the refusal is recorded; 503 if the database cannot record it (the retry
    will)."""
    try:
        services.record_rejection(db.session(), payload, rejected)
    except SQLAlchemyError as error:
        if not _unstorable(error):
            log.exception("webhook refused (%s), not recorded: Stripe will retry",
                          rejected.reason)
            return {"error": "refused, but not recorded: retry later"}, 503
        log.exception("webhook refused (%s), not recorded", rejected.reason)
        db.session().rollback()
    return {"error": "refused", "reason": rejected.reason, "field": rejected.field}, 400


@bp.get("/ops/billing/refused-webhooks")
@operator_required()
def ops_rejections():
    """The signed webhooks refused for good: what Stripe will not send again."""
    return render("billing/ops_rejections.html",
                  rejections=services.rejections(db.session(), requested_page()),
                  reasons=REASON_LABELS)


REASON_LABELS = {
    "not_json": _l("The body is not JSON."),
    "missing": _l("A field Parvis reads is missing."),
    "wrong_type": _l("A field Parvis reads has an unexpected type."),
    "too_long": _l("A value is longer than Parvis can store."),
    "bad_characters": _l("A value holds characters Parvis cannot store (NUL, control "
                         "characters)."),
    "out_of_range": _l("A number or an organisation id is out of range."),
    "timestamp_old": _l("The signature is more than 5 minutes old (a replay?)."),
    "timestamp_future": _l("The signature is dated more than 5 minutes in the future."),
    "unstorable": _l("The database refused a value of the event."),
}


def _page(checkout: CheckoutForm, status: int = 200):
    session = db.session()
    subscription = services.subscription_of(session, g.org.id)
    return render("billing/subscription.html", status=status, org=g.org,
                  subscription=subscription, plans=plans.PLANS,
                  plan=plans.get(subscription.plan) if subscription else None,
                  notice=services.notice(session, g.org.id), checkout=checkout,
                  portal=PortalForm(), invoices=services.invoices(session, g.org.id),
                  paid=request.args.get("paid") == "1")


@bp.get("/organisations/<slug>/subscription")
@member_required("owner", "admin")
def subscription(slug: str):
    return _page(CheckoutForm(formdata=None))


@bp.post("/organisations/<slug>/subscription/checkout")
@member_required("owner")
def checkout(slug: str):
    form = CheckoutForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    here = external_url("billing.subscription", slug=slug)  # BASE_URL, never the Host
    try:
        url = services.start_checkout(db.session(), current_user, g.org, form.plan.data or "",
                                      success_url=here + "?paid=1", cancel_url=here)
    except services.BillingError as exc:
        form.plan.errors = [str(exc)]
        return _page(form, status=422)
    except GatewayError:
        return _unreachable()
    return redirect(url, code=303)


@bp.post("/organisations/<slug>/subscription/portal")
@member_required("owner")
def portal(slug: str):
    if not PortalForm().validate_on_submit():
        abort(400)
    try:
        url = services.portal_url(db.session(), g.org,
                                  external_url("billing.subscription", slug=slug))
    except GatewayError:
        return _unreachable()
    if url is None:
        flash(_("Choose a plan first: the payment portal opens once a subscription is paid."),
              "billing")
        return redirect(url_for(".subscription", slug=slug), code=303)
    return redirect(url, code=303)


def _unreachable():
    return error_page(503, title=_("Payment service unavailable"),
                      message=_("The payment service could not be reached. Nothing was "
                                "charged: please try again in a few minutes."))


def money(cents: int, currency: str = "eur") -> str:
    """An amount as the reader writes it: "49,00 €" in French, "€49.00" in English."""
    return format_currency(cents / 100, currency.upper())


def _notice_for_members() -> services.Notice | None:
    """For the banner on a tenant's pages: members only, from the subscription read with the
    request's standing (``webapp.tenancy``); nobody else, none."""
    standing = tenancy.standing() if g.get("tenant_role") is not None else None
    return services.notice_of(standing.subscription) if standing is not None else None


template_globals(bp, billing_notice=_notice_for_members, money=money)


LIMIT_MESSAGES = {
    "events_per_month": _l("Your plan allows %(limit)d new events per month, and this month's "
                           "are all used. Nothing was saved."),
    "custom_fields": _l("Your plan allows %(limit)d custom registration fields. Remove one, or "
                        "choose a larger plan. Nothing was saved."),
    "participants": _l("Your plan allows %(limit)d participants, and they are all registered: "
                       "nobody new can sign up. Nothing was saved."),
}


def over_limit(exc: tenants_api.OverLimit):
    """A plan limit reached inside a tenant: staff see the limit and the way to a larger plan;
    a visitor signing up is told plainly, and the owner learns it from the log and this page."""
    if g.get("tenant_role") is None:
        log.warning("tenant %s: plan limit %s reached (%d)", g.tenant.slug, exc.what, exc.limit)
        return error_page(403, title=_("Registration unavailable"),
                          message=_("This organisation cannot accept new participants at the "
                                    "moment. Please contact it directly."))
    link = (url_for("billing.subscription", slug=g.tenant.slug),
            _("See the plans") if g.tenant_role == "owner"
            else _("See the subscription (only the owner can change it)"))
    return error_page(403, title=_("Plan limit reached"),
                      message=str(LIMIT_MESSAGES[exc.what]) % {"limit": exc.limit}, link=link)


def init_app(app: Flask) -> None:
    """Register the pages; with the fake gateway and no other Stripe address, serve the fake
    Stripe at ``/_fake-stripe`` on this same server (the demo, offline)."""
    app.register_blueprint(bp)
    app.cli.add_command(billing_cli)
    app.register_error_handler(tenants_api.OverLimit, over_limit)
    if app.config["BILLING_GATEWAY"] == "fake" and not app.config["STRIPE_API_BASE"]:
        fake = FakeStripe(webhook_secret=app.config["STRIPE_WEBHOOK_SECRET"],
                          prices=app.config["STRIPE_PRICES"])
        app.extensions["fake_stripe"] = fake
        app.wsgi_app = DispatcherMiddleware(app.wsgi_app,  # type: ignore[method-assign]
                                            {FAKE_PREFIX: fake.app})
