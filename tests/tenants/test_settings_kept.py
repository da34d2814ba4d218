"""The settings row kept per process for units of work that only read (tenants/keeping.py,
``tenants.settings.services.kept``): read once, shown changed at the next read after a change
commits in this process or another worker of the instance folder, and within its lifetime
after SQL typed by hand."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import update

from core import kept
from tenants import api as tenants_api
from tenants.settings import services as settings
from tenants.settings.models import Settings
from tests import factories


def read(app: Flask) -> str:
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        row = settings.get(session)
        assert row not in session  # the process's copy, not the session's row
        return row.max_visibility


def change(app: Flask, value: str) -> None:
    with app.app_context(), tenants_api.tenant_context("acme", writer=True) as session:
        settings.ensure(session).max_visibility = value


@pytest.fixture(autouse=True)
def participants_only(app: Flask) -> None:
    change(app, "participants")


def test_a_read_asks_the_database_once(app: Flask, statements) -> None:  # type: ignore[no-untyped-def]
    read(app)
    with statements:
        assert read(app) == "participants"
    assert not [sql for sql in statements.statements if "settings" in sql]


def test_a_change_shows_at_the_next_read(app: Flask) -> None:
    assert read(app) == "participants"
    change(app, "public")
    assert read(app) == "public"


def test_a_rolled_back_change_is_never_read(app: Flask) -> None:
    assert read(app) == "participants"
    with pytest.raises(RuntimeError), app.app_context(), \
            tenants_api.tenant_context("acme", writer=True) as session:
        settings.ensure(session).max_visibility = "public"
        session.flush()
        raise RuntimeError("rolled back")
    assert read(app) == "participants"


@pytest.mark.spans_connections  # another process commits
def test_a_change_by_another_worker_shows_at_the_next_read(app: Flask) -> None:
    assert read(app) == "participants"
    factories.in_another_process(app, """
        from tenants.settings import services as settings
        with tenants_api.tenant_context("acme", writer=True) as session:
            settings.ensure(session).max_visibility = "public"
    """)
    assert read(app) == "public"


@pytest.mark.spans_connections  # another process commits
def test_other_writes_by_another_worker_keep_the_row(app: Flask, statements) -> None:  # type: ignore[no-untyped-def]
    read(app)
    factories.in_another_process(app, """
        tenants_api.add_participant("acme", email="other.worker@example.org",
                                    first_name="Other", last_name="Worker")
    """)
    with statements:
        read(app)
    assert not [sql for sql in statements.statements if "settings" in sql]


def test_sql_by_hand_shows_once_the_copy_expires(app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert read(app) == "participants"
    with app.app_context(), tenants_api.tenant_context("acme", writer=True) as session:
        session.connection().execute(update(Settings.__table__).values(max_visibility="public"))
    assert read(app) == "participants"  # no session event saw it
    later = kept.time.monotonic() + settings.kept.seconds + 1
    monkeypatch.setattr(kept.time, "monotonic", lambda: later)
    assert read(app) == "public"
