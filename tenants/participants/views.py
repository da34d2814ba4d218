from __future__ import annotations

from flask import Blueprint, abort, g, request

from tenants import access, db
from tenants.participants import services
from webapp.web.htmx import render

bp = Blueprint("participants", __name__, template_folder="templates")

PAGE_SIZE = 50


@bp.app_context_processor
def inject_participant() -> dict:
    """``current_participant()`` in templates: who is signed in to this tenant, if anyone."""

    def current_participant():  # type: ignore[no-untyped-def]
        return services.current(db.session()) if g.get("tenant") else None

    return {"current_participant": current_participant}


@bp.get("/login")
def login():  # type: ignore[no-untyped-def]
    return ""


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    return ""


@bp.get("/me")
def profile():  # type: ignore[no-untyped-def]
    return ""


@bp.get("/admin/participants")
@access.require_role("viewer")
def index():  # type: ignore[no-untyped-def]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    session = db.session()
    people = services.page(session, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    total = services.count(session)
    return render("participants/index.html", block="results", participants=people,
                  total=total, page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))


@bp.get("/admin/participants/<int:participant_id>")
@access.require_role("manager")
def show(participant_id: int):  # type: ignore[no-untyped-def]
    participant = services.get(db.session(), participant_id)
    if participant is None:
        abort(404)
    return render("participants/show.html", participant=participant)
