"""Error pages: a full page for browsers, the page's ``content`` block for htmx swaps."""

from __future__ import annotations

from flask import Flask, Response, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.extensions import htmx
from webapp.web.htmx import render

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
}


def error_page(code: int, *, title: str | None = None, message: str | None = None,
               retry_after: int | None = None,
               link: tuple[str, str] | None = None):  # type: ignore[no-untyped-def]
    """``link``: (address, label) of the way out, shown under the message."""
    default_title, default_message = MESSAGES.get(code, MESSAGES[500])
    response = render("errors/error.html", block="content", status=code, code=code,
                      title=title or default_title, message=message or default_message,
                      link=link)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    if htmx:
        # An htmx form refused (read-only space, plan limit, expired form…) shows why in place
        # of the page's content, instead of failing without a word.
        response.headers.update({"HX-Retarget": "#main", "HX-Reswap": "innerHTML"})
    return response


def handle_http(exc: HTTPException):  # type: ignore[no-untyped-def]
    if exc.code is None or exc.code < 400:
        return exc
    if exc.code == 401 and request.method == "GET":
        target = url_for("auth.login", next=request.full_path.rstrip("?"))
        if htmx:
            return Response(status=204, headers={"HX-Redirect": target})
        return redirect(target)
    return error_page(exc.code)


def handle_csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
    return error_page(400, title=str(_l("Form expired")),
                      message=str(_l("The form expired or was sent from elsewhere. "
                                     "Reload the page and try again.")))


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    # Unhandled exceptions reach this handler as InternalServerError (and are logged by Flask).
    app.register_error_handler(InternalServerError, handle_http)
