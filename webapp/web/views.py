"""Site-wide pages that belong to no feature: the landing page, security.txt and the
vulnerability-report page, the accessibility statement, the favicon, health."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Response, current_app
from sqlalchemy import select

from core.clock import utcnow
from core.web.htmx import render
from core.web.i18n import text_language
from core.web.urls import external_url
from webapp import db

bp = Blueprint("site", __name__)
# Overridable by an ``ACCESSIBILITY_CONTACT`` setting.
ACCESSIBILITY_CONTACT = "accessibility@parvis.example"


@bp.get("/")
def index():
    return render("site/index.html")


@bp.get("/.well-known/security.txt")
def security_txt() -> Response:
    """RFC 9116; Canonical and Policy are absolute URLs on ``BASE_URL``."""
    expires = (utcnow() + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = (f"Contact: {current_app.config['SECURITY_CONTACT']}\n"
            f"Expires: {expires}\n"
            "Preferred-Languages: fr, en\n"
            f"Canonical: {external_url('site.security_txt')}\n"
            f"Policy: {external_url('site.vulnerability_reports')}\n")
    return Response(body, mimetype="text/plain")


@bp.get("/security")
def vulnerability_reports():
    contact = current_app.config["SECURITY_CONTACT"]
    return render("site/security.html", contact=contact,
                  address=contact.removeprefix("mailto:") if contact.startswith("mailto:")
                  else None)


@bp.get("/legal/accessibility")
def accessibility():
    contact = current_app.config.get("ACCESSIBILITY_CONTACT", ACCESSIBILITY_CONTACT)
    return render("site/accessibility.html", language=text_language(), contact=contact)


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the pages link to: the site's SVG icon, so no
    page leaves a 404 in the console (pages also link it with ``rel="icon"``)."""
    assert current_app.static_folder is not None
    icon = Path(current_app.static_folder, "favicon.svg").read_bytes()
    return Response(icon, mimetype="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/healthz")
def health() -> Response:
    db.session().execute(select(1))
    return Response("ok\n", mimetype="text/plain")
