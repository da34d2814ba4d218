"""Security headers on every response, a strict Content-Security-Policy htmx works under, one
guard against NUL characters in submitted text, and the signed session cookie.

htmx is served from our own static folder and configured (meta ``htmx-config``) to never eval
or inject inline styles, so the policy needs no 'unsafe-inline' nor 'unsafe-eval'.
"""

from __future__ import annotations

from itertools import chain

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from itsdangerous import URLSafeTimedSerializer

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
HSTS = "max-age=31536000; includeSubDomains"


def header_adder(headers: dict[str, str]):  # type: ignore[no-untyped-def]
    """An after-request hook adding ``headers`` (and no-store on HTML) unless a view set them.

    Names are lowered once here and the response's own names once per response: werkzeug's
    ``setdefault`` looks each name up case-insensitively and raises a KeyError when it is
    missing, which made this hook cost nearly a bare Flask request.
    """
    missing_unless_set = [(name.lower(), name, value) for name, value in headers.items()]

    def add_headers(response: Response) -> Response:
        present = {name.lower() for name, _value in response.headers}
        for lowered, name, value in missing_unless_set:
            if lowered not in present:
                response.headers.add(name, value)
        if "cache-control" not in present and response.mimetype == "text/html":
            response.headers.add("Cache-Control", "no-store")
        return response

    return add_headers


def refuse_nul_characters() -> Response | None:
    """Answer 400 to a query or form carrying a NUL character, before any view sees it.

    No field of ours needs one, PostgreSQL refuses them in text (a database error, i.e. a 500,
    deep inside whichever view received it), and they truncate strings in C libraries. One
    check here covers every form, hand-read parameter and future view at once.
    """
    environ = request.environ
    fields = chain(
        # Without a query string or a Content-Type there is nothing to parse (werkzeug parses
        # a form only for a form Content-Type), so the common GET skips building both.
        request.args.items(multi=True) if environ.get("QUERY_STRING") else (),
        request.form.items(multi=True) if environ.get("CONTENT_TYPE") else ())
    if any("\x00" in name or "\x00" in value for name, value in fields):
        return error_page(400, message=str(_l(
            "What you sent contains a character that is not allowed (a null character). "
            "Please remove it and try again.")))
    return None


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with the signing serializer built once per key set.

    Flask builds one to open and one to save the session on every request, and building one
    serialises a test value; the serializer keeps no state between uses.
    """

    _cached: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cached
        if cached is None or cached[0] != keys:
            cached = self._cached = (keys, super().get_signing_serializer(app))
        return cached[1]


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    app.before_request(refuse_nul_characters)
    headers = dict(HEADERS)
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = HSTS
    app.after_request(header_adder(headers))
