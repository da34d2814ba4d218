"""The registration form designer: standard field modes, custom fields, their order, a preview.

Members from viewer up may look; only admins change anything. Each change is a plain form
post that htmx can send in place (the list or the options block is swapped); without
JavaScript the same posts redirect back to the page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from core.extensions import htmx
from core.web.htmx import render
from tenants import access, db
from tenants.fields import answer_form, forms, guard, services
from tenants.fields.models import FIELD_TYPES, CustomField
from tenants.instructions import services as instructions
from tenants.settings import services as settings
from tenants.texts import Texts, pick

bp = Blueprint("fields", __name__, template_folder="templates")


def _text() -> Any:
    """``text(texts)``: a tenant text in the reader's language, else the tenant's default."""
    language, default = str(get_locale() or "fr"), settings.languages(db.session())[0]

    def text(texts: Texts | None) -> str:
        return pick(texts, language, default)

    return text


def _done(target: str) -> BaseResponse:
    """After a successful change: a redirect (or htmx's own, so the whole page changes)."""
    if htmx:
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


def _field_or_404(field_id: int) -> CustomField:
    field = services.get(db.session(), field_id)
    if field is None:
        abort(404)
    return field


def _require_admin() -> None:
    if not access.has_role("admin"):
        abort(403)


# --- designer --------------------------------------------------------------------------------


def _designer(*, block: str | None = None, status: int = 200, standard: Any = None,
              list_error: str | None = None, saved: bool = False) -> Response:
    session = db.session()
    fields = services.active_fields(session)
    return render("fields/designer.html", block=block, status=status,
                  standard=(standard if standard is not None
                            else forms.standard_form(services.standard_modes(session))),
                  fields=fields, by_id={f.id: f for f in fields}, list_error=list_error,
                  saved=saved or request.args.get("saved") == "1",
                  can_edit=access.has_role("admin"), type_labels=forms.TYPE_LABELS,
                  full=len(fields) >= services.MAX_FIELDS, text=_text())


@bp.route("/admin/form", methods=["GET", "POST"])
@access.require_role("viewer")
def designer():
    if request.method == "GET":
        return _designer()
    _require_admin()
    form = forms.standard_form()
    if not form.validate():
        return _designer(block="standard", status=422, standard=form)
    modes = {key: form[key].data for key in services.STANDARD_DEFAULTS}
    if modes != services.standard_modes(db.session()):
        instructions.record(db.session(), "fields", _(
            "Changed the standard fields: %(modes)s", modes=", ".join(
                f"{answer_form.STANDARD_LABELS[key]} ({forms.MODE_LABELS[mode]})"
                for key, mode in modes.items())))
    services.set_standard_modes(db.session(), modes)
    if htmx:
        return _designer(block="standard", saved=True)
    return redirect(url_for(".designer", saved=1), code=303)


@bp.post("/admin/form/fields/<int:field_id>/move")
@access.require_role("admin")
def move(field_id: int):
    field = _field_or_404(field_id)
    direction = request.form.get("direction")
    if direction not in services.DIRECTIONS:
        abort(400)
    services.move(db.session(), field, direction)
    if htmx:
        return _designer(block="custom_fields")
    return redirect(url_for(".designer", _anchor="custom-fields"), code=303)


@bp.post("/admin/form/fields/<int:field_id>/archive")
@access.require_role("admin")
def archive(field_id: int):
    field = _field_or_404(field_id)
    if request.form.get("confirm") != "yes":  # without JavaScript: a page asks first
        return render("fields/archive.html", block="confirm", field=field, text=_text(),
                      answered=services.has_answers(db.session(), field))
    try:
        services.archive(db.session(), field)
    except services.FieldError as exc:
        return _designer(block="custom_fields", status=422, list_error=exc.message)
    in_language = _text()
    instructions.record(db.session(), "fields", _("Removed the field “%(label)s”",
                                                  label=in_language(field.label)))
    if htmx:
        return _designer(block="custom_fields")
    return redirect(url_for(".designer", _anchor="custom-fields"), code=303)


# --- field editor ----------------------------------------------------------------------------


def _editor(form: forms.FieldForm, field: CustomField | None, *, block: str = "editor",
            status: int = 200, found: list[guard.Finding] | None = None) -> Response:
    action = (url_for(".edit", field_id=field.id) if field is not None
              else url_for(".new", type=form.field_type))
    return render("fields/edit.html", block=block, status=status, form=form, field=field,
                  action=action, type_labels=forms.TYPE_LABELS, findings=found or [],
                  guard=guard, text=_text())


def _described(field: CustomField) -> dict[str, str]:
    """A field as the instructions log describes it."""
    in_language = _text()
    return {"label": in_language(field.label), "type": str(forms.TYPE_LABELS[field.type]),
            "need": _("required") if field.required else _("optional"),
            "purpose": in_language(field.purpose) or _("none stated")}


def _edit(field: CustomField | None, field_type: str) -> BaseResponse:
    """The editor's GET and POST, for a new field (``field`` None) or an existing one."""
    session = db.session()
    fields = services.active_fields(session)
    form = forms.field_form(settings.languages(session), field_type, field=field,
                            conditions=forms.condition_choices(fields, field, _text()))
    if not form.is_submitted():
        form.tidy_options()
        # An existing field shows what the guard says about it now, warnings included.
        return _editor(form, field, found=services.findings(**form.texts()) if field else None)
    if request.form.get("action") == "add_option":  # htmx: one more blank option row
        form.add_option_row()
        return _editor(form, field, block="options")
    valid = form.validate()
    # The guard looks at everything typed, so every reason to refuse is shown at once; its
    # warnings stay on the page (with their acknowledgement) until the field is saved.
    found = services.findings(**form.texts())
    if valid and not services.blocking(found, form.acknowledged()):
        try:
            if field is None:
                field = services.create_field(session, field_type, **form.values())
                summary = _("Added the field “%(label)s” (%(type)s, %(need)s); purpose: "
                            "%(purpose)s", **_described(field))
            else:
                services.update_field(session, field, **form.values())
                summary = _("Changed the field “%(label)s” (%(type)s, %(need)s); "
                            "purpose: %(purpose)s", **_described(field))
        except services.FieldError as exc:
            form.refuse(exc.field_name, exc.message)
        except services.SensitiveData as exc:
            found = exc.findings
        else:
            instructions.record(session, "fields", summary)
            if warned := [f for f in found if f.verdict == guard.WARN]:
                # Its own entry, so a long purpose never truncates it.
                instructions.record(session, "fields", _(
                    "Acknowledged the warning on the field “%(label)s”: %(words)s",
                    label=_described(field)["label"],
                    words=", ".join(f"“{f.word}”" for f in warned)))
            return _done(url_for(".designer", _anchor="custom-fields"))
    form.tidy_options()
    return _editor(form, field, status=422, found=found)


@bp.route("/admin/form/fields/new", methods=["GET", "POST"])
@access.require_role("admin")
def new():
    field_type = request.args.get("type", "")
    if field_type not in FIELD_TYPES:
        if field_type or request.method != "GET":
            abort(404)
        return render("fields/choose_type.html", type_labels=forms.TYPE_LABELS)
    return _edit(None, field_type)


@bp.route("/admin/form/fields/<int:field_id>/edit", methods=["GET", "POST"])
@access.require_role("admin")
def edit(field_id: int):
    field = _field_or_404(field_id)
    return _edit(field, field.type)  # the type is the stored one, whatever is posted


# --- preview ---------------------------------------------------------------------------------


@bp.route("/admin/form/preview", methods=["GET", "POST"])
@access.require_role("viewer")
def preview():
    """The sign-up form exactly as participants get it. A POST (sent by htmx when a controlling
    answer changes, as on the real form) shows the questions that then apply; nothing is
    validated or saved."""
    form_class = answer_form.build_form_class(db.session(), str(get_locale() or "fr"), signup=True)
    submitted = request.method == "POST"
    return render("fields/preview.html", block="fields",
                  form=form_class() if submitted else form_class(formdata=None),
                  applicable_only=submitted)
