"""Test fixtures: one application per test session on SQLite or PostgreSQL.

The database is chosen by ``PARVIS_TEST_DATABASE_URL`` (a PostgreSQL server URL; each test
session creates and later drops its own database on it) and is SQLite otherwise. In CI a
missing PostgreSQL is an error, never a skip (``PARVIS_REQUIRE_POSTGRES=1``).

The control plane is migrated with Alembic in setup, and two tenants, ``acme`` and
``globex``, are provisioned for isolation tests. Each test's database work is rolled back
afterwards (or deleted, for tests that span connections) and tenants it created are dropped, so
tests are independent in any order: see tests/fixtures/isolation.py. Shared fixtures and helpers
(sign-in, the cheap password hasher) are the ``tests.fixtures`` plugin.

E-mails of every app built with ``app_settings`` go over SMTP to one local sink per test
process (each xdist worker has its own); the ``outbox`` fixture gives a test the sink, emptied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import select

from core.clock import move_clock
from tenants import api as tenants_api
from tests import factories
from tests.mail_sink import SMTPSink
from webapp import db, migrate
from webapp.app import create_app
from webapp.models import Tenant

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
MAIL_SINK = SMTPSink()

pytest_plugins = ["tests.fixtures"]


def compile_translations() -> None:
    """Build the .mo files Flask-Babel loads (not committed) when missing or older than the .po."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source)
        # Write then rename: parallel test workers (xdist) never read a half-written file.
        partial = mo.with_name(f"{mo.name}.{os.getpid()}.tmp")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        partial.replace(mo)


def pytest_sessionstart(session: pytest.Session) -> None:
    compile_translations()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = os.environ.get("PARVIS_TEST_DATABASE_URL")
    if server:
        with factories.throwaway_database(server, "parvis_test") as url:
            yield url
    else:
        if os.environ.get("PARVIS_REQUIRE_POSTGRES") == "1":
            pytest.exit("PARVIS_REQUIRE_POSTGRES=1 but PARVIS_TEST_DATABASE_URL is not set", 3)
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'control.db'}"


@pytest.fixture(scope="session", autouse=True)
def mail_sink() -> Iterator[SMTPSink]:
    """The SMTP sink, started before any app is built (autouse runs first in its scope)."""
    MAIL_SINK.start()
    yield MAIL_SINK
    MAIL_SINK.stop()


class Clock:
    """Moves ``utcnow()`` (both planes, this process) forward: ``clock.advance(days=31)``."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
        move_clock(self.offset)


@pytest.fixture
def clock() -> Iterator[Clock]:
    moved = Clock()
    yield moved
    move_clock(timedelta(0))


@pytest.fixture
def outbox(mail_sink: SMTPSink) -> SMTPSink:
    """The SMTP sink, emptied: holds only the e-mails this test sends."""
    mail_sink.clear()
    return mail_sink


def app_settings(instance: Path, database_url: str, **extra: object) -> dict:
    return {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "TENANT_DATA_DIR": str(instance / "tenants"),
        "JOBS_BACKEND": "immediate",
        "SECRET_KEY": "test-secret-key",
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "DB_POOL_SIZE": 5,
        "MAIL_URL": MAIL_SINK.url,
        **extra,
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[Flask]:
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(app_settings(instance, database_url))
    with app.app_context():
        migrate.upgrade_control()
        for slug in factories.BASE_TENANTS:
            factories.tenant(slug, name=slug.capitalize())
        db.commit()
    yield app
    with app.app_context():
        for tenant in list(db.session().scalars(select(Tenant))):
            tenants_api.drop(tenant.slug)
        db.session().close()
        db.engine().dispose()
    tenants_api.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context for tests that call services directly."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


class StatementCounter:
    """Counts SQL statements sent to any database while active (``with counter:``)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.active = False

    def __enter__(self) -> StatementCounter:
        self.statements.clear()
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.active = False

    @property
    def count(self) -> int:
        return len(self.statements)

    def record(self, conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        # Transaction control is not a query (tenant files are attached on the raw driver
        # connection, which these events never see).
        if self.active and not statement.lstrip().upper().startswith(
                ("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK TO SAVEPOINT")):
            self.statements.append(statement)


@pytest.fixture
def statements() -> Iterator[StatementCounter]:
    """``with statements: client.get(...)`` then ``statements.count``: SQL sent meanwhile."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counter = StatementCounter()
    event.listen(Engine, "before_cursor_execute", counter.record)
    try:
        yield counter
    finally:
        event.remove(Engine, "before_cursor_execute", counter.record)
