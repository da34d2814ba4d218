"""Schema migrations: the control plane, and the tenant fleet in batches of schemas.

The fleet runner reads each tenant's revision from the registry, so a no-op run over any
number of tenants is one query. Pending tenants are cut into batches; on PostgreSQL a batch is
one transaction on one connection, each tenant in a savepoint of its own (a failing tenant is
rolled back to it, reported, and the batch goes on), and the batch's registry rows are updated
once it has committed. Alembic's start-up (reading the revision scripts, ``env.py``) is done
once per process, not per tenant: each tenant gets a fresh migration context on the batch's
connection with its schema selected. A worker's connection is replaced every
``RECYCLE_SCHEMAS`` schemas, so that the server process behind it does not keep the catalog
of every schema it touched. SQLite tenants are files: each is migrated on its own connection,
in its own transaction. A run that stops part-way (crash, failure, Ctrl-C) is simply run again
and carries on with the tenants not yet recorded at head (a tenant migrated but not yet
recorded is a no-op for Alembic, then recorded). Batches run in parallel in worker processes:
Alembic's ``op``/``context`` proxies are process-global, so threads cannot migrate two schemas
at once.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Connection, or_, select, update
from tqdm import tqdm

from tenants import api as tenants_api
from webapp import db
from webapp.config import ROOT
from webapp.organisations.models import Tenant, TenantStatus

# The migration scripts' configuration; PARVIS_MIGRATIONS_INI points at a copy (a benchmark
# adding a throw-away revision), inherited by the fleet's worker processes.
INI = Path(os.environ.get("PARVIS_MIGRATIONS_INI") or ROOT / "migrations" / "alembic.ini")
BATCH_SCHEMAS = 25  # tenants per transaction on PostgreSQL (each in its own savepoint)
RECYCLE_SCHEMAS = 500  # schemas a connection migrates before it is replaced
# A tenant whose tables a long request holds is failed (and left for the next run) rather
# than holding up its batch, and the requests queued behind the migration's lock, for longer.
LOCK_TIMEOUT = "5s"


def alembic_config(plane: str) -> Config:
    if plane not in ("control", "tenant"):
        raise ValueError(plane)
    return Config(str(INI), ini_section=plane)


@cache
def _scripts(plane: str) -> tuple[Config, ScriptDirectory]:
    """The plane's configuration and revision scripts, read once per process."""
    cfg = alembic_config(plane)
    return cfg, ScriptDirectory.from_config(cfg)


@cache
def head(plane: str) -> str:
    heads = _scripts(plane)[1].get_heads()
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


def migrate_schema(conn: Connection, slug: str, revision: str = "head", *,
                   downgrade: bool = False) -> str:
    """Upgrade (or downgrade) ``slug``'s schema on ``conn``, inside its open transaction;
    returns the revision reached.

    What ``alembic upgrade`` does through ``migrations/tenant/env.py``, without its start-up:
    the scripts are read once per process, and the migration context is configured here as
    the env configures it for running (autogenerate's options are the env's alone).
    """
    cfg, script = _scripts("tenant")
    tenants_api.select_migration_schema(conn, slug)

    def steps(current: Any, _context: Any) -> Any:  # Alembic's revision steps
        if downgrade:
            return script._downgrade_revs(revision, current)
        return script._upgrade_revs(revision, current)

    sqlite = conn.dialect.name == "sqlite"
    with EnvironmentContext(cfg, script, fn=steps, destination_rev=revision) as env:
        # The version table named with its schema: Alembic looks it up first, and by name
        # alone PostgreSQL would test the visibility of every tenant's alembic_version (one
        # per schema: a cost growing with the number of tenants, paid by each of them).
        env.configure(connection=conn, target_metadata=tenants_api.metadata,
                      render_as_batch=sqlite,
                      version_table_schema=None if sqlite else tenants_api.schema_for(slug))
        env.run_migrations()  # joins the open transaction
    return head("tenant") if revision == "head" else revision


def migrate_tenant(slug: str, revision: str = "head", *, downgrade: bool = False) -> str:
    """Upgrade (or downgrade) one tenant's schema in one transaction; returns its revision."""
    engine, _schema = tenants_api.migration_connection_url(slug)
    try:
        with engine.connect() as conn, _one_transaction(conn):
            return migrate_schema(conn, slug, revision, downgrade=downgrade)
    finally:
        if engine is not tenants_api.fleet_migration_engine():  # a tenant file's own engine
            engine.dispose()


def record_revision(slug: str, revision: str | None) -> None:
    record_revisions([slug], revision)


def record_revisions(slugs: Sequence[str], revision: str | None) -> None:
    """Set the registry's revision of ``slugs`` (one statement)."""
    if not slugs:
        return
    with db.engine().begin() as conn:
        conn.execute(update(Tenant).where(Tenant.slug.in_(list(slugs)))
                     .values(schema_revision=revision))


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


Outcome = tuple[str, str | None, str | None]  # slug, revision reached, error


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@dataclass
class _FleetConnection:
    """A process's PostgreSQL connection for batches, replaced every ``RECYCLE_SCHEMAS``."""

    conn: Connection | None = None
    schemas: int = 0

    def get(self) -> Connection:
        if self.conn is not None and self.schemas >= RECYCLE_SCHEMAS:
            self.drop()
        if self.conn is None:
            engine = tenants_api.fleet_migration_engine()
            assert engine is not None
            self.conn = engine.connect()
            self.schemas = 0
        return self.conn

    def drop(self) -> None:
        """Close the connection for good (its server process ends), not back into the pool."""
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # already broken: nothing left to close
                traceback.print_exc(file=sys.stderr)


_fleet_connection = _FleetConnection()


def migrate_batch(slugs: Sequence[str]) -> list[Outcome]:
    """Bring ``slugs`` to the tenant head and record those that got there; one outcome each."""
    target = head("tenant")
    if tenants_api.fleet_migration_engine() is None:  # SQLite: a file, a transaction each
        outcomes = [_migrate_file(slug) for slug in slugs]
    else:
        outcomes = _migrate_schemas(slugs, target)
    record_revisions([slug for slug, revision, _ in outcomes if revision is not None], target)
    return outcomes


def _migrate_file(slug: str) -> Outcome:
    try:
        return slug, migrate_tenant(slug), None
    except Exception as exc:  # reported per tenant; the run goes on with the others
        traceback.print_exc(file=sys.stderr)
        return slug, None, _error(exc)


def _migrate_schemas(slugs: Sequence[str], target: str) -> list[Outcome]:
    """PostgreSQL: one transaction for the batch, a savepoint per tenant."""
    conn = _fleet_connection.get()
    outcomes: list[Outcome] = []
    try:
        with conn.begin():
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            for slug in slugs:
                savepoint = conn.begin_nested()
                try:
                    migrate_schema(conn, slug)
                except Exception as exc:  # this tenant only: back to its savepoint
                    savepoint.rollback()
                    traceback.print_exc(file=sys.stderr)
                    outcomes.append((slug, None, _error(exc)))
                else:
                    savepoint.commit()
                    outcomes.append((slug, target, None))
                _fleet_connection.schemas += 1
    except Exception as exc:  # the commit or the connection failed: nothing of it holds
        traceback.print_exc(file=sys.stderr)
        _fleet_connection.drop()
        failed = {slug: error for slug, _, error in outcomes if error is not None}
        return [(slug, None, failed.get(slug) or _error(exc)) for slug in slugs]
    except BaseException:  # Ctrl-C: the batch is rolled back; the next run does it again
        _fleet_connection.drop()
        raise
    return outcomes


_worker_app: Flask | None = None


def _worker_init(factory: Callable[..., Flask], overrides: dict) -> None:
    """Each worker process builds its own app (and so its own engine and pool) with the
    factory that built the parent's (``create_app``, handed over by reference)."""
    global _worker_app
    _worker_app = factory(overrides, for_worker=True)


def _worker_migrate(slugs: list[str]) -> list[Outcome]:
    assert _worker_app is not None
    with _worker_app.app_context():
        return migrate_batch(slugs)


def migrate_fleet(app: Flask, *, jobs: int = 1, progress: bool = True,
                  stop_on_error: bool = False, batch: int = BATCH_SCHEMAS) -> FleetReport:
    """Bring every tenant to the tenant head; safe to interrupt and run again."""
    report = FleetReport(head=head("tenant"))
    slugs = pending_tenants()
    report.pending = len(slugs)
    if not slugs:
        return report
    batch = max(batch, 1)
    batches = [slugs[i:i + batch] for i in range(0, len(slugs), batch)]
    bar = tqdm(total=len(slugs), unit="tenant", disable=not progress, file=sys.stderr,
               desc=f"tenants → {report.head}")

    def collect(outcomes: list[Outcome]) -> bool:
        bar.update(len(outcomes))
        for slug, _revision, error in outcomes:
            if error is None:
                report.migrated.append(slug)
            else:
                report.failed[slug] = error
                bar.write(f"✗ {slug}: {error}")
        return not (stop_on_error and report.failed)

    try:
        if jobs <= 1 or len(batches) == 1:
            try:
                for part in batches:
                    if not collect(migrate_batch(part)):
                        break
            finally:
                _fleet_connection.drop()
        else:
            init = (app.extensions["parvis_factory"], app.config.get("PARVIS_OVERRIDES", {}))
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(jobs, len(batches)), mp_context=ctx,
                                     initializer=_worker_init, initargs=init) as pool:
                futures = [pool.submit(_worker_migrate, part) for part in batches]
                for future in as_completed(futures):
                    if not collect(future.result()):
                        for other in futures:
                            other.cancel()
                        break
    finally:
        bar.close()
    return report
