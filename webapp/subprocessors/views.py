"""Sub-processor pages: the public list; the owners' page of announced changes, where they
object; the operators' list, entry and announcement pages and the objections they received
(operators with the admin or privacy role)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core.clock import utcnow
from core.jobs import enqueue
from core.web.errors import error_page
from core.web.htmx import render, template_globals
from core.web.i18n import text_language
from webapp import db, tenancy
from webapp.access import PRIVACY_ROLES, member_required, operator_required
from webapp.subprocessors import services
from webapp.subprocessors.forms import (
    CHANGE_KINDS,
    SAFEGUARDS,
    ChangeForm,
    ObjectionForm,
    SubProcessorForm,
)
from webapp.subprocessors.models import SubProcessor
from webapp.subprocessors.tasks import inform_owners

bp = Blueprint("subprocessors", __name__, template_folder="templates")


def _open_changes() -> list:
    """For the banner: sub-processor changes the signed-in owner may still object to (read
    only when the request's standing says there are some)."""
    standing = tenancy.standing()
    if standing is None or not standing.open_sub_processor_changes:
        return []
    return services.open_changes_for(db.session(), current_user.id)


template_globals(bp, open_sub_processor_changes=_open_changes, safeguard_labels=SAFEGUARDS,
                 change_labels=CHANGE_KINDS)


@bp.get("/legal/sub-processors")
def public():
    today = utcnow().date()
    session = db.session()
    return render("subprocessors/public.html", entries=services.listed(session, today),
                  upcoming=services.upcoming(session, today), language=text_language())


# --- tenant owners -----------------------------------------------------------------------------


def _changes_page(form: ObjectionForm, status: int = 200, failed: int | None = None):
    now = utcnow()
    page = services.owner_changes(db.session(), g.org.id, now)
    return render("subprocessors/changes.html", status=status, form=form, now=now,
                  open_changes=page.open, closed_changes=page.closed, objected=page.objected,
                  failed=failed, language=text_language())


@bp.get("/organisations/<slug>/sub-processors")
@member_required("owner")
def changes(slug: str):
    return _changes_page(ObjectionForm(formdata=None))


@bp.post("/organisations/<slug>/sub-processors/<int:change_id>/objection")
@member_required("owner")
def object_to(slug: str, change_id: int):
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
        return error_page(exc.status, title=exc.title, message=str(exc))
    flash(_("Your objection is recorded. We will contact you before the change takes effect."),
          "processor")
    return redirect(url_for(".changes", slug=slug), code=303)


# --- operators -----------------------------------------------------------------------------------


def _ops_list(form: SubProcessorForm, status: int = 200):
    session = db.session()
    return render("subprocessors/ops_index.html", status=status, form=form,
                  entries=services.all_sub_processors(session),
                  changes=services.changes(session), language=text_language())


@bp.get("/ops/sub-processors")
@operator_required(*PRIVACY_ROLES)
def ops_index():
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
@operator_required(*PRIVACY_ROLES)
def create():
    form = SubProcessorForm()
    entry = _save(form, None)
    if entry is None:
        return _ops_list(form, status=422)
    flash(_("Saved as a draft: announce it to put it on the public list."), "processor")
    return redirect(url_for(".edit", entry_id=entry.id), code=303)


def _entry_or_404(entry_id: int) -> SubProcessor:
    entry = db.session().get(SubProcessor, entry_id)
    if entry is None:
        abort(404)
    return entry


def _edit_page(entry: SubProcessor, form: SubProcessorForm, change_form: ChangeForm,
               status: int = 200):
    return render("subprocessors/ops_edit.html", status=status, entry=entry, form=form,
                  change_form=change_form, language=text_language())


@bp.route("/ops/sub-processors/<int:entry_id>", methods=["GET", "POST"])
@operator_required(*PRIVACY_ROLES)
def edit(entry_id: int):
    entry = _entry_or_404(entry_id)
    form = SubProcessorForm(obj=entry)
    if form.is_submitted():
        if _save(form, entry) is None:
            return _edit_page(entry, form, ChangeForm(formdata=None), status=422)
        flash(_("Changes saved."), "processor")
        return redirect(url_for(".edit", entry_id=entry.id), code=303)
    form.safeguard.data = entry.safeguard.value
    return _edit_page(entry, form, ChangeForm(formdata=None))


@bp.post("/ops/sub-processors/<int:entry_id>/announce")
@operator_required(*PRIVACY_ROLES)
def announce(entry_id: int):
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
    return redirect(url_for(".objections"), code=303)


@bp.get("/ops/sub-processors/objections")
@operator_required(*PRIVACY_ROLES)
def objections():
    session = db.session()
    found = services.objections_by_change(session)
    return render("subprocessors/ops_objections.html", changes=services.changes(session),
                  by_change=found.by_change, tenants=found.tenants, now=utcnow(),
                  language=text_language())
