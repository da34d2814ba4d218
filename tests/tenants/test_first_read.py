"""A tenant's rows that every page reads exist from provisioning: no first read inserts them
(issue 18, item 3). On SQLite a read that writes fails under load ("database is locked").
Tenants made before provisioning stored them get them from the tenant migration e8b00000b001.
"""

from __future__ import annotations

from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import delete, select

from tenants import api as tenants_api
from tenants.consent.models import ConsentConfig
from tenants.settings import services as settings_services
from tenants.settings.models import Settings
from tests import factories
from webapp import migrate

ROW_MIGRATION = "e8b00000b001"
WRITES = ("INSERT", "UPDATE", "DELETE")


def public_paths(app: Flask, slug: str, event_id: int) -> list[str]:
    """Every GET page of the tenant a visitor reaches without an argument, and an event's."""
    paths = {f"/t/{slug}/events/{event_id}", f"/t/{slug}/events/{event_id}/register"}
    for rule in app.url_map.iter_rules():
        if (rule.rule.startswith("/t/<tenant>/") and "GET" in (rule.methods or ())
                and set(rule.arguments) == {"tenant"} and "/admin" not in rule.rule):
            paths.add(rule.rule.replace("<tenant>", slug))
    return sorted(paths)


def first_reads(app: Flask, slug: str, statements) -> list[str]:  # type: ignore[no-untyped-def]
    """The writes sent while a new visitor opens every public page once."""
    with app.app_context():
        event_id = factories.event(slug)
    client = app.test_client()
    written = []
    for path in public_paths(app, slug, event_id):
        with statements:
            response = client.get(path)
        assert response.status_code < 500, path
        written += [f"{path}: {sql}" for sql in statements.statements
                    if sql.lstrip().upper().startswith(WRITES)]
    return written


def test_a_fresh_tenants_first_reads_insert_nothing(app: Flask, statements) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        factories.tenant("firstread")
        with tenants_api.tenant_context("firstread") as session:
            assert session.get(Settings, 1) is not None
            assert session.get(ConsentConfig, 1) is not None
    assert len(public_paths(app, "firstread", 1)) > 10  # the pages are found
    assert first_reads(app, "firstread", statements) == []


def test_the_migration_stores_the_rows_of_a_tenant_made_without_them(  # type: ignore[no-untyped-def]
        app: Flask, statements) -> None:
    with app.app_context():
        factories.tenant("rowless")
        before = ScriptDirectory.from_config(migrate.alembic_config("tenant")).get_revision(
            ROW_MIGRATION).down_revision
        assert isinstance(before, str)
        migrate.migrate_tenant("rowless", before, downgrade=True)
        with tenants_api.tenant_context("rowless", writer=True) as session:
            session.execute(delete(Settings))
            session.execute(delete(ConsentConfig))
        migrate.migrate_tenant("rowless")
        with tenants_api.tenant_context("rowless") as session:
            stored = session.get(Settings, 1)
            banner = session.get(ConsentConfig, 1)
            expected = settings_services.defaults()
            assert stored is not None and banner is not None
            for column in Settings.__table__.columns:
                if column.key not in ("updated_at", "config_version"):
                    assert getattr(stored, column.key) == getattr(expected, column.key), column
            assert stored.config_version != 0  # a version of its own: forms can be kept
            assert (banner.texts, banner.lifetime_months, banner.retention_years,
                    banner.link_participant, banner.version, banner.texts_hash) == (
                {}, 13, 5, False, 1, "")
            # Run again, the migration leaves a tenant's own settings as they are.
            stored.max_visibility = "public"
        migrate.migrate_tenant("rowless", before, downgrade=True)
        migrate.migrate_tenant("rowless")
        with tenants_api.tenant_context("rowless") as session:
            assert session.scalars(select(Settings.max_visibility)).all() == ["public"]
    assert first_reads(app, "rowless", statements) == []
