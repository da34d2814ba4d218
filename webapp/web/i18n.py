"""Locale selection: the visitor's explicit choice, else the tenant's language, else French."""

from __future__ import annotations

from flask import Blueprint, current_app, g, has_request_context, redirect, request, session
from flask_babel import get_locale

from webapp.extensions import babel

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    # Outside a request (CLI commands, jobs) there is no visitor and so no explicit choice.
    chosen = session.get("lang") if has_request_context() else None
    if chosen in languages:
        return chosen
    tenant = g.get("tenant")
    if tenant is not None and tenant.default_language in languages:
        return tenant.default_language
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app) -> None:  # type: ignore[no-untyped-def]
    babel.init_app(app, locale_selector=select_locale)
    app.register_blueprint(bp)

    @app.context_processor
    def language_context() -> dict:
        return {"current_language": str(get_locale() or "fr"),
                "languages": app.config["LANGUAGES"]}


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never redirect to another host (open-redirect guard)."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not any(ord(c) < 32 for c in target)):
        return target
    return default


@bp.post("/language")
def switch():  # type: ignore[no-untyped-def]
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")), code=303)
