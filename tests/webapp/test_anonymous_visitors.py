"""A visitor without a user id in the session is nobody at once (core/extensions.Logins): no
hook or template makes Flask-Login hash the client (session protection) or load a user, and an
anonymous GET sends no statement about accounts or login sessions."""

from __future__ import annotations

import pytest
from flask import Flask

from core.extensions import login_manager
from tests import factories
from tests.fixtures.people import sign_in_member

PAGES = ("/", "/login", "/t/acme/", "/t/acme/events/{event}", "/t/acme/signup", "/t/acme/people")
USER_TABLES = ("accounts", "login_sessions", "memberships", "support_grants")


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What Flask-Login did: 'hash' for each session-protection hash, 'user' for each load."""
    done: list[str] = []
    hasher, loader = login_manager._session_identifier_generator, login_manager._user_callback
    assert loader is not None

    def hashed():  # type: ignore[no-untyped-def]
        done.append("hash")
        return hasher()

    def loaded(user_id: str):  # type: ignore[no-untyped-def]
        done.append("user")
        return loader(user_id)

    monkeypatch.setattr(login_manager, "_session_identifier_generator", hashed)
    monkeypatch.setattr(login_manager, "_user_callback", loaded)
    return done


@pytest.mark.parametrize("path", PAGES)
def test_an_anonymous_get_loads_no_user(app: Flask, statements, loads, path: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        path = path.format(event=factories.event("acme"))
    client = app.test_client()
    client.get(path)  # the session now holds the CSRF secret: no longer empty
    with statements:
        assert client.get(path).status_code == 200
    assert loads == []
    assert not [sql for sql in statements.statements
                if any(f"FROM {table}" in sql or f"JOIN {table}" in sql for table in USER_TABLES)]


def test_a_signed_in_member_is_still_loaded_and_checked(app: Flask, loads) -> None:  # type: ignore[no-untyped-def]
    client = sign_in_member(app.test_client(), "acme", "admin")
    loads.clear()
    assert client.get("/t/acme/admin/events").status_code == 200
    assert loads == ["hash", "user"]
