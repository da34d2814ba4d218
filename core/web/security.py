"""Security headers on every response, a strict Content-Security-Policy htmx works under, one
guard against NUL characters in submitted text, and the signed session cookie.

htmx is served from our own static folder and configured (meta ``htmx-config``) to never eval
or inject inline styles, so the policy needs no 'unsafe-inline' nor 'unsafe-eval'.
"""

from __future__ import annotations

import time
from itertools import chain

from flask import Flask, Request, Response, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.kept import Kept
from core.web.errors import error_page

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


def header_adder(headers: dict[str, str]):
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


class CsrfTokens:
    """Flask-WTF's signed CSRF token for this request, signed once per session secret.

    Flask-WTF builds a serializer and signs the session's secret (JSON, zlib, HMAC) on every
    page. With ``WTF_CSRF_TIME_LIMIT`` off, the token it checks carries no expiry, so the
    token signed for a secret stays valid as long as that secret: one is kept per secret
    (bounded, oldest out first) and handed out again, in ``g`` where Flask-WTF looks first.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._signed: Kept[tuple[str, str], str] = Kept(self.MAX_ENTRIES)

    def __call__(self) -> str:
        token = g.get("csrf_token")
        if token is not None:
            return token
        raw, key = session.get("csrf_token"), current_app.secret_key
        if not isinstance(raw, str) or not isinstance(key, str):  # Flask-WTF sets or refuses
            return generate_csrf()
        token = self._signed.get((key, raw))
        if token is None:
            token = generate_csrf()
            self._signed.put((key, raw), token)
        g.csrf_token = token
        return token


csrf_token = CsrfTokens()


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with the costs of an unchanged cookie paid once.

    * The signing serializer is built once per key set (Flask builds one to open and one to
      save the session on every request, and building one serialises a test value).
    * A cookie already verified is not verified again: the same bytes under the same keys
      give the same contents, so a bounded map from cookie to (contents, time signed) skips
      the HMACs, base64 and JSON of each page; the age limit is still checked on every
      request. Only flat sessions (strings, numbers) are kept, since a request may mutate a
      nested value (the list of flashed messages) in place.
    * A session nobody modified skips the cookie settings Flask reads before deciding, in the
      end, to set no cookie.
    """

    MAX_OPENED = 10_000

    _cached: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def __init__(self) -> None:
        self._opened: Kept[str, tuple[dict[str, object], float]] = Kept(self.MAX_OPENED)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cached
        if cached is None or cached[0] != keys:
            self._opened.clear()  # verified under other keys
            cached = self._cached = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = app.permanent_session_lifetime.total_seconds()
        opened = self._opened.get(value)
        if opened is None or time.time() - opened[1] > max_age:
            try:
                data, signed = serializer.loads(value, max_age=int(max_age),
                                                return_timestamp=True)
            except BadSignature:
                return self.session_class()
            opened = (data, signed.timestamp())
            if all(isinstance(item, str | int | float | bool) for item in data.values()):
                self._opened.put(value, opened)
        return self.session_class(opened[0])  # a copy: flat values are immutable

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        accessed = session.accessed  # before reading ``permanent``, a read of the session
        if session.modified or (app.config["SESSION_REFRESH_EACH_REQUEST"] and session.permanent):
            super().save_session(app, session, response)
        elif accessed:
            response.vary.add("Cookie")


def init_app(app: Flask) -> None:
    app.session_interface = CookieSessions()
    # Flask-WTF's context processor also offers ``csrf_token``; a later processor wins.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
    app.before_request(refuse_nul_characters)
    headers = dict(HEADERS)
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = HSTS
    app.after_request(header_adder(headers))
