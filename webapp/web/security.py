"""Security headers on every response, a strict Content-Security-Policy htmx works under, and
one guard against NUL characters in submitted text.

htmx is served from our own static folder and configured (meta ``htmx-config``) to never eval
or inject inline styles, so the policy needs no 'unsafe-inline' nor 'unsafe-eval'.
"""

from __future__ import annotations

from itertools import chain

from flask import Flask, Response, request
from flask_babel import lazy_gettext as _l

from webapp.web.errors import error_page

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
])

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def refuse_nul_characters() -> Response | None:
    """Answer 400 to a query or form carrying a NUL character, before any view sees it.

    No field of ours needs one, PostgreSQL refuses them in text (a database error, i.e. a 500,
    deep inside whichever view received it), and they truncate strings in C libraries. One
    check here covers every form, hand-read parameter and future view at once.
    """
    fields = chain(request.args.items(multi=True), request.form.items(multi=True))
    if any("\x00" in name or "\x00" in value for name, value in fields):
        return error_page(400, message=str(_l(
            "What you sent contains a character that is not allowed (a null character). "
            "Please remove it and try again.")))
    return None


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.after_request(add_headers)
    if app.config.get("SESSION_COOKIE_SECURE"):
        @app.after_request
        def hsts(response: Response) -> Response:
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
            return response
