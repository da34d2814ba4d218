from __future__ import annotations

from flask import Blueprint

from webapp.web.htmx import render

bp = Blueprint("events", __name__, template_folder="templates")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render("events/index.html")


@bp.get("/events/<int:event_id>")
def show(event_id: int):  # type: ignore[no-untyped-def]
    return render("events/index.html")


@bp.get("/admin/events")
def admin_index():  # type: ignore[no-untyped-def]
    return render("events/index.html")
