"""Site-wide pages that belong to no feature: the landing page, security.txt, health."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app

from webapp import db
from webapp.web.htmx import render

bp = Blueprint("site", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render("site/index.html")


@bp.get("/.well-known/security.txt")
def security_txt() -> Response:
    expires = (db.utcnow() + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = (f"Contact: {current_app.config['SECURITY_CONTACT']}\n"
            f"Expires: {expires}\n"
            "Preferred-Languages: fr, en\n")
    return Response(body, mimetype="text/plain")


@bp.get("/healthz")
def health() -> Response:
    from sqlalchemy import select

    db.session().execute(select(1))
    return Response("ok\n", mimetype="text/plain")
