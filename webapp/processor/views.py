"""Processor-duty pages: public legal pages, tenant owners' DPA and sub-processor pages, and
the operators' registers. Roles: owners accept and object, owners and admins see their
organisation's acceptances; operators with the admin or privacy role run the registers, and
any operator sees DPA acceptances."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from tenants import api as tenants_api
from webapp import db
from webapp.access import PRIVACY_ROLES, member_required, operator_required
from webapp.auth.models import Account
from webapp.jobs import enqueue
from webapp.organisations import services as org_services
from webapp.processor import catalogue, dpa, register, services, tenant_register, versions
from webapp.processor.forms import (
    CHANGE_KINDS,
    INSTRUCTION_AREAS,
    SAFEGUARDS,
    SERVICE_PURPOSES,
    AcceptDpaForm,
    AuthoriseForm,
    CatalogueForm,
    ChangeForm,
    ObjectionForm,
    ServiceActionForm,
    SubProcessorForm,
)
from webapp.processor.models import RegisterVersion, SubProcessor, ThirdPartyService
from webapp.processor.tasks import inform_owners, remember_register
from webapp.web.errors import error_page
from webapp.web.htmx import render, wants_fragment
from webapp.web.spreadsheet import csv_line

bp = Blueprint("processor", __name__, template_folder="templates")

REGISTER_ROLES = PRIVACY_ROLES
# Overridable by an ``ACCESSIBILITY_CONTACT`` setting.
ACCESSIBILITY_CONTACT = "accessibility@parvis.example"


def language() -> str:
    return "en" if str(get_locale()) == "en" else "fr"


def long_date(day: date) -> str:
    return format_date(day, "long")


def moment(at: datetime) -> str:
    """In the platform's time zone, with its offset ("long"): readers may be elsewhere."""
    return format_datetime(at, "long")


@bp.app_context_processor
def processor_context() -> dict:
    return {"dpa_pending": services.dpa_pending, "pending_dpa_tenants": _pending_dpa_tenants,
            "open_sub_processor_changes": _open_changes,
            "safeguard_labels": SAFEGUARDS, "change_labels": CHANGE_KINDS,
            "purpose_labels": SERVICE_PURPOSES,
            "long_date": long_date, "moment": moment}


def _pending_dpa_tenants() -> list:
    """For the banner: the tenants the signed-in account owns with a DPA to accept."""
    if not current_user.is_authenticated:
        return []
    return services.tenants_pending_dpa(db.session(), current_user.id)


def _open_changes() -> list:
    """For the banner: sub-processor changes the signed-in owner may still object to."""
    if not current_user.is_authenticated:
        return []
    return services.open_changes_for(db.session(), current_user.id)


def refused(exc: services.ProcessorError):  # type: ignore[no-untyped-def]
    titles = {404: _("Not found"), 409: _("Not possible any more")}
    return error_page(exc.status, title=titles.get(exc.status), message=str(exc))


# --- public pages ------------------------------------------------------------------------------


@bp.get("/legal/dpa")
def dpa_text():  # type: ignore[no-untyped-def]
    return render("processor/dpa_public.html", version=dpa.current(), language=language())


@bp.get("/legal/sub-processors")
def sub_processors():  # type: ignore[no-untyped-def]
    today = db.utcnow().date()
    session = db.session()
    return render("processor/sub_processors.html", entries=services.listed(session, today),
                  upcoming=services.upcoming(session, today), language=language())


@bp.get("/legal/accessibility")
def accessibility():  # type: ignore[no-untyped-def]
    contact = current_app.config.get("ACCESSIBILITY_CONTACT", ACCESSIBILITY_CONTACT)
    return render("processor/accessibility.html", language=language(), contact=contact)


# --- tenant owners -----------------------------------------------------------------------------


def _dpa_page(form: AcceptDpaForm, status: int = 200):  # type: ignore[no-untyped-def]
    current = dpa.current()
    form.version.data = current.id
    return render("processor/dpa.html", status=status, form=form, version=current,
                  language=language(), pending=services.dpa_pending(g.org.id),
                  acceptances=services.acceptances(db.session(), g.org.id))


@bp.get("/organisations/<slug>/dpa")
@member_required("owner", "admin")
def dpa_page(slug: str):  # type: ignore[no-untyped-def]
    return _dpa_page(AcceptDpaForm(formdata=None))


@bp.post("/organisations/<slug>/dpa")
@member_required("owner")
def accept_dpa(slug: str):  # type: ignore[no-untyped-def]
    form = AcceptDpaForm()
    if not form.validate_on_submit():
        return _dpa_page(form, status=422)
    try:
        services.accept(db.session(), g.org.id, current_user.id, form.version.data or "",
                        language())
    except services.ProcessorError as exc:
        return refused(exc)
    flash(_("Thank you: the agreement is accepted."), "processor")
    return redirect(url_for(".dpa_page", slug=slug), code=303)


def _changes_page(form: ObjectionForm, status: int = 200, failed: int | None = None):  # type: ignore[no-untyped-def]
    session = db.session()
    now = db.utcnow()
    objected = {o.change_id: o for o in services.objections(session, tenant_id=g.org.id)}
    changes = services.changes(session)
    return render("processor/changes.html", status=status, form=form, now=now,
                  open_changes=[c for c in changes if c.objection_deadline > now],
                  closed_changes=[c for c in changes if c.objection_deadline <= now],
                  objected=objected, failed=failed, language=language())


@bp.get("/organisations/<slug>/sub-processors")
@member_required("owner")
def owner_changes(slug: str):  # type: ignore[no-untyped-def]
    return _changes_page(ObjectionForm(formdata=None))


@bp.post("/organisations/<slug>/sub-processors/<int:change_id>/objection")
@member_required("owner")
def object_to(slug: str, change_id: int):  # type: ignore[no-untyped-def]
    form = ObjectionForm()
    if not form.validate_on_submit():
        return _changes_page(form, status=422, failed=change_id)
    try:
        services.object_to(db.session(), change_id, g.org.id, current_user.id,
                           form.reason.data or "")
    except services.ProcessorError as exc:
        if exc.field:
            form.reason.errors = [str(exc)]
            return _changes_page(form, status=422, failed=change_id)
        return refused(exc)
    flash(_("Your objection is recorded. We will contact you before the change takes effect."),
          "processor")
    return redirect(url_for(".owner_changes", slug=slug), code=303)


# --- operators -----------------------------------------------------------------------------------


@bp.get("/ops/dpa")
@operator_required()
def ops_dpa():  # type: ignore[no-untyped-def]
    session = db.session()
    tenants = org_services.all_tenants(session)
    by_tenant: dict[int, list] = {}
    for acceptance in services.acceptances(session):
        by_tenant.setdefault(acceptance.tenant_id, []).append(acceptance)
    return render("processor/ops_dpa.html", tenants=tenants, by_tenant=by_tenant,
                  current=dpa.current())


def _ops_list(form: SubProcessorForm, status: int = 200):  # type: ignore[no-untyped-def]
    session = db.session()
    return render("processor/ops_sub_processors.html", status=status, form=form,
                  entries=services.all_sub_processors(session),
                  changes=services.changes(session), language=language())


@bp.get("/ops/sub-processors")
@operator_required(*REGISTER_ROLES)
def ops_sub_processors():  # type: ignore[no-untyped-def]
    return _ops_list(SubProcessorForm(formdata=None))


def _save(form: SubProcessorForm, entry: SubProcessor | None) -> SubProcessor | None:
    """Validate and save; on a refusal, the error is put on its field and None returned."""
    if not form.validate_on_submit():
        return None
    data = services.SubProcessorData(**{name: form[name].data or "" for name in (
        "name", "purpose_fr", "purpose_en", "data_fr", "data_en", "location", "safeguard")})
    try:
        return services.save_sub_processor(db.session(), data, entry)
    except services.ProcessorError as exc:
        form[exc.field or "name"].errors = [str(exc)]
        return None


@bp.post("/ops/sub-processors")
@operator_required(*REGISTER_ROLES)
def create_sub_processor():  # type: ignore[no-untyped-def]
    form = SubProcessorForm()
    entry = _save(form, None)
    if entry is None:
        return _ops_list(form, status=422)
    flash(_("Saved as a draft: announce it to put it on the public list."), "processor")
    return redirect(url_for(".edit_sub_processor", entry_id=entry.id), code=303)


def _entry_or_404(entry_id: int) -> SubProcessor:
    entry = db.session().get(SubProcessor, entry_id)
    if entry is None:
        abort(404)
    return entry


def _edit_page(entry: SubProcessor, form: SubProcessorForm, change_form: ChangeForm,
               status: int = 200):  # type: ignore[no-untyped-def]
    return render("processor/ops_edit.html", status=status, entry=entry, form=form,
                  change_form=change_form, language=language())


@bp.route("/ops/sub-processors/<int:entry_id>", methods=["GET", "POST"])
@operator_required(*REGISTER_ROLES)
def edit_sub_processor(entry_id: int):  # type: ignore[no-untyped-def]
    entry = _entry_or_404(entry_id)
    form = SubProcessorForm(obj=entry)
    if form.is_submitted():
        if _save(form, entry) is None:
            return _edit_page(entry, form, ChangeForm(formdata=None), status=422)
        flash(_("Changes saved."), "processor")
        return redirect(url_for(".edit_sub_processor", entry_id=entry.id), code=303)
    form.safeguard.data = entry.safeguard.value
    return _edit_page(entry, form, ChangeForm(formdata=None))


@bp.post("/ops/sub-processors/<int:entry_id>/announce")
@operator_required(*REGISTER_ROLES)
def announce(entry_id: int):  # type: ignore[no-untyped-def]
    entry = _entry_or_404(entry_id)
    form = ChangeForm()
    page_form = SubProcessorForm(formdata=None, obj=entry)
    page_form.safeguard.data = entry.safeguard.value
    if not form.validate_on_submit():
        return _edit_page(entry, page_form, form, status=422)
    try:
        change = services.announce(
            db.session(), entry, kind=form.kind.data, effective_on=form.effective_on.data,
            objection_days=form.objection_days.data, note_fr=form.note_fr.data or "",
            note_en=form.note_en.data or "", account_id=current_user.id)
    except services.ProcessorError as exc:
        form[exc.field or "kind"].errors = [str(exc)]
        return _edit_page(entry, page_form, form, status=422)
    enqueue(inform_owners, change.id)
    flash(_("The change is announced; every organisation owner is being e-mailed."), "processor")
    return redirect(url_for(".ops_objections"), code=303)


@bp.get("/ops/sub-processors/objections")
@operator_required(*REGISTER_ROLES)
def ops_objections():  # type: ignore[no-untyped-def]
    session = db.session()
    by_change: dict[int, list] = {}
    for objection in services.objections(session):
        by_change.setdefault(objection.change_id, []).append(objection)
    tenants = org_services.tenants_by_id(
        session, {o.tenant_id for found in by_change.values() for o in found})
    return render("processor/ops_objections.html", changes=services.changes(session),
                  by_change=by_change, tenants=tenants, now=db.utcnow(), language=language())


def _controller_version(number: int | None) -> RegisterVersion:
    """The controller register's latest version (stored now if the register changed), or
    version ``number`` (404 if there is none)."""
    session = db.session()
    if number is None:
        return versions.remember(session, None, versions.controller_snapshot())
    found = versions.get(session, None, number)
    if found is None:
        abort(404)
    return found


@bp.get("/ops/records")
@bp.get("/ops/records/v<int:number>")
@db.writes  # a new version of the register is recorded
@operator_required(*REGISTER_ROLES)
def records(number: int | None = None):  # type: ignore[no-untyped-def]
    version = _controller_version(number)
    return render("processor/records.html", headings=register.HEADINGS,
                  rows=version.snapshot[language()], version=version, current=number is None,
                  history=versions.history(db.session(), None),
                  version_url=functools.partial(url_for, ".records"))


@bp.get("/ops/records/print")
@db.writes  # a new version of the register is recorded
@operator_required(*REGISTER_ROLES)
def records_print():  # type: ignore[no-untyped-def]
    version = _controller_version(_number_arg())
    headings = list(register.HEADINGS.values())
    return render("processor/register_print.html", title=_("Records of processing activities"),
                  intro=_("Parvis as controller (GDPR Article 30(1))."), version=version,
                  headings=headings, rows=version.snapshot[language()])


@bp.get("/ops/records.csv")
@operator_required(*REGISTER_ROLES)
def records_csv() -> Response:
    version = _controller_version(_number_arg())
    # Each cell made formula-safe; the BOM makes spreadsheet software read UTF-8.
    body = csv_line([str(h) for h in register.HEADINGS.values()])
    body += "".join(csv_line(row) for row in version.snapshot[language()])
    return Response("\ufeff" + body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=parvis-records-of-processing.csv"})


def _number_arg() -> int | None:
    """``?version=N`` of the print and CSV pages (absent or not a number: the latest)."""
    return request.args.get("version", type=int)


# --- per-tenant processor register (Art. 30(2)) ------------------------------------------------


def _tenant_version(tenant: Any, number: int | None) -> RegisterVersion:
    """The tenant register's latest version (stored now if its content changed), or version
    ``number`` (404 if there is none)."""
    session = db.session()
    if number is None:
        return versions.remember(session, tenant.id, versions.tenant_snapshot(session, tenant))
    found = versions.get(session, tenant.id, number)
    if found is None:
        abort(404)
    return found


def _tenant_register(tenant: Any, number: int | None, urls: dict[str, Callable]):  # type: ignore[no-untyped-def]
    version = _tenant_version(tenant, number)
    return render("processor/tenant_register.html", tenant=tenant, version=version,
                  current=number is None, lines=tenant_register.build(version.snapshot,
                                                                      language()),
                  headings=tenant_register.HEADINGS, urls=urls, version_url=urls["page"],
                  history=versions.history(db.session(), tenant.id))


def _tenant_register_print(tenant: Any) -> Response:
    version = _tenant_version(tenant, _number_arg())
    return render("processor/register_print.html",
                  title=_("Processor register: %(name)s", name=tenant.name),
                  intro=_("Record of the processing Parvis carries out on behalf of %(name)s "
                          "(GDPR Article 30(2)).", name=tenant.name),
                  version=version, headings=[str(h) for h in tenant_register.HEADINGS],
                  rows=[line.cells() for line in tenant_register.build(version.snapshot,
                                                                       language())])


def _tenant_register_csv(tenant: Any) -> Response:
    version = _tenant_version(tenant, _number_arg())
    body = csv_line([str(h) for h in tenant_register.HEADINGS])
    body += "".join(csv_line(line.cells())
                    for line in tenant_register.build(version.snapshot, language()))
    return Response("\ufeff" + body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=processor-register-{tenant.slug}"
                               f"-v{version.number}.csv"})


def _owner_urls(slug: str) -> dict[str, Callable]:
    return {"page": functools.partial(url_for, ".owner_register", slug=slug),
            "print": functools.partial(url_for, ".owner_register_print", slug=slug),
            "csv": functools.partial(url_for, ".owner_register_csv", slug=slug)}


@bp.get("/organisations/<slug>/processor-register")
@bp.get("/organisations/<slug>/processor-register/v<int:number>")
@db.writes  # a new version of the register is recorded
@member_required("owner", "admin")
def owner_register(slug: str, number: int | None = None):  # type: ignore[no-untyped-def]
    return _tenant_register(g.org, number, _owner_urls(slug))


@bp.get("/organisations/<slug>/processor-register/print")
@db.writes  # a new version of the register is recorded
@member_required("owner", "admin")
def owner_register_print(slug: str) -> Response:
    return _tenant_register_print(g.org)


@bp.get("/organisations/<slug>/processor-register.csv")
@member_required("owner", "admin")
def owner_register_csv(slug: str) -> Response:
    return _tenant_register_csv(g.org)


def _tenant_or_404(slug: str) -> Any:
    tenant = org_services.get(db.session(), slug)
    if tenant is None:
        abort(404)
    return tenant


def _ops_urls(slug: str) -> dict[str, Callable]:
    return {"page": functools.partial(url_for, ".ops_register", slug=slug),
            "print": functools.partial(url_for, ".ops_register_print", slug=slug),
            "csv": functools.partial(url_for, ".ops_register_csv", slug=slug)}


@bp.get("/ops/processor-registers/<slug>")
@bp.get("/ops/processor-registers/<slug>/v<int:number>")
@db.writes  # a new version of the register is recorded
@operator_required(*REGISTER_ROLES)
def ops_register(slug: str, number: int | None = None):  # type: ignore[no-untyped-def]
    return _tenant_register(_tenant_or_404(slug), number, _ops_urls(slug))


@bp.get("/ops/processor-registers/<slug>/print")
@db.writes  # a new version of the register is recorded
@operator_required(*REGISTER_ROLES)
def ops_register_print(slug: str) -> Response:
    return _tenant_register_print(_tenant_or_404(slug))


@bp.get("/ops/processor-registers/<slug>.csv")
@operator_required(*REGISTER_ROLES)
def ops_register_csv(slug: str) -> Response:
    return _tenant_register_csv(_tenant_or_404(slug))


# --- third-party services: the operators' catalogue ------------------------------------------


def _catalogue_page(form: CatalogueForm, entry: ThirdPartyService | None = None,
                    status: int = 200):  # type: ignore[no-untyped-def]
    return render("processor/ops_services.html", status=status, form=form, entry=entry,
                  entries=catalogue.all_services(db.session()), language=language())


def _save_entry(form: CatalogueForm, entry: ThirdPartyService | None) -> ThirdPartyService | None:
    """Validate and save; on a refusal the error is put on its field and None returned."""
    if not form.validate_on_submit():
        return None
    data = catalogue.ServiceData(
        **{name: (form[name].data or "").strip() for name in (
            "name", "provider", "purpose", "description_fr", "description_en", "data_fr",
            "data_en", "location", "safeguard", "load_kind")},
        load_url=(form.load_url.data or "").strip() or None, cookies=form.cookie_list())
    try:
        return catalogue.save(db.session(), data, entry)
    except services.ProcessorError as exc:
        form[exc.field or "name"].errors = [str(exc)]
        return None


@bp.route("/ops/services", methods=["GET", "POST"])
@operator_required(*REGISTER_ROLES)
def ops_services():  # type: ignore[no-untyped-def]
    form = CatalogueForm()
    if not form.is_submitted():
        return _catalogue_page(form)
    if _save_entry(form, None) is None:
        return _catalogue_page(form, status=422)
    flash(_("The service is in the catalogue."), "processor")
    return redirect(url_for(".ops_services"), code=303)


@bp.route("/ops/services/<int:entry_id>", methods=["GET", "POST"])
@operator_required(*REGISTER_ROLES)
def ops_service(entry_id: int):  # type: ignore[no-untyped-def]
    entry = db.session().get(ThirdPartyService, entry_id)
    if entry is None:
        abort(404)
    form = CatalogueForm(obj=entry)
    if not form.is_submitted():
        form.safeguard.data = entry.safeguard.value
        form.cookies.data = "\n".join(f"{c['name']} | {c['lifetime']}" for c in entry.cookies)
        return _catalogue_page(form, entry)
    if _save_entry(form, entry) is None:
        return _catalogue_page(form, entry, status=422)
    flash(_("Changes saved."), "processor")
    return redirect(url_for(".ops_services"), code=303)


# --- third-party services: each organisation's use ----------------------------------------------


def _tenant_unit() -> None:
    """Make the organisation's data the request's tenant unit of work: the tenant plane's
    writes then commit with the control plane's at the end of the request (ended by the
    tenancy's teardown, which deactivates ``g.tenant_token``)."""
    if "tenant_token" not in g:
        g.tenant_token = tenants_api.activate(g.org.slug)


def _services_page(status: int = 200, error: str | None = None):  # type: ignore[no-untyped-def]
    if error and wants_fragment():
        status = 422  # the one error status htmx swaps in (layout.html's htmx-config)
    _tenant_unit()
    session = db.session()
    return render("processor/services.html", block="services", status=status, error=error,
                  rows=catalogue.for_tenant(session), form=ServiceActionForm(formdata=None),
                  authorisations=catalogue.authorisations(session, g.org.id),
                  language=language())


@bp.get("/organisations/<slug>/services")
@member_required("owner", "admin")
def tenant_services(slug: str):  # type: ignore[no-untyped-def]
    return _services_page()


def _service_action(slug: str, action: Callable[..., Any], done: str):  # type: ignore[no-untyped-def]
    """Enable or disable: the list again (htmx) or a redirect to it."""
    form = ServiceActionForm()
    if not form.validate_on_submit():
        return _services_page(400, _("The form has expired: please try again."))
    _tenant_unit()
    try:
        action()
    except services.ProcessorError as exc:
        return _services_page(exc.status, str(exc))
    enqueue(remember_register, g.org.id)
    if wants_fragment():
        return _services_page()
    flash(done, "processor")
    return redirect(url_for(".tenant_services", slug=slug), code=303)


@bp.post("/organisations/<slug>/services/<int:entry_id>/enable")
@member_required("owner", "admin")
def enable_service(slug: str, entry_id: int):  # type: ignore[no-untyped-def]
    return _service_action(slug, lambda: catalogue.enable(db.session(), g.org, entry_id,
                                                          current_user.id),
                           _("The service is enabled."))


@bp.post("/organisations/<slug>/services/<int:entry_id>/disable")
@member_required("owner", "admin")
def disable_service(slug: str, entry_id: int):  # type: ignore[no-untyped-def]
    return _service_action(slug, lambda: catalogue.disable(g.org, entry_id, current_user.id),
                           _("The service is disabled: it is no longer loaded."))


def _transfer_page(entry: ThirdPartyService, form: AuthoriseForm, status: int = 200):  # type: ignore[no-untyped-def]
    _tenant_unit()
    state = tenants_api.catalogue_state().get(entry.id)
    form.version.data = entry.version
    return render("processor/transfer.html", status=status, entry=entry, form=form,
                  pending=bool(state and state["blocked"]), language=language())


@bp.route("/organisations/<slug>/services/<int:entry_id>/transfer", methods=["GET", "POST"])
@member_required("owner")
def authorise_transfer(slug: str, entry_id: int):  # type: ignore[no-untyped-def]
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
        catalogue.authorise(db.session(), g.org, entry_id, form.version.data, current_user.id)
    except services.ProcessorError as exc:
        return refused(exc)
    enqueue(remember_register, g.org.id)
    flash(_("The transfer is authorised: %(name)s is now offered in your cookie banner.",
            name=entry.name), "processor")
    return redirect(url_for(".tenant_services", slug=slug), code=303)


# --- the organisation's instructions log -------------------------------------------------------

INSTRUCTIONS_PER_PAGE = 50


def _who(rows: list[dict]) -> dict[int, str]:
    """Member names (or addresses) by account id, from the control plane."""
    ids = {r["member_id"] for r in rows if r["member_id"] is not None}
    if not ids:
        return {}
    accounts = db.session().scalars(select(Account).where(Account.id.in_(ids)))
    return {a.id: (a.display_name or a.email) for a in accounts}


@bp.get("/organisations/<slug>/instructions")
@member_required("owner", "admin")
def instructions(slug: str):  # type: ignore[no-untyped-def]
    page = max(request.args.get("page", 1, type=int), 1)
    total, rows = tenants_api.instructions(slug, (page - 1) * INSTRUCTIONS_PER_PAGE,
                                           INSTRUCTIONS_PER_PAGE)
    pages = max((total + INSTRUCTIONS_PER_PAGE - 1) // INSTRUCTIONS_PER_PAGE, 1)
    if page > pages:
        abort(404)
    return render("processor/instructions.html", rows=rows, who=_who(rows), page=page,
                  pages=pages, total=total, areas=INSTRUCTION_AREAS)


@bp.get("/organisations/<slug>/instructions.csv")
@member_required("owner", "admin")
def instructions_csv(slug: str) -> Response:
    _total, rows = tenants_api.instructions(slug)
    who = _who(rows)
    body = csv_line([_("Time (UTC)"), _("Area"), _("Change"), _("By")])
    body += "".join(csv_line([
        r["at"].strftime("%Y-%m-%d %H:%M:%S"), str(INSTRUCTION_AREAS.get(r["area"], r["area"])),
        r["summary"], who.get(r["member_id"], "") if r["member_id"] else _("Platform")])
        for r in rows)
    return Response("\ufeff" + body, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=instructions-{slug}.csv"})
