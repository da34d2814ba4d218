"""The shared web layer: security headers, security.txt, error pages, CSRF, language switch."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests import factories
from webapp import db
from webapp.auth.models import LoginFailure, LoginSession

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def header_directives(csp: str) -> dict[str, str]:
    return dict(part.strip().partition(" ")[::2] for part in csp.split(";"))


@pytest.mark.parametrize("path", ["/", "/login", "/t/acme/", "/no/such/page"])
def test_html_responses_carry_security_headers(client, path):
    response = client.get(path)
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    directives = header_directives(csp)
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer",
                                                   "strict-origin-when-cross-origin"}
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script_or_style(client):
    """The CSP forbids them, so a page that had one would be broken in the browser."""
    for path in ("/", "/login", "/t/acme/"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert "<style" not in page and " style=" not in page, path
        assert not re.search(r"\son[a-z]+=", page), path


def test_security_txt(client):
    response = client.get("/.well-known/security.txt")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    fields = dict(line.split(": ", 1) for line in response.get_data(as_text=True).splitlines())
    assert fields["Contact"].startswith(("mailto:", "https://"))
    expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    days_left = (expires - datetime.now(UTC)).days
    assert 30 < days_left <= 366  # RFC 9116: in the future, less than a year ahead
    assert fields["Preferred-Languages"] == "fr, en"
    assert fields["Canonical"].endswith("/.well-known/security.txt")
    assert fields["Policy"].endswith("/security")


def test_vulnerability_report_page_gives_the_contact(client, english):
    english(client)
    page = client.get("/security").get_data(as_text=True)
    assert 'href="mailto:security@parvis.example"' in page
    assert "Report a vulnerability" in page and "/.well-known/security.txt" in page


def test_404_is_a_full_page_or_an_htmx_fragment(client, english):
    english(client)
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "<html" in page.get_data(as_text=True)
    assert "Page not found" in page.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"]

    fragment = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    body = fragment.get_data(as_text=True)
    assert "Page not found" in body
    assert "<html" not in body and "<header" not in body
    assert fragment.headers["Content-Security-Policy"]


def test_unknown_tenant_is_404(client):
    assert client.get("/t/nobody/").status_code == 404
    assert client.get("/t/nobody/admin/participants").status_code == 404


def test_unhandled_error_gives_a_friendly_500_page(make_app, english):
    crashing = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    crashing.add_url_rule("/boom", view_func=boom)
    crashing.logger.disabled = True  # the traceback is expected; keep the test output clean
    client = english(crashing.test_client())

    response = client.get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "<html" in page
    assert "secret internal detail" not in page and "Traceback" not in page
    assert response.headers["X-Frame-Options"] == "DENY"

    fragment = client.get("/boom", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Something went wrong" in fragment
    assert "<html" not in fragment


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model))


def test_csrf_protects_forms_and_htmx_requests(app, make_app, english):
    guarded = make_app(WTF_CSRF_ENABLED=True)
    with guarded.app_context():
        factories.account("ada@acme.test")
    credentials = {"email": "ada@acme.test", "password": factories.PASSWORD}
    client = english(guarded.test_client())

    refused = client.post("/login", data=credentials)
    assert refused.status_code == 400
    assert "Form expired" in refused.get_data(as_text=True)
    assert count(app, LoginSession) == count(app, LoginFailure) == 0

    token = CSRF_FIELD.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={**credentials, "csrf_token": "forged"}).status_code == 400
    accepted = client.post("/login", data={**credentials, "csrf_token": token})
    assert accepted.status_code == 303
    assert count(app, LoginSession) == 1

    # htmx sends the token in a header (hx-headers on <body>), not in the form.
    htmx_client = english(guarded.test_client())
    page = htmx_client.get("/login").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    response = htmx_client.post("/login", data=credentials,
                                headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert response.status_code == 303
    assert count(app, LoginSession) == 2

    # A token from another browser's session does not work.
    stranger = guarded.test_client()
    assert stranger.post("/login", data={**credentials, "csrf_token": token}).status_code == 400


def test_csrf_protects_the_language_switch(make_app):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert client.post("/language", data={"lang": "en"}).status_code == 400
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)


def test_nul_characters_are_refused_before_any_view(app, client, english):
    english(client)
    response = client.post("/login", data={"email": "ada@acme.test\x00", "password": "x"})
    assert response.status_code == 400
    assert "null character" in response.get_data(as_text=True)
    assert count(app, LoginFailure) == 0  # the login view never ran

    query = client.get("/t/acme/", query_string={"page": "1\x00"})
    assert query.status_code == 400
    fragment = client.post("/language", data={"lang\x00": "en"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 400
    assert "<html" not in fragment.get_data(as_text=True)

    # Other control characters are ordinary text (a tab, a line break in a text area).
    response = client.post("/login", data={"email": "ada@acme.test\t", "password": "a\r\nb"})
    assert response.status_code == 422


def test_language_switch(client):
    response = client.post("/language", data={"lang": "en", "next": "/t/acme/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/t/acme/"
    assert '<html lang="en">' in client.get("/t/acme/").get_data(as_text=True)

    client.post("/language", data={"lang": "fr"})
    assert '<html lang="fr">' in client.get("/t/acme/").get_data(as_text=True)

    client.post("/language", data={"lang": "xx"})  # unknown: ignored
    assert '<html lang="fr">' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/",
                                    "/\\evil.example", "\t//evil.example", ""])
def test_language_switch_redirects_only_to_same_site_paths(client, target):
    response = client.post("/language", data={"lang": "en", "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_a_verified_session_cookie_is_kept_but_still_ages(app, monkeypatch):
    from core.web import security

    client = app.test_client()
    client.post("/language", data={"lang": "en", "next": "/"})
    interface = app.session_interface
    assert isinstance(interface, security.CookieSessions)
    client.get("/")  # the page adds its CSRF secret: the cookie changes once more
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    assert client.get_cookie("parvis_session").value in interface._opened  # verified, kept
    later = datetime.now(UTC).timestamp() + app.permanent_session_lifetime.total_seconds() + 60
    monkeypatch.setattr(security.time, "time", lambda: later)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert 'lang="fr"' in client.get("/").get_data(as_text=True)  # too old: a new session


def test_flashed_messages_show_once_with_kept_cookies(app, make_app, english):
    from flask import flash, get_flashed_messages

    flashing = make_app()

    @flashing.get("/flash-test")
    def flash_test():  # type: ignore[no-untyped-def]
        flash("hello")
        return "ok"

    @flashing.get("/read-test")
    def read_test():  # type: ignore[no-untyped-def]
        return ",".join(get_flashed_messages())

    client = flashing.test_client()
    client.get("/flash-test")
    assert client.get("/read-test").get_data(as_text=True) == "hello"
    assert client.get("/read-test").get_data(as_text=True) == ""


@pytest.mark.parametrize(("typed", "fr", "en"), [
    ("United States", "États-Unis", "United States"), ("germany", "Allemagne", "Germany"),
    ("Allemagne", "Allemagne", "Germany"), ("US", "États-Unis", "United States"),
    ("France", "France", "France"), ("Paris, France", "Paris, France", "Paris, France"),
    ("us", "us", "us"), ("", "", "")])
def test_countries_read_in_the_readers_language(app, typed: str, fr: str, en: str) -> None:
    from flask_babel import force_locale

    from core.web.i18n import country

    with app.test_request_context():
        for language, expected in (("fr", fr), ("en", en)):
            with force_locale(language):
                assert country(typed) == expected
