"""The organisation's "Contract" page (termination, return window, export bundle, certificate)
and the operators' list of destruction certificates.

Roles: the owner terminates and sets the return window; owners and admins see the page and
download the bundle (each download logged); the owner at the time of destruction keeps reading
the certificate after memberships are gone; operators list the certificates. Everyone else: 403.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.clock import utcnow
from core.db import writes
from core.web.errors import error_page
from core.web.htmx import render, template_globals
from core.web.pagination import requested_page
from webapp import db
from webapp.access import member_required, operator_required
from webapp.contract import services
from webapp.contract.forms import TerminateForm, WindowForm
from webapp.organisations.models import Tenant

bp = Blueprint("contract", __name__, template_folder="templates")

READERS = ("owner", "admin")


def _former_organisations() -> list:
    """For "My account": the destroyed organisations the signed-in account owned last."""
    if not current_user.is_authenticated:
        return []
    return services.former_organisations(db.session(), current_user.id)


template_globals(bp, former_organisations=_former_organisations)


def _former_owner(tenant: Tenant) -> str | None:
    """Memberships are deleted with the data: the owner at the time of destruction keeps
    reading the certificate (``access.member_required``'s ``former``)."""
    end = services.contract_end(db.session(), tenant.id)
    return "owner" if end is not None and end.former_owner_id == current_user.id else None


def _load() -> None:
    """Set ``g.contract_end`` for the organisation ``access.member_required`` let in."""
    g.contract_end = services.contract_end(db.session(), g.org.id)


def _page(terminate: TerminateForm | None = None, window: WindowForm | None = None,
          status: int = 200):
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
        now=utcnow())


@bp.get("/organisations/<slug>/contract")
@member_required(*READERS, former=_former_owner)
def contract(slug: str):
    _load()
    return _page()


@bp.post("/organisations/<slug>/contract/terminate")
@member_required("owner", former=_former_owner)
def terminate(slug: str):
    _load()
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
@member_required("owner", former=_former_owner)
def change_window(slug: str):
    _load()
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
@writes  # the download is recorded
@member_required(*READERS, former=_former_owner)
def bundle(slug: str):
    _load()
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
@member_required("owner", former=_former_owner)
def certificate(slug: str):
    _load()
    found = services.certificate_for(db.session(), g.contract_end) if g.contract_end else None
    if found is None:
        abort(404)
    return render("contract/certificate.html", certificate=found, reasons=services.REASONS)


# --- operators ----------------------------------------------------------------------------------


@bp.get("/ops/certificates")
@operator_required()
def ops_certificates():
    return render("contract/ops_certificates.html",
                  certificates=services.certificates(db.session(), requested_page()))


@bp.get("/ops/certificates/<reference>")
@operator_required()
def ops_certificate(reference: str):
    found = services.certificate_by_reference(db.session(), reference)
    if found is None:
        abort(404)
    return render("contract/certificate.html", certificate=found, reasons=services.REASONS)
