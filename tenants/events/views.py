"""Event pages: the public list and event page, and the admins' list and editor.

The join link is never rendered here except in the admin's edit form: participants receive it
by e-mail only. Dates are shown in the event's own time zone, which is always named.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from core.extensions import htmx
from core.web.errors import error_page
from core.web.htmx import render
from tenants import access, db, pagecache
from tenants.events import services
from tenants.events.forms import EventFields, event_form
from tenants.events.models import Event
from tenants.events.wording import event_moment, event_when, locale_name
from tenants.registration.services import registration_state
from tenants.settings import services as settings
from tenants.texts import pick

bp = Blueprint("events", __name__, template_folder="templates")

# Ids in URLs: positive and within the databases' integer range, so any other number is a
# plain 404 (SQLite cannot even bind a larger one).
ID = "int(min=1, max=2147483647)"
PAGE_SIZE = 20
MAX_PAGE = 10_000  # keeps OFFSET within what any database accepts


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def _text_helpers() -> dict[str, Any]:
    """``text(texts)``: a tenant text in the visitor's language, else the tenant's default."""
    language, default = locale_name(), settings.languages(db.session())[0]
    return {"text": lambda texts: pick(texts, language, default),
            "event_when": event_when, "event_moment": event_moment}


def _done(target: str) -> BaseResponse:
    """After a successful change: a redirect (or htmx's own, so the whole page changes)."""
    if htmx:
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


def _event_or_404(event_id: int) -> Event:
    event = services.get(db.session(), event_id)
    if event is None:
        abort(404)
    return event


# --- public ----------------------------------------------------------------------------------


@bp.get("/")
@pagecache.cached
def index():
    page = _page()
    found = services.upcoming(db.session(), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    events = found[:PAGE_SIZE]
    return render("events/index.html", block="events", events=events, page=page,
                  has_next=len(found) > PAGE_SIZE,
                  states={event.id: registration_state(event) for event in events},
                  **_text_helpers())


@bp.get(f"/events/<{ID}:event_id>")
@pagecache.cached
def show(event_id: int):
    staff = access.has_role("viewer")
    event = services.get_visible(db.session(), event_id, staff=staff)
    if event is None:
        abort(404)
    return render("events/show.html", event=event, state=registration_state(event),
                  **_text_helpers())


# --- admin -----------------------------------------------------------------------------------


@bp.get("/admin/events")
@access.require_role("viewer")
def admin_index():
    view = request.args.get("view", "upcoming")
    if view not in services.VIEWS:
        view = "upcoming"
    page = _page()
    found, counts = services.admin_list(db.session(), view, limit=PAGE_SIZE + 1,
                                        offset=(page - 1) * PAGE_SIZE)
    return render("events/admin_index.html", block="events", view=view, page=page,
                  events=found[:PAGE_SIZE], has_next=len(found) > PAGE_SIZE, counts=counts,
                  can_edit=access.has_role("admin"), **_text_helpers())


def _editor(form: EventFields, event: Event | None, status: int = 200) -> Response:
    return render("events/edit.html", block="form", status=status, form=form, event=event,
                  languages=settings.languages(db.session()), **_text_helpers())


def _list_for(event: Event) -> str:
    view = {"draft": "drafts", "cancelled": "cancelled"}.get(event.status, "upcoming")
    return url_for(".admin_index", view=view)


@bp.route("/admin/events/new", methods=["GET", "POST"])
@access.require_role("admin")
def create():
    languages = settings.languages(db.session())
    form = event_form(languages, zone=settings.get(db.session()).timezone)
    if not form.is_submitted():
        return _editor(form, None)
    if not form.validate():
        return _editor(form, None, status=422)
    event = services.create(db.session(), **form.values(languages))
    return _done(_list_for(event))


ERROR_FIELDS = {"capacity": "capacity", "has_registrations": "status"}


@bp.route(f"/admin/events/<{ID}:event_id>/edit", methods=["GET", "POST"])
@access.require_role("admin")
def edit(event_id: int):
    event = _event_or_404(event_id)
    languages = settings.languages(db.session())
    form = event_form(languages, event)
    if event.status == "cancelled":  # nothing more to change: the page says so
        return _editor(form, event, status=409 if form.is_submitted() else 200)
    if not form.is_submitted():
        return _editor(form, event)
    if not form.validate():
        return _editor(form, event, status=422)
    try:
        services.update(db.session(), event, **form.values(languages))
    except services.EventError as exc:
        form[ERROR_FIELDS[exc.code]].errors.append(
            _("Some participants are registered: cancel the event instead of making it a "
              "draft again.") if exc.code == "has_registrations" else
            _("%(taken)s seats are already taken: the capacity cannot be lower.",
              taken=event.seats_taken))
        return _editor(form, event, status=422)
    return _done(_list_for(event))


def _confirmation(event: Event, action: str) -> Response:
    """The step before publishing or cancelling: a page (or fragment) with a confirm button."""
    registrants = services.active_count(db.session(), event.id) if action == "cancel" else 0
    return render("events/confirm.html", block="confirm", event=event, action=action,
                  registrants=registrants, **_text_helpers())


def _already(event: Event) -> Response:
    """A publish or cancel sent twice (two tabs, a double click): say what the event is now."""
    message = (_("This event has been cancelled.") if event.status == "cancelled"
               else _("This event is already published."))
    return error_page(409, title=_("Nothing to do"), message=message)


@bp.post(f"/admin/events/<{ID}:event_id>/publish")
@access.require_role("admin")
def publish(event_id: int):
    event = _event_or_404(event_id)
    if event.status != "draft":
        return _already(event)
    if request.form.get("confirm") != "yes":
        return _confirmation(event, "publish")
    services.publish(db.session(), event)
    return _done(url_for(".admin_index", view="upcoming"))


@bp.post(f"/admin/events/<{ID}:event_id>/cancel")
@access.require_role("admin")
def cancel(event_id: int):
    event = _event_or_404(event_id)
    if event.status == "cancelled":
        return _already(event)
    if request.form.get("confirm") != "yes":
        return _confirmation(event, "cancel")
    services.cancel(db.session(), event)
    return _done(url_for(".admin_index", view="cancelled"))
