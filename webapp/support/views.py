"""Support-access pages. An organisation's owners and admins grant, list and revoke grants and
see every page the support read (other members and operators: 403). Operators of any role see
which grants are active now; reading a tenant's data itself happens on the tenant's own pages,
as a viewer, through ``webapp.tenancy``."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.clock import utcnow
from core.web.errors import error_page
from core.web.htmx import render
from tenants import api as tenants_api
from webapp import db
from webapp.access import member_required, operator_required
from webapp.organisations import services as org_services
from webapp.support import services
from webapp.support.forms import GrantForm

bp = Blueprint("support", __name__, template_folder="templates")


def _page(form: GrantForm, status: int = 200):
    session = db.session()
    reads = tenants_api.support_reads(g.org.slug)
    return render("support/tenant.html", status=status, form=form, now=utcnow(),
                  grants=services.grants(session, g.org.id), reads=reads,
                  emails=services.operator_emails(session, {r[0] for r in reads}),
                  durations=services.DURATIONS)


@bp.get("/organisations/<slug>/support")
@member_required("owner", "admin")
def tenant_page(slug: str):
    return _page(GrantForm(formdata=None))


@bp.post("/organisations/<slug>/support")
@member_required("owner", "admin")
def grant(slug: str):
    form = GrantForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        services.grant(db.session(), g.org.id, current_user, form.hours.data,
                       form.reason.data or "")
    except services.SupportError as exc:
        form[exc.field or "reason"].errors = [str(exc)]
        return _page(form, status=422)
    flash(_("Access granted. You can revoke it at any time."), "support")
    return redirect(url_for(".tenant_page", slug=slug), code=303)


@bp.post("/organisations/<slug>/support/<int:grant_id>/revoke")
@member_required("owner", "admin")
def revoke(slug: str, grant_id: int):
    try:
        services.revoke(db.session(), g.org.id, grant_id, current_user)
    except services.SupportError as exc:
        titles = {404: _("Not found"), 409: _("Not possible any more")}
        return error_page(exc.status, title=titles.get(exc.status), message=str(exc))
    flash(_("Access revoked: the support can no longer see your data."), "support")
    return redirect(url_for(".tenant_page", slug=slug), code=303)


@bp.get("/ops/support")
@operator_required()
def ops_grants():
    session = db.session()
    active = services.active_grants(session)
    return render("support/ops.html", grants=active,
                  tenants=org_services.tenants_by_id(session, {a.tenant_id for a in active}))
