"""Error pages: a full page for browsers, the page's ``content`` block for htmx swaps.

An error page must not need the database, which may be what failed. Server errors (5xx) are
always rendered with ``errors/layout.html``, a layout that reads nothing but the request
(its cookie session gives the language; no banner, no signed-in account, no tenant setting)
and through no context processor. Client errors (4xx) get the site's full layout, with its
menus, unless rendering it fails: then the static layout too.

A database that cannot be reached or is busy (PostgreSQL down or restarting, a connection
lost, the pool exhausted, SQLite locked or unable to open its file) answers 503 with
``Retry-After``, never 500; the unit of work is not committed (``webapp.db.commit_request``
skips 5xx responses) and rolls back when its sessions close.
"""

from __future__ import annotations

import sqlite3
import sys

from flask import Flask, Response, current_app, g, make_response, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from core.extensions import htmx
from core.web.htmx import render, wants_fragment

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Please try again.")),
    401: (_l("Sign-in required"), _l("Please sign in to see this page.")),
    403: (_l("Access denied"), _l("Your account does not give access to this page.")),
    404: (_l("Page not found"), _l("This page does not exist or is no longer available.")),
    405: (_l("Not allowed"), _l("This action is not allowed here.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    429: (_l("Too many requests"), _l("Please wait a moment before trying again.")),
    500: (_l("Something went wrong"),
          _l("An unexpected error occurred. Nothing you saved has been lost; please try again.")),
    503: (_l("Temporarily unavailable"),
          _l("The service is overloaded or briefly unavailable. Nothing was saved by this "
             "request; please try again in a few seconds.")),
}

STATIC_LAYOUT, FULL_LAYOUT = "errors/layout.html", "layout.html"
DATABASE_DOWN = "parvis_database_down"  # in ``g`` once this request met an unavailable database

# SQLite's messages for a database that is busy or cannot be used right now (its other
# OperationalErrors, "no such table" and the like, are bugs: 500).
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "database is busy",
                       "unable to open database", "disk i/o error", "database or disk is full")


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) says the database cannot serve now, so that the
    same request may succeed later: 503, not a bug's 500."""
    for _depth in range(5):
        if error is None:
            return False
        if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
            return True  # no connection free in the pool; a connection that died on checkout
        if isinstance(error, sa_exc.DBAPIError):
            if error.connection_invalidated:
                return True
            original: BaseException | None = error.orig
        else:
            original = error
        if isinstance(original, sqlite3.OperationalError):
            return str(original).lower().startswith(_SQLITE_UNAVAILABLE)
        psycopg = sys.modules.get("psycopg")  # imported by SQLAlchemy's dialect when in use
        # psycopg's OperationalError: refused or lost connections, a server starting up or
        # shutting down, deadlocks, serialization failures, lock and statement timeouts.
        if psycopg is not None and isinstance(original, psycopg.OperationalError):
            return True
        error = error.__cause__ or error.__context__
    return False


def _static_page(code: int, context: dict) -> Response:
    """Render ``errors/error.html`` on the static layout, without context processors (they
    would load the signed-in account and offer banners that query the database)."""
    env = current_app.jinja_env
    template = env.get_template("errors/error.html")
    values = {"layout": STATIC_LAYOUT, "current_language": str(get_locale() or "fr"),
              "languages": current_app.config["LANGUAGES"],
              "shared": bool(request.environ.get("parvis.shared")), **context}
    if wants_fragment():
        body = env.concat(template.blocks["content"](template.new_context(values)))
    else:
        body = template.render(values)
    response = make_response(body, code)
    response.vary.add("HX-Request")
    return response


def error_page(code: int, *, title: str | None = None, message: str | None = None,
               retry_after: int | None = None,
               link: tuple[str, str] | None = None) -> Response:
    """``link``: (address, label) of the way out, shown under the message."""
    default_title, default_message = MESSAGES.get(code, MESSAGES[500])
    context = {"code": code, "title": title or default_title,
               "message": message or default_message, "link": link}
    response = None
    if code < 500 and not g.get(DATABASE_DOWN):
        try:
            response = render("errors/error.html", block="content", status=code,
                              layout=FULL_LAYOUT, **context)
        except Exception as error:
            if database_unavailable(error):
                return unavailable(error)
            current_app.logger.exception("error page %s: the full layout failed", code)
    if response is None:
        response = _static_page(code, context)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    if htmx:
        # An htmx form refused (read-only space, plan limit, expired form…) shows why in place
        # of the page's content, instead of failing without a word.
        response.headers.update({"HX-Retarget": "#main", "HX-Reswap": "innerHTML"})
    return response


def unavailable(error: BaseException | None = None) -> Response:
    """503 with ``Retry-After``: the database is unavailable, or the request was refused for
    load or lateness (``core.web.admission``)."""
    if database_unavailable(error):
        g.setdefault(DATABASE_DOWN, True)
        why = f"database unavailable: {error}".splitlines()[0]
    else:
        why = getattr(error, "reason", None) or "unavailable"
    current_app.logger.warning("503 on %s %s (%s)", request.method, request.path, why)
    return error_page(503, retry_after=current_app.config["RETRY_AFTER"])


def handle_http(exc: HTTPException):
    if exc.code is None or exc.code < 400:
        return exc
    if isinstance(exc, InternalServerError) and exc.original_exception is not None:
        # An exception no handler took: raised by an after-request hook (the commit), or a
        # handler gave it back.
        original = exc.original_exception
        if isinstance(original, HTTPException):
            return handle_http(original)
        if database_unavailable(original):
            return unavailable(original)
    if exc.code == 503:
        return unavailable(exc)
    if exc.code == 401 and request.method == "GET":
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
        if htmx:
            return Response(status=204, headers={"HX-Redirect": target})
        return redirect(target)
    return error_page(exc.code)


def handle_database_error(error: Exception):
    """A database error raised by a view or a hook: 503 if the database is unavailable;
    anything else is a bug, given back to Flask (logged, then the 500 page)."""
    if not database_unavailable(error):
        raise error
    return unavailable(error)


def handle_csrf(exc: CSRFError):
    return error_page(400, title=str(_l("Form expired")),
                      message=str(_l("The form expired or was sent from elsewhere. "
                                     "Reload the page and try again.")))


def _quiet_unavailable(log_exception):
    """Flask logs an exception no handler took (one raised by the commit, in an after-request
    hook) with its traceback; a refusal or an unavailable database is an expected event, which
    ``unavailable`` logs in one line."""

    def log(exc_info) -> None:
        error = exc_info[1]
        if not (isinstance(error, ServiceUnavailable) or database_unavailable(error)):
            log_exception(exc_info)

    return log


def init_app(app: Flask) -> None:
    app.log_exception = _quiet_unavailable(app.log_exception)  # type: ignore[method-assign]
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    # Unhandled exceptions reach this handler as InternalServerError (and are logged by Flask).
    app.register_error_handler(InternalServerError, handle_http)
    for error in (sa_exc.DBAPIError, sa_exc.TimeoutError, sa_exc.DisconnectionError,
                  sa_exc.PendingRollbackError, sqlite3.OperationalError):
        app.register_error_handler(error, handle_database_error)
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:  # raw driver errors (an engine event runs on the driver)
        app.register_error_handler(psycopg.OperationalError, handle_database_error)
