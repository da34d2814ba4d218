from __future__ import annotations

from flask import Blueprint, abort, request

from tenants import access, db
from tenants.participants import services
from webapp.web.htmx import render

bp = Blueprint("participants", __name__, template_folder="templates")

PAGE_SIZE = 50


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    return render("participants/home.html", tenant=access.current())


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
