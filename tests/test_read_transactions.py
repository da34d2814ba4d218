"""On PostgreSQL a unit of work that only reads sends no BEGIN and no COMMIT, and one that writes
is as atomic as before (core/db.py, ``_transactions_begin_when_needed``).

The driver connection's transaction status tells what psycopg sent: IDLE after a statement
means it ran outside a transaction, INTRANS that psycopg began one before it. The tests use a
tenant made here, reached as in production (the base tenants run inside the test's own
transaction)."""

from __future__ import annotations

import pytest
from flask import Flask
from psycopg.pq import TransactionStatus
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tenants import api as tenants_api
from tenants.settings.models import Settings
from tests import factories

SLUG = "lazy-begin"


@pytest.fixture
def tenant(app: Flask, is_postgres: bool) -> str:
    if not is_postgres:
        pytest.skip("PostgreSQL's transactions (SQLite's are core/db.py's write lock)")
    with app.app_context():
        factories.tenant(SLUG)
    return SLUG


def status(session: Session) -> TransactionStatus:
    return session.connection().connection.driver_connection.info.transaction_status


def visibility(app: Flask) -> str:
    with app.app_context(), tenants_api.tenant_context(SLUG) as session:
        return session.scalar(select(Settings.max_visibility))


def test_reads_run_outside_a_transaction(app: Flask, tenant: str) -> None:
    with app.app_context(), tenants_api.tenant_context(tenant) as session:
        assert session.scalar(select(Settings.id)) == 1
        assert session.scalar(select(Settings.languages)) is not None
        assert status(session) == TransactionStatus.IDLE


def test_a_read_unit_that_writes_begins_at_its_first_write_and_stays_atomic(
        app: Flask, tenant: str) -> None:
    before = visibility(app)
    with pytest.raises(RuntimeError), app.app_context(), \
            tenants_api.tenant_context(tenant) as session:
        session.scalar(select(Settings.id))
        session.execute(update(Settings).values(max_visibility="public"))
        assert status(session) == TransactionStatus.INTRANS
        session.scalar(select(Settings.id))  # later reads are inside the transaction
        assert status(session) == TransactionStatus.INTRANS
        raise RuntimeError("rolled back")
    assert visibility(app) == before
    with app.app_context(), tenants_api.tenant_context(tenant) as session:
        session.scalar(select(Settings.id))
        session.execute(update(Settings).values(max_visibility="public"))
    assert visibility(app) == "public"


@pytest.mark.parametrize("statement", [
    select(Settings.id).with_for_update(),
    select(Settings.id).with_for_update(read=True),
    text("SELECT pg_advisory_xact_lock(42)"),
])
def test_locks_taken_by_a_read_unit_last_until_its_end(
        app: Flask, tenant: str, statement: object) -> None:
    with app.app_context(), tenants_api.tenant_context(tenant) as session:
        session.execute(statement)  # type: ignore[call-overload]
        assert status(session) == TransactionStatus.INTRANS


def test_a_server_side_cursor_gets_its_transaction(app: Flask, tenant: str) -> None:
    with app.app_context(), tenants_api.tenant_context(tenant) as session:
        rows = session.execute(select(Settings.id).execution_options(yield_per=10)).all()
        assert len(rows) == 1


def test_a_unit_that_declared_it_writes_begins_before_its_first_read(
        app: Flask, tenant: str) -> None:
    with app.app_context(), tenants_api.tenant_context(tenant, writer=True) as session:
        session.scalar(select(Settings.id))
        assert status(session) == TransactionStatus.INTRANS


def test_a_writer_after_a_page_on_the_same_connection_gets_its_transaction(
        app: Flask, client, tenant: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"/t/{tenant}/").status_code == 200  # leaves autocommit on
    with app.app_context(), tenants_api.tenant_context(tenant, writer=True) as session:
        session.scalar(select(Settings.id))
        assert status(session) == TransactionStatus.INTRANS
