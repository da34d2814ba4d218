"""The shared request path's shortcuts keep their guarantees.

The registry cache shows a status change made in this process on the next request, one made by
another process of the instance folder on the next request too, and one made elsewhere (SQL by
hand, another host) within its time to live; on SQLite a tenant's file stays attached to a pooled
connection between units of work, never beside another; on PostgreSQL a pooled connection the
server has closed is replaced, without a ping on every checkout; a template's cached catalogue
follows the request's language.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import create_engine, text, update
from sqlalchemy.pool import NullPool

from core import kept
from tenants import api as tenants_api
from tenants import db as tenant_db
from tests import factories
from webapp import db, tenancy
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant, TenantStatus


def set_status_with_orm(app: Flask, slug: str, status: TenantStatus) -> None:
    with app.app_context():
        org_services.set_status(db.session(), org_services.get(db.session(), slug), status)
        db.commit()


@pytest.fixture
def acme_reopened(app: Flask):  # type: ignore[no-untyped-def]
    yield
    set_status_with_orm(app, "acme", TenantStatus.ACTIVE)


def test_a_cached_tenant_page_sends_no_registry_query(client, statements) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/t/acme/").status_code == 200
    with statements:
        assert client.get("/t/acme/").status_code == 200
    assert not [sql for sql in statements.statements if "tenants" in sql]


def test_a_status_change_through_the_orm_shows_on_the_next_request(
        app, client, acme_reopened) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/t/acme/").status_code == 200
    set_status_with_orm(app, "acme", TenantStatus.SUSPENDED)
    assert client.get("/t/acme/").status_code == 403
    assert client.get("/t/globex/").status_code == 200


def test_a_status_change_by_update_statement_shows_on_the_next_request(
        app, client, acme_reopened) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/t/acme/").status_code == 200
    with app.app_context():
        db.session().execute(update(Tenant).where(Tenant.slug == "acme")
                             .values(status=TenantStatus.SUSPENDED))
        db.commit()
    assert client.get("/t/acme/").status_code == 403


@pytest.mark.spans_connections  # another process commits
def test_a_change_made_by_another_worker_shows_on_the_next_request(
        app, client, acme_reopened) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/t/acme/").status_code == 200
    assert client.get("/t/acme/").status_code == 200  # served with the row kept
    factories.in_another_process(app, """
        from webapp.organisations import services as org
        org.set_status(db.session(), org.get(db.session(), "acme"), org.TenantStatus.SUSPENDED)
        db.commit()
    """)
    assert client.get("/t/acme/").status_code == 403


@pytest.mark.spans_connections  # a statement on the engine, as SQL typed by hand
def test_a_change_made_by_hand_shows_once_the_entry_expires(
        app, client, acme_reopened, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/t/acme/").status_code == 200
    # SQL outside any session of any process of the folder: as typed by hand, or another host.
    with app.app_context(), db.engine().begin() as conn:
        conn.execute(update(Tenant).where(Tenant.slug == "acme")
                     .values(status=TenantStatus.SUSPENDED))
    later = kept.time.monotonic() + tenancy.TenantCache.CACHE_SECONDS + 0.1
    monkeypatch.setattr(kept.time, "monotonic", lambda: later)
    assert client.get("/t/acme/").status_code == 403


@pytest.mark.spans_connections  # a statement on the engine, as another process
def test_a_tenant_still_provisioning_is_not_cached(app, client) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session().add(Tenant(slug="newcomer", name="Newcomer",
                                status=TenantStatus.PROVISIONING))
        db.commit()
    assert client.get("/t/newcomer/").status_code == 404
    tenants_api.provision("newcomer", None)
    with app.app_context(), db.engine().begin() as conn:  # unseen by this process's sessions
        conn.execute(update(Tenant).where(Tenant.slug == "newcomer")
                     .values(status=TenantStatus.ACTIVE))
    assert client.get("/t/newcomer/").status_code == 200


@pytest.mark.spans_connections  # what the pool hands out
def test_sqlite_tenant_files_stay_attached_between_units_of_work(
        ctx, is_postgres) -> None:  # type: ignore[no-untyped-def]
    if is_postgres:
        pytest.skip("tenant files are SQLite's")

    def connection_for(slug: str) -> int:
        with tenants_api.tenant_context(slug) as session:
            conn = session.connection()
            attached = conn.exec_driver_sql("PRAGMA database_list").all()
            assert [row[1] for row in attached if row[1] not in ("main", "temp")] == [
                tenant_db.schema_for(slug)]
            return id(conn.connection.driver_connection)

    acme, globex = connection_for("acme"), connection_for("globex")
    assert acme != globex
    assert connection_for("acme") == acme
    assert connection_for("globex") == globex


def test_postgresql_replaces_a_connection_the_server_closed(
        ctx, is_postgres) -> None:  # type: ignore[no-untyped-def]
    if not is_postgres:
        pytest.skip("a PostgreSQL server ends the connection")
    engine = db.engine()
    with engine.connect() as conn:
        victim = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    # From outside the pool, so that the victim waits in it, idle, as between two requests.
    admin = create_engine(engine.url, poolclass=NullPool)
    with admin.connect() as conn:
        # The pid cast to int: Citus adds a bigint overload, and psycopg sends a small int
        # as smallint, which matches both.
        assert conn.execute(text("SELECT pg_terminate_backend(CAST(:pid AS integer), 5000)"),
                            {"pid": victim}).scalar()
    admin.dispose()
    for _checkout in range(engine.pool.size() + 1):  # the victim is among the next ones
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != victim


def test_a_macro_imported_without_context_follows_each_request_language(app) -> None:  # type: ignore[no-untyped-def]
    # Jinja keeps such a macro module, with its evaluation context, for the process's life:
    # the catalogue cached for a render must not outlive the locale it was fetched for.
    french, english = app.test_client(), app.test_client()
    with english.session_transaction() as session:
        session["lang"] = "en"
    for _visit in range(2):
        assert "(obligatoire)" in french.get("/login").get_data(as_text=True)
        assert "(required)" in english.get("/login").get_data(as_text=True)
