"""Signup pages, in the order a new organisation meets them (see the package doc)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from core.jobs import enqueue
from core.web.errors import error_page
from core.web.htmx import render, template_globals
from core.web.urls import external_url
from tenants import api as tenants_api
from webapp import db
from webapp.auth import services as auth_services
from webapp.billing import plans
from webapp.billing import services as billing
from webapp.billing.gateway import GatewayError
from webapp.dpa import versions as dpa
from webapp.organisations import services as organisations
from webapp.organisations.models import Tenant, TenantStatus
from webapp.registers.tenant import kept
from webapp.signup import services, tasks, terms
from webapp.signup.forms import AccountForm, OnboardingForm, OrganisationForm, PaymentForm

bp = Blueprint("signup", __name__, url_prefix="/signup", template_folder="templates")


def _language() -> str:
    return str(get_locale() or "fr")


def _plan_code() -> str:
    code = request.values.get("plan", "")
    return code if plans.get(code) is not None else plans.DEFAULT_PLAN


def _form_errors(form, exc: services.SignupError) -> None:
    """Show the refusal on its field, or above the form for a hidden one."""
    target = form[exc.field] if exc.field and exc.field in form else None
    if target is not None and target.type != "HiddenField":
        target.errors = [*target.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def _unfinished() -> list[Tenant]:
    if not current_user.is_authenticated:
        return []
    return services.unfinished(db.session(), current_user)


template_globals(bp, unfinished_signups=_unfinished)


@bp.get("")
def plan_choice():
    return render("signup/plans.html", plans=plans.PLANS.values(),
                  signed_in=current_user.is_authenticated)


@bp.route("/account", methods=["GET", "POST"])
def account():
    if current_user.is_authenticated:
        return redirect(url_for(".organisation", plan=_plan_code()), code=303)
    form = AccountForm()
    if request.method == "GET":
        form.plan.data = _plan_code()
    if form.validate_on_submit():
        try:
            signup = services.request_signup(
                db.session(), email=form.email.data, password=form.password.data,
                language=_language(), plan=form.plan.data)
        except services.SignupError as exc:
            _form_errors(form, exc)
        else:
            enqueue(tasks.send_verification, signup.id)
            return redirect(url_for(".check_inbox"), code=303)
    status = 422 if form.errors or form.form_errors else 200
    return render("signup/account.html", form=form, plan=plans.get(form.plan.data or ""),
                  status=status)


@bp.get("/check-inbox")
def check_inbox():
    return render("signup/check_inbox.html")


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str):
    # A button, not the link alone: mail scanners that open links must not spend them.
    if request.method == "GET":
        return render("signup/verify.html", token=token)
    session = db.session()
    verified = services.verify(session, token)
    if verified is None:
        return render("signup/verify_failed.html", status=410)
    auth_services.start_session(session, verified.account)
    login_user(verified.account)
    return redirect(url_for(".organisation", plan=verified.plan), code=303)


@bp.route("/organisation", methods=["GET", "POST"])
@login_required
def organisation():
    form = OrganisationForm()
    language = _language()
    if request.method == "GET":
        form.plan.data = _plan_code()
        form.terms_version.data, form.dpa_version.data = terms.current().id, dpa.current().id
    if form.validate_on_submit():
        try:
            tenant = services.create_organisation(
                db.session(), current_user, name=form.name.data, language=language,
                terms_version=form.terms_version.data, dpa_version=form.dpa_version.data)
        except services.SignupError as exc:
            _form_errors(form, exc)
            form.terms_version.data, form.dpa_version.data = terms.current().id, dpa.current().id
        else:
            return redirect(url_for(".payment", slug=tenant.slug, plan=form.plan.data),
                            code=303)
    status = 422 if form.errors or form.form_errors else 200
    return render("signup/organisation.html", form=form, terms=terms.current(),
                  dpa=dpa.current(), language=language, status=status)


def _owned(slug: str) -> Tenant:
    tenant = services.owned_tenant(db.session(), current_user, slug)
    if tenant is None:
        abort(404)
    return tenant


@bp.route("/<slug>/payment", methods=["GET", "POST"])
@login_required
def payment(slug: str):
    tenant = _owned(slug)
    if tenant.status != TenantStatus.PROVISIONING:
        return redirect(url_for(".onboarding", slug=tenant.slug), code=303)
    form = PaymentForm()
    if request.method == "GET":
        form.plan.data = _plan_code()
    if form.validate_on_submit():
        try:
            return _pay(tenant, form.plan.data, trial=request.form.get("mode") == "trial")
        except billing.BillingError as exc:
            form.plan.errors = [*form.plan.errors, str(exc)]
        except GatewayError:
            return error_page(503, message=_(
                "The payment service cannot be reached right now. Nothing was charged: "
                "please try again in a few minutes."), retry_after=60)
    status = 422 if form.errors else 200
    return render("signup/payment.html", form=form, tenant=tenant, plans=plans.PLANS.values(),
                  status=status)


def _pay(tenant: Tenant, plan: str, *, trial: bool):
    if trial:
        billing.start_trial(db.session(), current_user, tenant, plan)
        return redirect(url_for(".waiting", slug=tenant.slug), code=303)
    # Stripe sends the owner back to pages built from BASE_URL, never from the Host header.
    url = billing.start_checkout(
        db.session(), current_user, tenant, plan,
        success_url=external_url("signup.waiting", slug=tenant.slug),
        cancel_url=external_url("signup.payment", slug=tenant.slug, plan=plan))
    return redirect(url, code=303)


@bp.get("/<slug>/waiting")
@login_required
def waiting(slug: str):
    """Where Checkout sends the owner back: the space opens when billing's webhook has
    confirmed the payment, so this page reloads itself until then."""
    tenant = _owned(slug)
    if tenant.status != TenantStatus.PROVISIONING:
        return redirect(url_for(".onboarding", slug=tenant.slug), code=303)
    return render("signup/waiting.html", tenant=tenant)


@bp.route("/<slug>/welcome", methods=["GET", "POST"])
@login_required
def onboarding(slug: str):
    tenant = _owned(slug)
    session = db.session()
    if tenant.status == TenantStatus.PROVISIONING:
        return redirect(url_for(".waiting", slug=tenant.slug), code=303)
    if organisations.is_onboarded(session, tenant) or not tenant.is_open:
        return redirect(url_for("tenant.events.admin_index", tenant=tenant.slug), code=303)
    form = OnboardingForm()
    if request.method == "GET":
        form.name.data, form.slug.data = tenant.name, tenant.slug
        form.default_language.data = tenant.default_language
    if form.validate_on_submit():
        try:
            services.onboard(session, tenant, services.Onboarding(
                name=form.name.data, slug=form.slug.data,
                default_language=form.default_language.data, legal_name=form.legal_name.data,
                address=form.address.data, dpo_name=form.dpo_name.data,
                dpo_email=form.dpo_email.data))
        except services.SignupError as exc:
            _form_errors(form, exc)
        else:
            return redirect(url_for("tenant.events.admin_index", tenant=tenant.slug), code=303)
    status = 422 if form.errors or form.form_errors else 200
    return render("signup/onboarding.html", form=form, tenant=tenant,
                  config=tenants_api.processing_config(tenant.slug), kept=kept,
                  status=status)
