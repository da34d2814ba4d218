"""The one place that knows how a tenant's schema is reached.

Tenant tables are declared on ``TenantBase`` without a schema. At run time they are reached
through a *bind* that renders every table as ``<schema>.<table>``:

* PostgreSQL: one engine and pool for all tenants, beside the control plane's (same URL, a
  pool each, so that a request holding one of each never deadlocks another); a tenant's bind
  is that engine with ``schema_translate_map={None: schema}``. Nothing ever runs
  ``SET search_path``, so a pooled connection never carries a tenant from one checkout to the
  next.
* SQLite (embedded default): one database file per tenant. A dedicated pool attaches the
  tenant's file under its schema name when a connection is checked out for that tenant, and
  detaches the previous one, so a connection holds at most one tenant file at a time. The pool
  hands out, when it has one, an idle connection already holding the active tenant's file.

``tenant_context(slug)`` opens a unit of work for CLI commands, jobs and tests; web requests use
``activate()``/``deactivate()`` and get a lazily created session through ``session()``.
A session made here refuses models of the other plane.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    create_mock_engine,
    event,
    inspect,
    pool,
)
from sqlalchemy.orm import DeclarativeBase, Session

from core.db import (
    NAMING_CONVENTION,
    UTCDateTime,
    close_quietly,
    done_writing,
    end_read_transaction,
    is_writing,
    make_engine,
    session_factory,
    sqlite_hooks,
    writing,
)

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")


class TenantBase(DeclarativeBase):
    """Base of every table that lives inside one tenant's schema (declared without a schema)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


class InvalidSlug(ValueError):
    """A tenant slug that does not match ``SLUG_RE``; never reaches SQL or a file path."""

class NoTenant(RuntimeError):
    """Tenant data was asked for outside a tenant context."""

def validate_slug(slug: object) -> str:
    if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug) or slug.endswith("-"):
        raise InvalidSlug(slug)
    return slug


def schema_for(slug: str) -> str:
    """Schema (PostgreSQL) or attach name (SQLite) of a tenant; '-' is never in a schema name."""
    return "t_" + validate_slug(slug).replace("-", "_")


# --- engines -------------------------------------------------------------------------------


def begin_writing() -> None:
    """From here on the active unit of work writes (views marked ``writes_after_reading``).

    On SQLite the read transaction, which wrote nothing, ends, so that the next statement
    begins a write transaction (``BEGIN IMMEDIATE``, waiting its turn on the busy timeout):
    a transaction that read and then writes fails at once if another writer committed in
    between. Objects loaded so far stay usable (sessions do not expire on commit) but may be
    stale: re-read what the writes depend on. On PostgreSQL the transaction goes on.
    """
    scope = _current.get()
    if scope is None:
        raise NoTenant("no tenant unit of work to write in")
    if not is_writing():
        scope.writes_token = writing(True)
    end_read_transaction(scope._session)



class _TenantFilePool(pool.Pool):
    """SQLite tenant connections, each remembering the tenant file it holds.

    A checkout takes an idle connection holding the active tenant's file if there is one (the
    most recently returned), else opens a new one while fewer than ``size`` are open, else
    takes the least recently returned idle one, whose file ``_attach`` then swaps. Swapping
    (DETACH, ATTACH, the new file's schema read) costs more than the rest of a small page, so
    requests spread over a few tenants keep each tenant's file attached instead. Which
    connection is chosen is only a preference: ``_attach`` makes every checkout hold the right
    file. Beyond ``size``, connections are opened rather than waited for (SQLite has no
    connection limit) and closed when returned.
    """

    def __init__(self, creator, pool_size: int = 10, **kw):
        super().__init__(creator, **kw)
        self._size = pool_size
        self._open = 0
        self._idle: list[pool.ConnectionPoolEntry] = []  # least recently returned first
        self._lock = threading.Lock()

    def _do_get(self) -> pool.ConnectionPoolEntry:
        scope = _current.get()
        wanted = scope.schema if scope is not None else None
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                if self._idle[i].info.get("attached") == wanted:
                    return self._idle.pop(i)
            if self._idle and self._open >= self._size:
                return self._idle.pop(0)
            self._open += 1
        try:
            return self._create_connection()
        except BaseException:
            with self._lock:
                self._open -= 1
            raise

    def _do_return_conn(self, record: pool.ConnectionPoolEntry) -> None:
        with self._lock:
            self._idle.append(record)
            surplus = self._idle.pop(0) if self._open > self._size else None
            if surplus is not None:
                self._open -= 1
        if surplus is not None:
            surplus.close()

    def dispose(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for record in idle:
            record.close()

    def recreate(self) -> _TenantFilePool:
        return self.__class__(self._creator, pool_size=self._size, recycle=self._recycle,
                              echo=self.echo, logging_name=self._orig_logging_name,
                              reset_on_return=self._reset_on_return, pre_ping=self._pre_ping,
                              _dispatch=self.dispatch, dialect=self._dialect)

    def status(self) -> str:
        return f"Tenant file pool size: {self._size} open: {self._open} idle: {len(self._idle)}"


# SQLite: tenant files each process keeps attached, one per idle connection (about three file
# descriptors and 100 kB each). Attaching a WAL file costs ~1.5 ms (its -wal and -shm files are
# made again: the last connection to close a WAL database deletes them), more than the rest of
# a rendered page, so traffic spread over a few hundred tenants keeps each one's file open.
TENANT_FILES_KEPT = 256


def _sqlite_tenant_engine(pool_size: int) -> Engine:
    """A pool whose connections each hold at most one tenant file, attached on checkout; up to
    ``TENANT_FILES_KEPT`` (or ``pool_size`` if larger) stay open between requests."""
    engine = create_engine("sqlite://", poolclass=_TenantFilePool,
                           pool_size=max(pool_size, TENANT_FILES_KEPT),
                           connect_args={"check_same_thread": False})
    sqlite_hooks(engine)

    @event.listens_for(engine, "engine_connect")
    def _attach(conn):
        opts = conn.get_execution_options()
        schema, path = opts.get("parvis_schema"), opts.get("parvis_path")
        info = conn.connection.info
        if schema is None or info.get("attached") == schema:
            return
        # On the driver connection, outside any transaction (ATTACH refuses to run inside one).
        raw = conn.connection.driver_connection
        if info.get("attached"):
            raw.execute(f'DETACH DATABASE "{info.pop("attached")}"')
        if not Path(path).exists():  # ATTACH would silently create an empty database
            raise NoTenant(f"no database file for tenant schema {schema}")
        raw.execute(f'ATTACH DATABASE ? AS "{schema}"', (path,))
        info["attached"] = schema

    return engine


@dataclass
class _Registry:
    """Engines and per-tenant binds; configured once by the application factory."""

    engine: Engine | None = None
    data_dir: Path | None = None
    sqlite_engine: Engine | None = None
    tenant_engine: Engine | None = None  # PostgreSQL: the tenant plane's own pool
    binds: OrderedDict[str, Engine] = field(default_factory=OrderedDict)
    max_binds: int = 1024
    lock: threading.Lock = field(default_factory=threading.Lock)
    citus: bool | None = None  # PostgreSQL: whether the database has the citus extension

    @property
    def is_sqlite(self) -> bool:
        return self.engine is not None and self.engine.dialect.name == "sqlite"


_reg = _Registry()


def configure(engine: Engine, data_dir: str | Path, *, pool_size: int = 10,
              max_overflow: int | None = None, pool_recycle: int = 1800,
              pool_timeout: float = 30.0, connect_timeout: int | None = None) -> None:
    """Point the tenant plane at the platform engine (and, on SQLite, a tenant-files folder).

    On PostgreSQL the tenant plane gets an engine of its own on the same URL, with a pool of
    the same size: a request holds at most one connection of each pool, so it never waits for
    a tenant connection held by requests that themselves wait for a control-plane one (with
    one shared pool, threads each holding a control connection could take every slot and wait
    for one another). The pool options are those of ``make_engine``.
    """
    dispose()
    _reg.engine = engine
    _reg.data_dir = Path(data_dir)
    _reg.tenant_engine = None
    _reg.citus = None
    if _reg.is_sqlite:
        _reg.data_dir.mkdir(parents=True, exist_ok=True)
        _reg.sqlite_engine = _sqlite_tenant_engine(pool_size)
    else:
        _reg.tenant_engine = make_engine(
            engine.url, pool_size=pool_size, max_overflow=max_overflow,
            pool_recycle=pool_recycle, pool_timeout=pool_timeout,
            connect_timeout=connect_timeout)


def dispose() -> None:
    """Close the tenant plane's pooled connections (the PostgreSQL engine stays usable)."""
    with _reg.lock:
        _reg.binds.clear()
    if _reg.sqlite_engine is not None:
        _reg.sqlite_engine.dispose()
        _reg.sqlite_engine = None
    if _reg.tenant_engine is not None:
        _reg.tenant_engine.dispose()


def _engine() -> Engine:
    if _reg.engine is None:
        raise RuntimeError("tenants.db.configure() was not called")
    return _reg.engine


def _tenant_engine() -> Engine:
    """PostgreSQL: the engine tenant schemas are reached and managed through."""
    return _reg.tenant_engine or _engine()


def tenant_file(slug: str) -> Path:
    """SQLite only: the file holding a tenant's data (name from the validated slug only)."""
    assert _reg.data_dir is not None
    return _reg.data_dir / f"{validate_slug(slug)}.db"


def bind_for(slug: str) -> Engine:
    """The engine through which a tenant's tables are reached (cached, bounded LRU)."""
    with _reg.lock:
        bind = _reg.binds.get(slug)
        if bind is not None:
            _reg.binds.move_to_end(slug)
            return bind
    schema = schema_for(slug)
    if _reg.is_sqlite:
        assert _reg.sqlite_engine is not None
        bind = _reg.sqlite_engine.execution_options(
            schema_translate_map={None: schema}, parvis_schema=schema,
            parvis_path=str(tenant_file(slug)))
    else:
        bind = _tenant_engine().execution_options(schema_translate_map={None: schema})
    with _reg.lock:
        _reg.binds[slug] = bind
        while len(_reg.binds) > _reg.max_binds:
            _reg.binds.popitem(last=False)
    return bind


# --- sessions ------------------------------------------------------------------------------



# One factory for every tenant, the bind given per session: a sessionmaker makes a new Session
# subclass, and SQLAlchemy builds the event dispatch of each new class on first use.
_tenant_sessions = session_factory(TenantBase, None)


def listen(name: str, function: Callable[..., object]) -> None:
    """Listen to a session event (``after_commit``, ``after_flush``…) of every tenant session."""
    event.listen(_tenant_sessions, name, function)




class TenantScope:
    """One tenant's unit of work: a session created on first use, committed once."""

    def __init__(self, slug: str) -> None:
        self.slug = validate_slug(slug)
        self.schema = schema_for(slug)
        self._session: Session | None = None
        self.after_commit: list[Callable[[], object]] = []
        self.writes_token: object | None = None  # set by ``begin_writing``

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = _tenant_sessions(bind=bind_for(self.slug),
                                             info={"tenant": self.slug})
        return self._session

    def commit(self) -> None:
        # A session that never began a transaction (no query, nothing added) has nothing to
        # commit; committing it would only begin and end an empty one.
        if self._session is not None and self._session.in_transaction():
            self._session.commit()

    def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            close_quietly(session)


_current: ContextVar[TenantScope | None] = ContextVar("parvis_tenant_scope", default=None)


def current_slug() -> str:
    scope = _current.get()
    if scope is None:
        raise NoTenant("no tenant is active here")
    return scope.slug


def session() -> Session:
    """The active tenant's session (request, job, CLI or test context)."""
    scope = _current.get()
    if scope is None:
        raise NoTenant("tenant data asked for outside a tenant context")
    return scope.session


def activate(slug: str) -> object:
    """Make ``slug`` the active tenant; returns a token for ``deactivate``."""
    return _current.set(TenantScope(slug))


def commit() -> None:
    scope = _current.get()
    if scope is not None:
        scope.commit()


def deactivate(token: object) -> None:
    scope = _current.get()
    if scope is not None:
        scope.close()
        if scope.writes_token is not None:  # ``begin_writing`` lasts as long as the scope
            done_writing(scope.writes_token)
    _current.reset(token)  # type: ignore[arg-type]


def in_tenant_context() -> bool:
    return _current.get() is not None


def in_transaction() -> bool:
    """Whether the active unit of work has begun a transaction (without starting a session)."""
    scope = _current.get()
    return scope is not None and scope._session is not None and scope._session.in_transaction()


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the active ``tenant_context`` has committed (dropped if not)."""
    scope = _current.get()
    if scope is None:
        raise NoTenant("no tenant unit of work to wait for")
    scope.after_commit.append(callback)


def committed() -> None:
    """Run now the callbacks queued so far in the active ``tenant_context``: a long unit of work
    that commits batch by batch (a retention sweep) calls it after each commit, so what a batch
    queued starts without waiting for the whole sweep."""
    scope = _current.get()
    if scope is None:
        raise NoTenant("no tenant unit of work")
    callbacks, scope.after_commit = scope.after_commit, []
    for callback in callbacks:
        callback()


@contextlib.contextmanager
def tenant_context(slug: str, *, writer: bool = False) -> Iterator[Session]:
    """Run a block as ``slug``: commit at the end, roll back on error, restore the previous.

    Jobs queued meanwhile (``after_commit``) run once the block has committed. ``writer``
    declares a unit of work that writes (jobs do), so that on SQLite it takes the write lock
    first; a reader nested in a writer of the same tenant must not be a writer itself.
    """
    token, writes = activate(slug), writing(writer)
    try:
        scope = _current.get()
        assert scope is not None
        yield session()
        commit()
    finally:
        deactivate(token)
        done_writing(writes)
    for callback in scope.after_commit:
        callback()


# --- lifecycle -----------------------------------------------------------------------------

VERSION_TABLE = "alembic_version"


def _version_table(metadata: MetaData):
    """Alembic's version table exactly as Alembic creates it (same column, same key name)."""

    return Table(VERSION_TABLE, metadata, Column("version_num", String(32), nullable=False),
                 PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"))


def exists(slug: str) -> bool:
    if _reg.is_sqlite:
        return tenant_file(slug).exists()
    with _tenant_engine().connect() as conn:
        return inspect(conn).has_schema(schema_for(slug))


# Where the tenant's schema goes in the prepared script: replaced by the quoted schema name.
_SCHEMA_MARK = "__parvis_tenant_schema__"
_REVISION_RE = re.compile(r"^[0-9A-Za-z_]{1,32}$")


@functools.cache
def _ddl_script(dialect_name: str) -> str:
    """Every ``CREATE`` that ``create_all`` would send for a new tenant (tables in dependency
    order, their indexes, Alembic's version table), compiled once per process into one script.

    ``create_all`` on a live connection asks the catalog about each table first and sends each
    statement in its own round trip (about 75 per tenant); the script is sent in one. On
    PostgreSQL the tables are named ``<mark>.<table>`` (schema translation at compile time) and
    the mark is replaced by the tenant's schema, as ``schema_translate_map`` does at run time:
    no ``SET search_path``. On SQLite the script runs on the tenant's own file.
    """
    statements: list[str] = []
    dialect = _engine().dialect if _reg.engine is not None else None
    if dialect is None or dialect.name != dialect_name:
        raise RuntimeError(f"the tenant plane is not configured for {dialect_name}")
    translate = {None: _SCHEMA_MARK} if dialect_name != "sqlite" else None

    def collect(ddl: Any, *_args: Any, **_kw: Any) -> None:
        statements.append(str(ddl.compile(dialect=dialect, schema_translate_map=translate,
                                          render_schema_translate=translate is not None)).strip())

    mock = create_mock_engine(_engine().url, collect)  # never connects: it only collects
    version = MetaData()
    _version_table(version)
    for metadata in (TenantBase.metadata, version):
        metadata.create_all(mock, checkfirst=False)
    script = ";\n".join(statements) + ";\n"
    if "%" in script:  # the script is sent without parameters; keep it free of placeholders
        raise RuntimeError("a tenant DDL statement contains '%'")
    return script


def _creation_script(schema: str, revision: str | None) -> str:
    """The prepared script for ``schema``, stamped at ``revision`` (an Alembic revision id)."""
    dialect_name = _engine().dialect.name
    script = _ddl_script(dialect_name)
    if dialect_name != "sqlite":
        script = f'CREATE SCHEMA "{schema}";\n' + script.replace(_SCHEMA_MARK, f'"{schema}"')
    if revision:
        if not _REVISION_RE.fullmatch(revision):  # inlined into the script: an id, nothing else
            raise ValueError(f"not an Alembic revision id: {revision!r}")
        table = VERSION_TABLE if dialect_name == "sqlite" else f'"{schema}".{VERSION_TABLE}'
        script += f"INSERT INTO {table} (version_num) VALUES ('{revision}');\n"  # noqa: S608
    return script


def create_schema(slug: str, revision: str | None) -> None:
    """Create a tenant's schema (or file) with every table, stamped at ``revision``.

    One round trip (PostgreSQL: one transaction; SQLite: one script on the new file) with the
    DDL prepared once per process; what remains is the server's own work of creating the
    tables, their sequences and indexes.
    """
    schema = schema_for(slug)
    script = _creation_script(schema, revision)
    if _reg.is_sqlite:
        path = tenant_file(slug)
        if path.exists():
            raise FileExistsError(path)
        # WAL is set once (it is persistent), before the file is ever attached.
        raw = sqlite3.connect(path, isolation_level=None)
        try:
            raw.execute("PRAGMA journal_mode=WAL")
            raw.executescript(f"BEGIN;\n{script}COMMIT;")
        except Exception:
            raw.close()
            drop_schema(slug)
            raise
        raw.close()
        return
    with _tenant_engine().begin() as conn:
        # CREATE SCHEMA and everything in it, atomically, one statement per message but
        # pipelined (still one round trip): Citus forwards a CREATE INDEX to its workers as
        # the text it arrived in, and refuses a text of several statements.
        driver: Any = conn.connection.driver_connection
        with driver.pipeline(), driver.cursor() as cursor:
            for statement in script.split(";\n"):  # how _ddl_script joins them
                if statement.strip():
                    cursor.execute(statement)
        _distribute(conn, schema)


def _distribute(conn: Connection, schema: str) -> None:
    """Citus: make a new tenant schema a distributed schema (its tables then live on one
    worker) if creating it did not already, as when schema-based sharding is off; the
    control plane's tables stay local to the coordinator. Nothing on plain PostgreSQL."""
    if _reg.citus is None:
        _reg.citus = bool(conn.exec_driver_sql(
            "SELECT count(*) FROM pg_extension WHERE extname = 'citus'").scalar())
    if _reg.citus:
        conn.exec_driver_sql(
            "SELECT citus_schema_distribute(oid::regnamespace) FROM pg_namespace "
            "WHERE nspname = %(schema)s AND oid NOT IN (SELECT schemaid FROM pg_dist_schema)",
            {"schema": schema})


def drop_schema(slug: str) -> None:
    """Destroy a tenant's schema (or file) and everything in it."""
    schema = schema_for(slug)
    with _reg.lock:
        _reg.binds.pop(slug, None)
    if _reg.is_sqlite:
        if _reg.sqlite_engine is not None:
            _reg.sqlite_engine.dispose()  # close connections that may hold the file
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tenant_file(slug)}{suffix}").unlink(missing_ok=True)
        return
    with _tenant_engine().begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def migration_connection_url(slug: str) -> tuple[Engine, str | None]:
    """For the tenant migration environment: an engine and the schema to migrate.

    On SQLite the tenant file is opened directly (its tables live in ``main``); on PostgreSQL
    the platform engine is returned with the schema the migration env must select.
    """
    if _reg.is_sqlite:
        engine = create_engine(f"sqlite:///{tenant_file(slug)}", poolclass=pool.NullPool)
        sqlite_hooks(engine)
        return engine, None
    return _tenant_engine(), schema_for(slug)


def fleet_migration_engine() -> Engine | None:
    """PostgreSQL: the engine whose connections migrate many schemas one after the other (the
    fleet runner selects each schema with ``select_migration_schema``); SQLite: None, each
    tenant's file is opened on its own (``migration_connection_url``)."""
    return None if _reg.is_sqlite else _tenant_engine()


def select_migration_schema(conn: Connection, slug: str) -> None:
    """Make ``slug``'s schema the one that unqualified names (Alembic's operations and its
    version table) resolve to, until the end of the open transaction (PostgreSQL; on SQLite the
    connection is already the tenant's file). Alembic operations ignore schema_translate_map,
    hence the one SET LOCAL search_path outside the migration env; it ends with the
    transaction, so the connection never carries a tenant beyond it."""
    if conn.dialect.name == "sqlite":
        return
    if not conn.in_transaction():
        raise RuntimeError("select a migration schema inside the migration's transaction")
    conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema_for(slug)}"')
