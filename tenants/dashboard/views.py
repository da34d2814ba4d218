"""An event's dashboard (viewer and above): aggregates only, so no read is logged."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_babel import format_date, format_percent, get_locale

from core.web.htmx import render
from tenants import access, db
from tenants.dashboard import charts, services
from tenants.events import services as events
from tenants.events.wording import event_when
from tenants.settings import services as settings
from tenants.texts import pick

bp = Blueprint("dashboard", __name__, template_folder="templates")
ID = "int(min=1, max=2147483647)"  # a larger id is a plain 404 (SQLite cannot even bind it)


@bp.get(f"/admin/events/<{ID}:event_id>/dashboard")
@access.require_role("viewer")
def event(event_id: int):
    session = db.session()
    found = events.get(session, event_id)
    if found is None:
        abort(404)
    language, default = str(get_locale() or "fr"), settings.languages(session)[0]
    board = services.dashboard(session, found, language, default)
    return render("dashboard/event.html", event=found, board=board, threshold=charts.THRESHOLD,
                  title=pick(found.title, language, default), when=event_when(found),
                  day=lambda day: format_date(day, "medium"),
                  percent=lambda rate: format_percent(rate, "#,##0 %"))
