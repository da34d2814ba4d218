"""Catalogue pages: the operators' catalogue (admin and privacy roles), an organisation's
services page where its owners and admins enable and disable services (htmx buttons that also
work as plain forms), and the owner's authorisation of a transfer outside the EU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import cookie_lifetimes
from core.jobs import enqueue
from core.web.errors import error_page
from core.web.htmx import render, template_globals, wants_fragment
from core.web.i18n import text_language
from tenants import api as tenants_api
from webapp import db
from webapp.access import PRIVACY_ROLES, member_required, operator_required
from webapp.catalogue import services
from webapp.catalogue.forms import SERVICE_PURPOSES, AuthoriseForm, CatalogueForm, ServiceActionForm
from webapp.catalogue.models import ThirdPartyService
from webapp.registers.tasks import remember_register

bp = Blueprint("catalogue", __name__, template_folder="templates")


template_globals(bp, purpose_labels=SERVICE_PURPOSES,
                 cookie_lifetime=cookie_lifetimes.Lifetime.of)


# --- the operators' catalogue ------------------------------------------------------------------


def _ops_page(form: CatalogueForm, entry: ThirdPartyService | None = None,
              status: int = 200):
    entries = services.all_services(db.session())
    return render("catalogue/ops.html", status=status, form=form, entry=entry, entries=entries,
                  language=text_language(), to_fix=services.lifetimes_to_fix(entries))


def _save(form: CatalogueForm, entry: ThirdPartyService | None) -> ThirdPartyService | None:
    """Validate and save; on a refusal the error is put on its field and None returned."""
    if not form.validate_on_submit():
        return None
    data = services.ServiceData(
        **{name: (form[name].data or "").strip() for name in (
            "name", "provider", "purpose", "description_fr", "description_en", "data_fr",
            "data_en", "location", "safeguard", "load_kind")},
        load_url=(form.load_url.data or "").strip() or None, cookies=form.cookie_list())
    try:
        return services.save(db.session(), data, entry)
    except services.ProcessorError as exc:
        form[exc.field or "name"].errors = [str(exc)]
        return None


@bp.route("/ops/services", methods=["GET", "POST"])
@operator_required(*PRIVACY_ROLES)
def ops_index():
    form = CatalogueForm()
    if not form.is_submitted():
        return _ops_page(form)
    if _save(form, None) is None:
        return _ops_page(form, status=422)
    flash(_("The service is in the catalogue."), "processor")
    return redirect(url_for(".ops_index"), code=303)


@bp.route("/ops/services/<int:entry_id>", methods=["GET", "POST"])
@operator_required(*PRIVACY_ROLES)
def ops_edit(entry_id: int):
    entry = db.session().get(ThirdPartyService, entry_id)
    if entry is None:
        abort(404)
    form = CatalogueForm(obj=entry)
    if not form.is_submitted():
        form.safeguard.data = entry.safeguard.value
        form.cookies.data = cookie_lifetimes.lines(entry.cookies or [])
        return _ops_page(form, entry)
    if _save(form, entry) is None:
        return _ops_page(form, entry, status=422)
    flash(_("Changes saved."), "processor")
    return redirect(url_for(".ops_index"), code=303)


# --- each organisation's use ---------------------------------------------------------------------


def _tenant_unit() -> None:
    """Make the organisation's data the request's tenant unit of work: the tenant plane's
    writes then commit with the control plane's at the end of the request (ended by the
    tenancy's teardown, which deactivates ``g.tenant_token``)."""
    if "tenant_token" not in g:
        g.tenant_token = tenants_api.activate(g.org.slug)


def _organisation_page(status: int = 200, error: str | None = None):
    if error and wants_fragment():
        status = 422  # the one error status htmx swaps in (layout.html's htmx-config)
    _tenant_unit()
    session = db.session()
    return render("catalogue/organisation.html", block="services", status=status, error=error,
                  rows=services.for_tenant(session), form=ServiceActionForm(formdata=None),
                  authorisations=services.authorisations(session, g.org.id),
                  language=text_language())


@bp.get("/organisations/<slug>/services")
@member_required("owner", "admin")
def organisation(slug: str):
    return _organisation_page()


def _service_action(slug: str, action: Callable[..., Any], done: str):
    """Enable or disable: the list again (htmx) or a redirect to it."""
    form = ServiceActionForm()
    if not form.validate_on_submit():
        return _organisation_page(400, _("The form has expired: please try again."))
    _tenant_unit()
    try:
        action()
    except services.ProcessorError as exc:
        return _organisation_page(exc.status, str(exc))
    enqueue(remember_register, g.org.id)
    if wants_fragment():
        return _organisation_page()
    flash(done, "processor")
    return redirect(url_for(".organisation", slug=slug), code=303)


@bp.post("/organisations/<slug>/services/<int:entry_id>/enable")
@member_required("owner", "admin")
def enable(slug: str, entry_id: int):
    return _service_action(slug, lambda: services.enable(db.session(), g.org, entry_id,
                                                         current_user.id),
                           _("The service is enabled."))


@bp.post("/organisations/<slug>/services/<int:entry_id>/disable")
@member_required("owner", "admin")
def disable(slug: str, entry_id: int):
    return _service_action(slug, lambda: services.disable(g.org, entry_id, current_user.id),
                           _("The service is disabled: it is no longer loaded."))


def _transfer_page(entry: ThirdPartyService, form: AuthoriseForm, status: int = 200):
    _tenant_unit()
    form.version.data = entry.version
    return render("catalogue/transfer.html", status=status, entry=entry, form=form,
                  pending=services.transfer_pending(entry.id), language=text_language())


@bp.route("/organisations/<slug>/services/<int:entry_id>/transfer", methods=["GET", "POST"])
@member_required("owner")
def authorise(slug: str, entry_id: int):
    entry = db.session().get(ThirdPartyService, entry_id)
    if entry is None or not entry.outside_eu:
        abort(404)
    form = AuthoriseForm()
    if not form.is_submitted():
        return _transfer_page(entry, form)
    if not form.validate_on_submit():
        return _transfer_page(entry, form, status=422)
    _tenant_unit()
    try:
        services.authorise(db.session(), g.org, entry_id, form.version.data, current_user.id)
    except services.ProcessorError as exc:
        return error_page(exc.status, title=exc.title, message=str(exc))
    enqueue(remember_register, g.org.id)
    flash(_("The transfer is authorised: %(name)s is now offered in your cookie banner.",
            name=entry.name), "processor")
    return redirect(url_for(".organisation", slug=slug), code=303)
