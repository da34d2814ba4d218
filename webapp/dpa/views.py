"""DPA pages: the public text, the organisation's page (owners accept; owners and admins see
the acceptances) and the operators' list of acceptances (every operator role)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.web.errors import error_page
from core.web.htmx import render, template_globals
from core.web.i18n import text_language
from core.web.pagination import requested_page
from tenants import api as tenants_api
from webapp import db, tenancy
from webapp.access import member_required, operator_required
from webapp.dpa import services, versions
from webapp.dpa.forms import AcceptDpaForm
from webapp.organisations import services as org_services

bp = Blueprint("dpa", __name__, template_folder="templates")


def _pending_dpa_tenants() -> list[tenants_api.TenantInfo]:
    """For the banner: the tenants the signed-in account owns with a DPA to accept, by name.
    Their slugs come with the request's standing, their names from the registry: kept by this
    process (a tenant's own pages keep theirs), the others read together in one statement."""
    standing = tenancy.standing()
    found = tenancy.resolve_many(standing.dpa_pending) if standing else []
    return sorted((tenant.info for tenant in found), key=lambda info: info.name)


template_globals(bp, dpa_pending=services.dpa_pending, pending_dpa_tenants=_pending_dpa_tenants)


@bp.get("/legal/dpa")
def public():
    return render("dpa/public.html", version=versions.current(), language=text_language())


def _page(form: AcceptDpaForm, status: int = 200):
    current = versions.current()
    form.version.data = current.id
    return render("dpa/organisation.html", status=status, form=form, version=current,
                  language=text_language(), pending=services.dpa_pending(g.org.id),
                  instruction=org_services.provisioning_instruction(db.session(), g.org),
                  acceptances=services.acceptances(db.session(), g.org.id))


@bp.get("/organisations/<slug>/dpa")
@member_required("owner", "admin")
def organisation(slug: str):
    return _page(AcceptDpaForm(formdata=None))


@bp.post("/organisations/<slug>/dpa")
@member_required("owner")
def accept(slug: str):
    form = AcceptDpaForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        services.accept(db.session(), g.org.id, current_user.id, form.version.data or "",
                        text_language())
    except services.ProcessorError as exc:
        return error_page(exc.status, title=exc.title, message=str(exc))
    flash(_("Thank you: the agreement is accepted."), "processor")
    return redirect(url_for(".organisation", slug=slug), code=303)


@bp.get("/ops/dpa")
@operator_required()
def ops():
    session = db.session()
    tenants = org_services.tenants_page(session, requested_page())
    return render("dpa/ops.html", tenants=tenants, current=versions.current(),
                  by_tenant=services.acceptances_by_tenant(session, [t.id for t in tenants]))
