"""The organisation's "Contract" page (termination, return window, export bundle, certificate)
and the operators' list of destruction certificates.

Roles: the owner terminates and sets the return window; owners and admins see the page and
download the bundle (each download logged); the owner at the time of destruction keeps reading
the certificate after memberships are gone; operators list the certificates. Everyone else: 403.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp import db
from webapp.auth.models import Membership
from webapp.contract import services
from webapp.contract.forms import TerminateForm, WindowForm
from webapp.organisations import services as org_services
from webapp.web.errors import error_page
from webapp.web.htmx import render

bp = Blueprint("contract", __name__, template_folder="templates")

READERS = ("owner", "admin")


@bp.app_context_processor
def account_context() -> dict:
    return {"former_organisations": _former_organisations}


def _former_organisations() -> list:
    """For "My account": the destroyed organisations the signed-in account owned last."""
    if not current_user.is_authenticated:
        return []
    return services.former_organisations(db.session(), current_user.id)


def _load(slug: str, roles: tuple[str, ...]) -> None:
    """Set ``g.org``, ``g.org_role`` and ``g.contract_end`` or refuse (404 unknown, 403)."""
    session = db.session()
    tenant = org_services.get(session, slug)
    if tenant is None:
        abort(404)
    role = session.scalar(select(Membership.role).where(
        Membership.tenant_id == tenant.id, Membership.account_id == current_user.id))
    end = services.contract_end(session, tenant.id)
    if role not in roles:
        if "owner" in roles and end is not None and end.former_owner_id == current_user.id:
            role = "owner"  # memberships are deleted with the data; the certificate stays
        else:
            abort(403)
    g.org, g.org_role, g.contract_end = tenant, role, end


def _page(terminate: TerminateForm | None = None, window: WindowForm | None = None,
          status: int = 200):  # type: ignore[no-untyped-def]
    end = g.contract_end
    session = db.session()
    if window is None and end is not None:
        window = WindowForm(formdata=None, window_days=end.window_days)
    return render(
        "contract/contract.html", status=status, tenant=g.org, role=g.org_role, end=end,
        terminate=terminate or TerminateForm(formdata=None), window=window,
        reasons=services.REASONS, download_open=end is not None and services.download_open(end),
        downloads=services.downloads(session, end) if end is not None else [],
        certificate=services.certificate_for(session, end) if end is not None else None,
        stripe=end is None and services.paid_through_stripe(session, g.org.id),
        now=db.utcnow())


@bp.get("/organisations/<slug>/contract")
@login_required
def contract(slug: str):  # type: ignore[no-untyped-def]
    _load(slug, READERS)
    return _page()


@bp.post("/organisations/<slug>/contract/terminate")
@login_required
def terminate(slug: str):  # type: ignore[no-untyped-def]
    _load(slug, ("owner",))
    form = TerminateForm()
    if form.validate_on_submit():
        try:
            g.contract_end = services.terminate(db.session(), g.org, current_user,
                                                form.password.data, form.window_days.data)
        except services.ContractError as exc:
            if exc.field is None:
                return error_page(409, title=_("Not possible any more"), message=str(exc))
            form[exc.field].errors = [str(exc)]
        else:
            flash(_("The contract has ended. Your export is being prepared."), "contract")
            return redirect(url_for(".contract", slug=slug), code=303)
    return _page(terminate=form, status=422)


@bp.post("/organisations/<slug>/contract/window")
@login_required
def change_window(slug: str):  # type: ignore[no-untyped-def]
    _load(slug, ("owner",))
    end = g.contract_end
    if end is None:
        abort(404)
    form = WindowForm()
    if form.validate_on_submit():
        try:
            services.change_window(db.session(), end, form.window_days.data)
        except services.ContractError as exc:
            if exc.field is None:
                return error_page(409, title=_("Not possible any more"), message=str(exc))
            form.window_days.errors = [str(exc)]
        else:
            flash(_("The return window is changed."), "contract")
            return redirect(url_for(".contract", slug=slug), code=303)
    return _page(window=form, status=422)


@bp.get("/organisations/<slug>/contract/bundle.zip")
@db.writes  # the download is recorded
@login_required
def bundle(slug: str):  # type: ignore[no-untyped-def]
    _load(slug, READERS)
    end = g.contract_end
    if end is None:
        abort(404)
    try:
        path = services.record_download(db.session(), end, current_user.id)
    except services.ContractError as exc:
        return error_page(410, title=_("Not available"), message=str(exc))
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"parvis-export-{g.org.slug}.zip", max_age=0)


@bp.get("/organisations/<slug>/contract/certificate")
@login_required
def certificate(slug: str):  # type: ignore[no-untyped-def]
    _load(slug, ("owner",))
    found = services.certificate_for(db.session(), g.contract_end) if g.contract_end else None
    if found is None:
        abort(404)
    return render("contract/certificate.html", certificate=found, reasons=services.REASONS)


# --- operators ----------------------------------------------------------------------------------


def _operator() -> None:
    if current_user.operator_role is None:
        abort(403)


@bp.get("/ops/certificates")
@login_required
def ops_certificates():  # type: ignore[no-untyped-def]
    _operator()
    return render("contract/ops_certificates.html",
                  certificates=services.certificates(db.session()))


@bp.get("/ops/certificates/<reference>")
@login_required
def ops_certificate(reference: str):  # type: ignore[no-untyped-def]
    _operator()
    found = services.certificate_by_reference(db.session(), reference)
    if found is None:
        abort(404)
    return render("contract/certificate.html", certificate=found, reasons=services.REASONS)
