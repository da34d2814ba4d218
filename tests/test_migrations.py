"""Migrations: both planes match their models, and the tenant fleet runner resumes and repeats.

Tenants created here are dropped by the cleanup in conftest after each test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from sqlalchemy import Connection, MetaData, Table, inspect, select

from tenants import api as tenants_api
from tests import factories
from webapp import db, migrate
from webapp.models import ControlBase, Tenant
from webapp.organisations import services as org_services

pytestmark = pytest.mark.spans_connections  # migrations run on the engines and in worker processes

# --- helpers -------------------------------------------------------------------------------


def schema_diff(conn: Connection, metadata: MetaData, schema: str | None = None) -> list:
    """Alembic's autogenerate diff between ``metadata`` and the database (one schema of it)."""
    opts: dict[str, Any] = {"compare_type": True}
    if schema is not None:
        # Compare that schema only, with its own version table left out like the default one.
        opts.update(include_schemas=True, version_table_schema=schema,
                    include_name=lambda name, kind, _: kind != "schema" or name == schema)
        placed = MetaData(naming_convention=metadata.naming_convention)
        for table in metadata.sorted_tables:
            table.to_metadata(placed, schema=schema)
        metadata = placed
    return compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)


def with_tenant_connection(slug: str, use: Callable[[Connection, str | None], Any]) -> Any:
    """Run ``use(conn, schema)`` on a connection that sees the tenant's tables directly."""
    engine, schema = tenants_api.migration_connection_url(slug)
    try:
        with engine.connect() as conn:
            return use(conn, schema)
    finally:
        if engine is not db.engine():
            engine.dispose()


def shape(conn: Connection, schema: str | None) -> dict[str, dict[str, Any]]:
    """Every table of the tenant with its columns, keys, indexes and foreign keys, by name."""
    insp = inspect(conn)
    return {table: {
        # Sorted: a column added by a later migration comes last, where create_all puts it
        # in model order.
        "columns": sorted((c["name"], str(c["type"]), c["nullable"])
                          for c in insp.get_columns(table, schema=schema)),
        "primary key": insp.get_pk_constraint(table, schema=schema),
        "unique": sorted((u["name"], tuple(u["column_names"]))
                         for u in insp.get_unique_constraints(table, schema=schema)),
        "indexes": sorted((i["name"], tuple(i["column_names"]), i["unique"])
                          for i in insp.get_indexes(table, schema=schema)),
        "foreign keys": sorted((f["name"], tuple(f["constrained_columns"]), f["referred_table"],
                                tuple(f["referred_columns"]))
                               for f in insp.get_foreign_keys(table, schema=schema)),
    } for table in sorted(insp.get_table_names(schema=schema))}


def revision_of(conn: Connection, schema: str | None) -> str | None:
    opts = {"version_table_schema": schema} if schema else {}
    return MigrationContext.configure(conn, opts=opts).get_current_revision()


def schema_revision(slug: str) -> str | None:
    return with_tenant_connection(slug, revision_of)


def registry_revision(slug: str) -> str | None:
    with db.engine().connect() as conn:
        return conn.scalar(select(Tenant.schema_revision).where(Tenant.slug == slug))


def tenants_at_base(*slugs: str) -> None:
    """Provision tenants, then take them back to an empty schema as if created long ago."""
    for slug in slugs:
        factories.tenant(slug)
        migrate.migrate_tenant(slug, "base", downgrade=True)
        migrate.record_revision(slug, None)


def tenant_storage(app: Flask, is_postgres: bool) -> set[str]:
    """What holds tenant data: schema names (PostgreSQL) or tenant files (SQLite)."""
    if is_postgres:
        with db.engine().connect() as conn:
            return set(inspect(conn).get_schema_names())
    return {p.name for p in Path(app.config["TENANT_DATA_DIR"]).iterdir()}


def registry(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session().scalars(select(Tenant.slug)))


# --- both planes match their models --------------------------------------------------------


def test_control_plane_at_head_matches_the_models(ctx: Flask) -> None:
    with db.engine().connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == migrate.head("control")
        assert schema_diff(conn, ControlBase.metadata) == []


def drop_version_table(conn: Connection, schema: str | None) -> None:
    Table("alembic_version", MetaData(), schema=schema).drop(conn)
    conn.commit()


def test_provisioned_and_migrated_tenants_have_the_same_schema(ctx: Flask) -> None:
    factories.tenant("provisioned")
    # An empty schema, as if made by hand: downgraded to base, version table removed too.
    tenants_at_base("upgraded")
    assert with_tenant_connection("upgraded", shape).keys() == {"alembic_version"}
    with_tenant_connection("upgraded", drop_version_table)
    assert with_tenant_connection("upgraded", shape) == {}
    migrate.migrate_tenant("upgraded")

    head = migrate.head("tenant")
    for slug in ("provisioned", "upgraded"):
        assert schema_revision(slug) == head
        assert with_tenant_connection(
            slug, lambda conn, schema: schema_diff(conn, tenants_api.metadata, schema)) == []
    provisioned = with_tenant_connection("provisioned", shape)
    assert provisioned.keys() == {"alembic_version", *tenants_api.metadata.tables}
    assert provisioned == with_tenant_connection("upgraded", shape)


# --- the fleet runner ----------------------------------------------------------------------

FLEET = tuple(f"fleet-{n}" for n in range(1, 6))


def test_fleet_run_goes_past_a_failing_tenant_and_the_next_run_finishes(
        ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    tenants_at_base(*FLEET)
    failing = FLEET[2]
    real = migrate.migrate_schema

    def flaky(conn: Connection, slug: str, *args: Any, **kwargs: Any) -> str:
        revision = real(conn, slug, *args, **kwargs)
        if slug == failing:  # after its DDL: the tenant's savepoint (or file) is rolled back
            raise RuntimeError("injected failure")
        return revision

    monkeypatch.setattr(migrate, "migrate_schema", flaky)
    # One batch: the failing tenant's neighbours in its transaction are migrated all the same.
    report = migrate.migrate_fleet(ctx, jobs=1, progress=False, batch=len(FLEET))
    assert report.pending == len(FLEET)
    assert report.failed.keys() == {failing}
    assert "injected failure" in report.failed[failing]
    assert report.migrated == [s for s in FLEET if s != failing]
    head = migrate.head("tenant")
    for slug in FLEET:
        expected = None if slug == failing else head
        assert (registry_revision(slug), schema_revision(slug)) == (expected, expected)

    monkeypatch.undo()
    report = migrate.migrate_fleet(ctx, jobs=1, progress=False)
    assert (report.pending, report.migrated, report.failed) == (1, [failing], {})
    assert (registry_revision(failing), schema_revision(failing)) == (head, head)

    report = migrate.migrate_fleet(ctx, jobs=1, progress=False)
    assert (report.pending, report.migrated, report.failed) == (0, [], {})


def test_fleet_run_interrupted_at_tenant_k_resumes_where_it_stopped(
        ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    tenants_at_base(*FLEET)
    real = migrate.migrate_schema

    def interrupted(conn: Connection, slug: str, *args: Any, **kwargs: Any) -> str:
        if slug == FLEET[3]:
            raise KeyboardInterrupt  # Ctrl-C: not a per-tenant failure, the run stops
        return real(conn, slug, *args, **kwargs)

    monkeypatch.setattr(migrate, "migrate_schema", interrupted)
    with pytest.raises(KeyboardInterrupt):
        migrate.migrate_fleet(ctx, jobs=1, progress=False, batch=2)
    # The first batch was committed and recorded; the interrupted one left nothing recorded.
    assert [registry_revision(s) is not None for s in FLEET] == [True, True, False, False, False]

    monkeypatch.undo()
    report = migrate.migrate_fleet(ctx, jobs=1, progress=False)
    assert (report.pending, report.migrated, report.failed) == (3, list(FLEET[2:]), {})
    assert {schema_revision(s) for s in FLEET} == {migrate.head("tenant")}
    assert {registry_revision(s) for s in FLEET} == {migrate.head("tenant")}


def test_fleet_runs_in_parallel_worker_processes(ctx: Flask) -> None:
    slugs = FLEET[:4]
    tenants_at_base(*slugs)
    report = migrate.migrate_fleet(ctx, jobs=2, progress=False)
    assert report.failed == {}
    assert (report.pending, sorted(report.migrated)) == (4, list(slugs))
    head = migrate.head("tenant")
    for slug in slugs:
        assert (registry_revision(slug), schema_revision(slug)) == (head, head)
        assert tenants_api.count_participants(slug) == 0  # the table is back and usable


def test_fleet_connection_is_replaced_every_n_schemas(
        ctx: Flask, is_postgres: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection migrates at most RECYCLE_SCHEMAS schemas (its server process keeps the
    catalog of every schema it touched); batches on one connection otherwise."""
    if not is_postgres:
        pytest.skip("SQLite tenants are files, each migrated on a connection of its own")
    tenants_at_base(*FLEET)
    monkeypatch.setattr(migrate, "RECYCLE_SCHEMAS", 2)
    real, backends = migrate.migrate_schema, []

    def watched(conn: Connection, slug: str, *args: Any, **kwargs: Any) -> str:
        backends.append(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
        return real(conn, slug, *args, **kwargs)

    monkeypatch.setattr(migrate, "migrate_schema", watched)
    report = migrate.migrate_fleet(ctx, jobs=1, progress=False, batch=1)
    assert (report.failed, len(report.migrated)) == ({}, len(FLEET))
    assert [backends.index(pid) for pid in backends] == [0, 0, 2, 2, 4]


# --- the command line and hostile slugs ----------------------------------------------------

HOSTILE_SLUGS = {
    "path": "../x",
    "uppercase": "Acme",
    "too-long": "a" * 200,
    "sql": "a'; drop table x; --",
    "nul": "acme\x00",
    "trailing-hyphen": "a-",
    "empty": "",
}


@pytest.mark.parametrize("slug", HOSTILE_SLUGS.values(), ids=HOSTILE_SLUGS.keys())
def test_creating_a_tenant_with_a_hostile_slug_fails_cleanly(app: Flask, is_postgres: bool,
                                                             slug: str) -> None:
    with app.app_context():
        before = tenant_storage(app, is_postgres)
        with pytest.raises(org_services.TenantError) as refused:
            org_services.check_slug(slug)
        expected = f"Error: {refused.value}\n"
    result = app.test_cli_runner().invoke(args=["tenants", "create", slug, "Hostile"])
    assert result.exit_code == 1
    assert result.output == expected  # one clear line, no traceback
    with app.app_context():
        assert tenant_storage(app, is_postgres) == before
    assert registry(app) == {"acme", "globex"}


@pytest.mark.parametrize("slug", HOSTILE_SLUGS.values(), ids=HOSTILE_SLUGS.keys())
def test_hostile_slugs_in_urls_are_404(client, slug: str) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/t/acme/").status_code == 200  # control
    assert client.get(f"/t/{quote(slug, safe='')}/").status_code == 404


def test_cli_migrate_twice_is_a_no_op_the_second_time(app: Flask) -> None:
    with app.app_context():
        tenants_at_base("cli-behind")
    cli = app.test_cli_runner()
    first = cli.invoke(args=["tenants", "migrate", "--no-progress"])
    assert first.exit_code == 0, first.output
    assert f"1 migrated to {migrate.head('tenant')}, 0 failed" in first.output
    second = cli.invoke(args=["tenants", "migrate", "--no-progress"])
    assert second.exit_code == 0, second.output
    assert second.output == f"all tenants at {migrate.head('tenant')}; nothing to do\n"


def test_cli_drop_needs_confirmation(app: Flask, is_postgres: bool) -> None:
    with app.app_context():
        factories.tenant("doomed")
        before = tenant_storage(app, is_postgres)
    cli = app.test_cli_runner()
    refused = cli.invoke(args=["tenants", "drop", "doomed"])
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: ") and refused.output.count("\n") == 1
    assert "doomed" in registry(app)
    with app.app_context():
        assert tenant_storage(app, is_postgres) == before

    dropped = cli.invoke(args=["tenants", "drop", "doomed", "--yes"])
    assert dropped.exit_code == 0, dropped.output
    assert "doomed" not in registry(app)
