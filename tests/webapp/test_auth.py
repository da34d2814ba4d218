"""Login, logout and login sessions: argon2id, throttling, no enumeration, no open redirect."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from core.clock import utcnow
from tests import factories
from webapp import db
from webapp.auth import services
from webapp.auth.models import Account, LoginSession
from webapp.organisations.models import Tenant

EMAIL = "ada@acme.test"


def without_csrf_token(response) -> str:  # type: ignore[no-untyped-def]
    """The page with its CSRF token blanked: the token is timestamped, so it changes each second."""
    page = response.get_data(as_text=True)
    assert factories.CSRF_TOKEN.search(page)
    return factories.without_csrf_tokens(page)


def session_cookie(client) -> str:  # type: ignore[no-untyped-def]
    cookie = client.get_cookie("parvis_session")
    assert cookie is not None
    return cookie.value


def login_id(client) -> str:  # type: ignore[no-untyped-def]
    """The Flask-Login id (``m:<token>``) a signed-in client holds."""
    with client.session_transaction() as session:
        return session["_user_id"]


def signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    return False


def test_good_credentials_open_a_session(app, client):
    with app.app_context():
        factories.account(EMAIL)
    assert not signed_in(client)

    response = factories.login(client, EMAIL)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert signed_in(client)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(LoginSession)) == 1


def test_passwords_are_hashed_with_argon2id(ctx):
    account = factories.account(EMAIL)
    assert account.password_hash.startswith("$argon2id$")
    assert factories.PASSWORD not in account.password_hash


def test_unknown_email_and_wrong_password_look_the_same(app, client, english, monkeypatch):
    """Same status, same page, and one argon2 verification each: nothing tells them apart."""
    english(client)
    verify_calls = []
    real_verify = PasswordHasher.verify

    def spy(self, hash, password):  # type: ignore[no-untyped-def]
        verify_calls.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)

    unknown = factories.login(client, EMAIL, "some password")
    assert len(verify_calls) == 1
    with app.app_context():
        factories.account(EMAIL)
    wrong = factories.login(client, EMAIL, "some password")
    assert len(verify_calls) == 2

    assert unknown.status_code == wrong.status_code == 422
    assert without_csrf_token(unknown) == without_csrf_token(wrong)
    assert "E-mail address or password is incorrect." in wrong.get_data(as_text=True)
    assert not signed_in(client)


def test_inactive_account_cannot_sign_in(app, client, english):
    with app.app_context():
        account = factories.account(EMAIL)
        account.is_active = False
        db.commit()
    response = factories.login(english(client), EMAIL)
    assert response.status_code == 422
    assert "E-mail address or password is incorrect." in response.get_data(as_text=True)
    assert not signed_in(client)


def test_throttling_refuses_even_the_right_password(app, client):
    with app.app_context():
        factories.account(EMAIL)
        factories.account("grace@acme.test")
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = client.post("/login", data={"email": EMAIL, "password": "guess"},
                               environ_base=attacker)
        assert response.status_code == 422

    refused = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD},
                          environ_base=attacker)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert not signed_in(client)

    # Throttling is per e-mail: someone else, elsewhere, is not locked out.
    other = app.test_client()
    response = other.post("/login", data={"email": "grace@acme.test",
                                          "password": factories.PASSWORD},
                          environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert response.status_code == 303
    assert signed_in(other)


def test_logout_ends_the_session_for_a_replayed_cookie(app, client):
    with app.app_context():
        factories.account(EMAIL)
    factories.login(client, EMAIL)
    stolen = session_cookie(client)

    replay = app.test_client()
    replay.set_cookie("parvis_session", stolen)
    assert signed_in(replay)  # the copied cookie works while the session is open

    assert client.post("/logout").status_code == 303
    assert not signed_in(client)

    replay = app.test_client()
    replay.set_cookie("parvis_session", stolen)
    assert not signed_in(replay)


def test_logout_is_post_only(app, client):
    with app.app_context():
        factories.account(EMAIL)
    factories.login(client, EMAIL)
    assert client.get("/logout").status_code == 405
    assert signed_in(client)


def test_password_change_ends_other_sessions_only(app, client):
    with app.app_context():
        account_id = factories.account(EMAIL).id
    laptop, phone = client, app.test_client()
    factories.login(laptop, EMAIL)
    factories.login(phone, EMAIL)

    with app.app_context():
        account = db.session().get(Account, account_id)
        account.login_id = login_id(laptop)  # the password is changed from the laptop
        services.change_password(db.session(), account, "a brand new passphrase 42")
        db.commit()

    assert signed_in(laptop)
    assert not signed_in(phone)
    assert factories.login(app.test_client(), EMAIL).status_code == 422
    assert factories.login(app.test_client(), EMAIL,
                           "a brand new passphrase 42").status_code == 303


def test_expired_login_session_does_not_authenticate(app, client):
    with app.app_context():
        factories.account(EMAIL)
    factories.login(client, EMAIL)
    assert signed_in(client)
    with app.app_context():
        db.session().execute(update(LoginSession).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert not signed_in(client)


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/",
                                    "/\\evil.example", "/\t/evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(app, client, target):
    with app.app_context():
        factories.account(EMAIL)
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD,
                                           "next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"


def test_login_honours_a_same_site_next(app, client):
    with app.app_context():
        factories.member("acme", EMAIL, "viewer")
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD,
                                           "next": "/t/acme/admin/participants"})
    assert response.headers["Location"] == "/t/acme/admin/participants"
    assert client.get(response.headers["Location"]).status_code == 200


def test_protected_tenant_page_sends_signed_out_visitors_to_login(client):
    response = client.get("/t/acme/admin/participants?page=2")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/t/acme/admin/participants?page=2"]

    # The login form carries the target on to the POST.
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/t/acme/admin/participants?page=2"' in page


@pytest.mark.parametrize("path", ["/account", "/ops/tenants", "/t/acme/admin/participants"])
def test_htmx_request_while_signed_out_redirects_the_whole_page(client, path):
    """A plain redirect would swap the login page into a fragment's target."""
    response = client.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 204
    location = urlsplit(response.headers["HX-Redirect"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path]


def test_signed_out_post_to_a_protected_action_is_401(app, client):
    response = client.post("/ops/tenants", data={"name": "X", "slug": "xx"})
    assert response.status_code == 401
    assert "<html" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Tenant)) == 2
