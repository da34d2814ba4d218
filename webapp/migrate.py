"""Schema migrations: the control plane, and the tenant fleet one tenant per transaction.

The fleet runner reads each tenant's revision from the registry, so a no-op run over any
number of tenants is one query. Each tenant is upgraded in its own transaction on a dedicated
connection, then its registry row is updated; a run that stops part-way (crash, failure,
Ctrl-C) is simply run again and carries on with the tenants not yet at head. Tenants run in
parallel in worker processes: Alembic's ``op``/``context`` proxies are process-global, so
threads cannot migrate two schemas at once.
"""

from __future__ import annotations

import multiprocessing
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Connection, or_, select, update
from tqdm import tqdm

from tenants import api as tenants_api
from webapp import db
from webapp.config import ROOT
from webapp.organisations.models import Tenant, TenantStatus

INI = ROOT / "migrations" / "alembic.ini"


def alembic_config(plane: str) -> Config:
    if plane not in ("control", "tenant"):
        raise ValueError(plane)
    return Config(str(INI), ini_section=plane)


@cache
def head(plane: str) -> str:
    heads = ScriptDirectory.from_config(alembic_config(plane)).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"{plane} migrations must have exactly one head, found {heads}")
    return heads[0]


# --- control plane -------------------------------------------------------------------------


@contextmanager
def _one_transaction(conn: Connection) -> Iterator[None]:
    """A migration's transaction. On SQLite, foreign keys are off meanwhile and checked before
    the commit: batch operations re-create a table (copy, drop, rename), and dropping it with
    foreign keys on would delete or empty every row that references it (Alembic's batch
    documentation); a migration that leaves a dangling reference is rolled back."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # outside any transaction: the pragma is a no-op inside one
        conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        with conn.begin():
            yield
            if sqlite:
                dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    raise RuntimeError(f"the migration left dangling references: {dangling[:5]}")
    finally:
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade_control(revision: str = "head") -> None:
    cfg = alembic_config("control")
    with db.engine().connect() as conn, _one_transaction(conn):
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


# --- one tenant ----------------------------------------------------------------------------


def migrate_tenant(slug: str, revision: str = "head", *, downgrade: bool = False) -> str:
    """Upgrade (or downgrade) one tenant's schema in one transaction; returns its revision."""
    engine, schema = tenants_api.migration_connection_url(slug)
    cfg = alembic_config("tenant")
    try:
        with engine.connect() as conn, _one_transaction(conn):
            cfg.attributes.update(connection=conn, schema=schema, tenant=slug)
            (command.downgrade if downgrade else command.upgrade)(cfg, revision)
    finally:
        if engine is not db.engine():
            engine.dispose()
    return head("tenant") if revision == "head" else revision


def record_revision(slug: str, revision: str | None) -> None:
    with db.engine().begin() as conn:
        conn.execute(update(Tenant).where(Tenant.slug == slug).values(schema_revision=revision))


# --- the fleet -----------------------------------------------------------------------------


@dataclass
class FleetReport:
    head: str
    pending: int = 0
    migrated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def pending_tenants() -> list[str]:
    """Slugs whose recorded revision is not the tenant head (one indexed query)."""
    target = head("tenant")
    stmt = (select(Tenant.slug)
            .where(or_(Tenant.schema_revision.is_(None), Tenant.schema_revision != target),
                   Tenant.status.not_in((TenantStatus.PROVISIONING, TenantStatus.DESTROYED)))
            .order_by(Tenant.id))
    with db.engine().connect() as conn:
        return list(conn.scalars(stmt))


_worker_app: Flask | None = None


def _worker_init(factory: Callable[..., Flask], overrides: dict) -> None:
    """Each worker process builds its own app (and so its own engine and pool) with the
    factory that built the parent's (``create_app``, handed over by reference)."""
    global _worker_app
    _worker_app = factory(overrides, for_worker=True)


def _worker_migrate(slug: str) -> tuple[str, str | None, str | None]:
    assert _worker_app is not None
    with _worker_app.app_context():
        return _migrate_here(slug)


def _migrate_here(slug: str) -> tuple[str, str | None, str | None]:
    try:
        revision = migrate_tenant(slug)
        record_revision(slug, revision)
        return slug, revision, None
    except Exception as exc:  # reported per tenant; the run goes on with the others
        traceback.print_exc(file=sys.stderr)
        return slug, None, f"{type(exc).__name__}: {exc}"


def migrate_fleet(app: Flask, *, jobs: int = 1, progress: bool = True,
                  stop_on_error: bool = False) -> FleetReport:
    """Bring every tenant to the tenant head; safe to interrupt and run again."""
    report = FleetReport(head=head("tenant"))
    slugs = pending_tenants()
    report.pending = len(slugs)
    if not slugs:
        return report
    bar = tqdm(total=len(slugs), unit="tenant", disable=not progress, file=sys.stderr,
               desc=f"tenants → {report.head}")

    def collect(slug: str, revision: str | None, error: str | None) -> bool:
        bar.update(1)
        if error is None:
            report.migrated.append(slug)
            return True
        report.failed[slug] = error
        bar.write(f"✗ {slug}: {error}")
        return not stop_on_error

    try:
        if jobs <= 1 or len(slugs) == 1:
            for slug in slugs:
                if not collect(*_migrate_here(slug)):
                    break
        else:
            init = (app.extensions["parvis_factory"], app.config.get("PARVIS_OVERRIDES", {}))
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init,
                                     initargs=init) as pool:
                futures = [pool.submit(_worker_migrate, slug) for slug in slugs]
                for future in as_completed(futures):
                    if not collect(*future.result()):
                        for other in futures:
                            other.cancel()
                        break
    finally:
        bar.close()
    return report

