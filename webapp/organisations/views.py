"""The operator console: the tenant registry. Operators never see tenant data from here: a
tenant's name, address, status, plan and schema revision, and the record of its suspensions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.jobs import enqueue
from core.web.htmx import render
from core.web.pagination import requested_page
from webapp import db
from webapp.access import operator_required
from webapp.auth.models import OperatorRole
from webapp.billing import plans
from webapp.dpa import services as dpa_services
from webapp.members import services as members
from webapp.members import tasks as members_tasks
from webapp.organisations import services
from webapp.organisations.forms import StatusForm, TenantForm
from webapp.organisations.models import Tenant, TenantStatus

bp = Blueprint("organisations", __name__, url_prefix="/ops", template_folder="templates")

# Every operator sees the registry; admins create tenants; admins and support suspend them.
CREATE_ROLES = (OperatorRole.ADMIN,)
STATUS_ROLES = (OperatorRole.ADMIN, OperatorRole.SUPPORT)


def _plan_names(tenant_ids: list[int]) -> dict[int, object]:
    """The plan of each of these tenants that is billed, by its translated name."""
    found = services.plans_by_tenant(db.session(), tenant_ids)
    return {tenant_id: plan.name if (plan := plans.get(code)) else code
            for tenant_id, code in found.items()}


def _page(form: TenantForm, status: int = 200):
    session = db.session()
    found = services.tenants_page(session, requested_page())
    shown = [tenant.id for tenant in found]
    return render("organisations/index.html", block="registry", status=status, form=form,
                  tenants=found, plans=_plan_names(shown),
                  changes=services.last_changes(session, shown),
                  can_create=current_user.operator_role in CREATE_ROLES)


@bp.get("/tenants")
@operator_required()
def index():
    return _page(TenantForm())


@bp.post("/tenants")
@operator_required(*CREATE_ROLES)
def create():
    form = TenantForm()
    if form.validate_on_submit():
        try:
            tenant = services.create_on_instruction(
                db.session(), slug=form.slug.data.strip(), name=form.name.data,
                default_language=form.default_language.data,
                instructed_by_name=form.instructed_by_name.data,
                instructed_by_email=form.instructed_by_email.data, operator=current_user)
        except services.TenantError as exc:
            field = form[exc.field]
            field.errors = [*field.errors, str(exc)]
        else:
            # Whoever asked for the space becomes its owner by accepting this invitation.
            invitation = members.invite_first_owner(db.session(), tenant.id, current_user,
                                                    form.instructed_by_email.data)
            enqueue(members_tasks.send_invitation, invitation.id)
            flash(_("%(name)s is open at /t/%(slug)s/; %(email)s is invited to become its "
                    "owner.", name=tenant.name, slug=tenant.slug, email=invitation.email),
                  "organisations")
            return redirect(url_for(".index"), code=303)
    return _page(form, status=422)


def _tenant(slug: str) -> Tenant:
    tenant = services.get(db.session(), slug)
    if tenant is None:
        abort(404)
    return tenant


def _detail(tenant: Tenant, form: StatusForm, status: int = 200):
    session = db.session()
    return render("organisations/tenant.html", status=status, tenant=tenant, form=form,
                  plan=_plan_names([tenant.id]).get(tenant.id),
                  instruction=services.provisioning_instruction(session, tenant),
                  dpa_accepted=dpa_services.accepted_version(session, tenant.id),
                  history=services.status_history(session, tenant),
                  can_change=current_user.operator_role in STATUS_ROLES)


# The record and its status form share one address: a bare /ops/tenants/<slug> would also catch
# /ops/tenants//status once werkzeug merges the slashes.
@bp.get("/tenants/<slug>/status")
@operator_required()
def detail(slug: str):
    return _detail(_tenant(slug), StatusForm())


@bp.post("/tenants/<slug>/status")
@operator_required(*STATUS_ROLES)
def change_status(slug: str):
    tenant = _tenant(slug)
    form = StatusForm()
    if form.status.data not in (TenantStatus.ACTIVE.value, TenantStatus.SUSPENDED.value):
        abort(400)  # not a choice the page offers: a forged request
    if form.validate_on_submit():
        change = (services.suspend if form.status.data == TenantStatus.SUSPENDED.value
                  else services.reactivate)
        try:
            change(db.session(), tenant, form.reason.data, current_user)
        except services.TenantError as exc:
            form.reason.errors = [*form.reason.errors, str(exc)]
        else:
            return redirect(url_for(".detail", slug=tenant.slug), code=303)
    return _detail(tenant, form, status=422)
