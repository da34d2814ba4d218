"""The tenant's settings page: members from viewer up may read it, admins change it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_babel import gettext as _
from wtforms import BooleanField, Field, SelectField

from core import zones
from core.extensions import htmx
from core.web.htmx import render
from tenants import access, db
from tenants.instructions import services as instructions
from tenants.settings import services
from tenants.settings.forms import VISIBILITY_LABELS, RatingsSettingsForm, SettingsForm
from tenants.settings.models import Settings

bp = Blueprint("settings", __name__, template_folder="templates")


def _ratings_form() -> RatingsSettingsForm:
    current = services.get(db.session())
    return RatingsSettingsForm(formdata=None, data={name: getattr(current, name)
                                                    for name in services.RATINGS_KEYS})


def _values(current: Settings) -> dict[str, object]:
    """The settings form's values from the stored settings."""
    return {"default_language": current.languages[0], "languages": current.languages,
            "max_visibility": current.max_visibility, "timezone": current.timezone}


def _shown(field: Field) -> str:
    """A setting's value as its form shows it (a choice's label)."""
    if isinstance(field, BooleanField):
        return _("yes") if field.data else _("no")
    if isinstance(field, SelectField):
        return next((str(option.label.text) for option in field if option.data == field.data),
                    str(field.data))
    return str(field.data)


def _page(form: SettingsForm, *, status: int = 200, saved: bool = False,
          ratings_form: RatingsSettingsForm | None = None, ratings_saved: bool = False,
          block: str = "settings") -> Response:
    return render("settings/edit.html", block=block, status=status, form=form,
                  saved=saved, ratings_form=ratings_form or _ratings_form(),
                  ratings_saved=ratings_saved, can_edit=access.has_role("admin"))


@bp.route("/admin/settings", methods=["GET", "POST"])
@access.require_role("viewer")
def edit():
    session = db.session()
    if request.method == "GET":
        current = services.get(session)
        form = SettingsForm(data=_values(current))
        return _page(form, saved=request.args.get("saved") == "1",
                     ratings_saved=request.args.get("saved") == "ratings")
    if not access.has_role("admin"):
        abort(403)
    # A form sent without the zone (an older page) keeps the stored one.
    form = SettingsForm(data={"timezone": services.time_zone(session)})
    if not form.validate():
        return _page(form, status=422)
    if form.max_visibility.data != services.get(session).max_visibility:
        instructions.record(session, "visibility", _(
            "Set who may see participants in participant lists, at most: %(choice)s",
            choice=VISIBILITY_LABELS[form.max_visibility.data]))
    if form.timezone.data != services.time_zone(session):
        instructions.record(session, "timezone", _(
            "Set the time zone of the organisation's pages and e-mails: %(zone)s",
            zone=zones.label(form.timezone.data)))
    services.update(session, languages=form.chosen_languages(),
                    max_visibility=form.max_visibility.data, timezone=form.timezone.data)
    if htmx:
        return _page(form, saved=True)
    return redirect(url_for(".edit", saved=1), code=303)


@bp.post("/admin/settings/ratings")
@access.require_role("admin")
def ratings():
    """The ratings policy: a form of its own on the settings page."""
    current = services.get(db.session())
    settings_form = SettingsForm(formdata=None, data=_values(current))
    form = RatingsSettingsForm()
    if not form.validate():
        return _page(settings_form, status=422, ratings_form=form, block="ratings")
    before = {name: getattr(current, name) for name in services.RATINGS_KEYS}
    services.update_ratings(db.session(), **form.values())
    changed = [name for name in services.RATINGS_KEYS if getattr(current, name) != before[name]]
    if changed:
        instructions.record(db.session(), "ratings", _(
            "Changed the ratings policy: %(values)s",
            values="; ".join(f"{form[name].label.text}: {_shown(form[name])}"
                             for name in changed)))
    if htmx:
        return _page(settings_form, ratings_form=form, ratings_saved=True, block="ratings")
    return redirect(url_for(".edit", saved="ratings"), code=303)
