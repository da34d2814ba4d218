"""The tenant's settings page: members from viewer up may read it, admins change it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, request, url_for

from tenants import access, db
from tenants.settings import services
from tenants.settings.forms import SettingsForm
from webapp.extensions import htmx
from webapp.web.htmx import render

bp = Blueprint("settings", __name__, template_folder="templates")


def _page(form: SettingsForm, *, status: int = 200, saved: bool = False) -> Response:
    return render("settings/edit.html", block="settings", status=status, form=form,
                  saved=saved, can_edit=access.has_role("admin"))


@bp.route("/admin/settings", methods=["GET", "POST"])
@access.require_role("viewer")
def edit():  # type: ignore[no-untyped-def]
    session = db.session()
    if request.method == "GET":
        current = services.get(session)
        form = SettingsForm(data={"default_language": current.languages[0],
                                  "languages": current.languages,
                                  "max_visibility": current.max_visibility})
        return _page(form, saved=request.args.get("saved") == "1")
    if not access.has_role("admin"):
        abort(403)
    form = SettingsForm()
    if not form.validate():
        return _page(form, status=422)
    services.update(session, languages=form.chosen_languages(),
                    max_visibility=form.max_visibility.data)
    if htmx:
        return _page(form, saved=True)
    return redirect(url_for(".edit", saved=1), code=303)
