"""Database primitives under both planes: naming, types, engines, sessions, write intent.

Nothing here knows a tenant or the control plane. ``tenants.db`` (schema switching) and
``webapp.db`` (the control plane's session per request) are built on it:

* ``NAMING_CONVENTION`` and ``UTCDateTime`` for every declarative base;
* ``make_engine``: pools that replace connections the server closed, and SQLite connections
  with foreign keys, WAL, a busy timeout and transactions that take the write lock up front
  when the unit of work declared that it writes (``writing``, ``writes``);
* ``session_factory``: sessions that refuse the models of another plane;
* ``watch``: the writes begun as reads and the "database busy" errors of a unit of work, for
  the web layer's bounded retry.
"""

from __future__ import annotations

import fcntl
import logging
import os
import select
import sqlite3
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC
from pathlib import Path
from typing import Any, TypeVar, cast

import psycopg
from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Insert,
    Integer,
    Table,
    TypeDecorator,
    create_engine,
    event,
    exc,
    pool,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, CursorResult, ExceptionContext, Result, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

_log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on both databases (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use an aware UTC datetime")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


# A row key that may be written from any node of a Citus cluster: bigint on PostgreSQL (Citus
# generates keys on a worker only for bigint serials, each node in its own range), and INTEGER
# on SQLite, where only ``INTEGER PRIMARY KEY`` is the rowid that numbers rows by itself.
BigKey = BigInteger().with_variant(Integer(), "sqlite")


class CrossPlaneError(RuntimeError):
    """A session of one plane was asked to load or write a model of the other plane."""


# --- write intent ---------------------------------------------------------------------------

_writer: ContextVar[bool] = ContextVar("parvis_writer", default=False)

# How a view declares that it writes although its method says it only reads (a GET following
# an e-mailed link), or that it writes only after a first phase of reads (see ``begin_writing``).
WRITES_ATTR = "parvis_writes"
WRITES_FIRST, WRITES_AFTER_READING = "first", "after_reading"


def writing(flag: bool) -> object:
    """Declare whether the current unit of work writes (SQLite locks early when it does);
    returns a token for ``done_writing``. PostgreSQL needs nothing: rows are locked on write."""
    return _writer.set(flag)


def done_writing(token: object) -> None:
    _writer.reset(token)  # type: ignore[arg-type]


def is_writing() -> bool:
    """Whether the current unit of work declared that it writes."""
    return _writer.get()


V = TypeVar("V", bound=Callable[..., Any])


def writes(view: V) -> V:
    """Mark a view that writes whatever its method (a GET following a one-time link, a page
    whose read is logged): its unit of work takes the write lock at its first statement on
    SQLite, like a POST. Apply it under the route decorator."""
    setattr(view, WRITES_ATTR, WRITES_FIRST)
    return view


def writes_after_reading(view: V) -> V:
    """Mark a view that reads first (the form built from the database, validated), then does
    slow work that needs no lock (hashing a password), then calls ``begin_writing()`` and
    writes. Its reads run without the write lock, so other writers are not held up by them."""
    setattr(view, WRITES_ATTR, WRITES_AFTER_READING)
    return view


def declared_writes(view: object) -> str | None:
    """``WRITES_FIRST``, ``WRITES_AFTER_READING`` or None (the method decides)."""
    return getattr(view, WRITES_ATTR, None)


class WroteWhileReading(RuntimeError):
    """``begin_writing()`` was called after the unit of work had already written."""


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched.

    ``Session.execute`` is typed to return a ``Result``; for such a statement it is a
    ``CursorResult``, which alone declares ``rowcount``.
    """
    return cast("CursorResult[Any]", result).rowcount


def table_of(model: type[Any]) -> Table:
    """A mapped class's table, for a Core statement that skips the ORM's unit of work (a hot
    path's insert: no object to track, no flush)."""
    return cast(Table, model.__table__)


def insert_unless_exists(session: Session, table: Table, *unique: str) -> Insert:
    """A Core INSERT into ``table`` that writes nothing when a row with the same ``unique``
    columns exists (``ON CONFLICT (…) DO NOTHING``, which both SQLite and PostgreSQL have):
    with ``RETURNING`` it returns no row then, and raises nothing, so the transaction and
    its write lock go on without a savepoint."""
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    return insert(table).on_conflict_do_nothing(index_elements=list(unique))


def end_read_transaction(session: Session | None) -> None:
    """End a read transaction that wrote nothing, so that the unit of work's next statement
    begins a write transaction (``BEGIN IMMEDIATE`` on SQLite, waiting its turn on the busy
    timeout); see ``tenants.db.begin_writing``. On PostgreSQL the transaction goes on."""
    if session is None or not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        raise WroteWhileReading("begin_writing() with unflushed changes")
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    if connection.connection.info.get(_TX_WROTE):
        raise WroteWhileReading("begin_writing() after the unit of work wrote")
    session.commit()  # a transaction that wrote nothing: nothing is written


# What a SQLite connection's current transaction is (set at BEGIN, in the pool record's info).
_TX_MODE, _TX_WROTE = "parvis_tx_mode", "parvis_tx_wrote"
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def transaction_begun(connection: Any, writer: bool) -> None:
    """Note on a SQLite connection that a transaction began, writing or reading (the test
    fixtures call it for the savepoints they begin in place of transactions)."""
    info = connection.connection.info
    info[_TX_MODE], info[_TX_WROTE] = writer, False
_upgrades: ContextVar[list[str] | None] = ContextVar("parvis_upgrades", default=None)
_busy: ContextVar[list[BaseException] | None] = ContextVar("parvis_busy", default=None)


def watch(upgrades: list[str], busy: list[BaseException]) -> tuple[object, object]:
    """Collect, until ``unwatch``, in this context: the statements that wrote in a transaction
    begun as a read (SQLite; a view that should be marked ``writes``), and the errors saying
    that the database was busy (locked, a deadlock, a serialization failure), after which a
    unit of work that sent nothing may be run again."""
    return _upgrades.set(upgrades), _busy.set(busy)


def unwatch(tokens: tuple[object, object]) -> None:
    _upgrades.reset(tokens[0])  # type: ignore[arg-type]
    _busy.reset(tokens[1])  # type: ignore[arg-type]


# SQLite: "database is locked", "database table is locked", "database is busy";
# PostgreSQL: deadlock_detected, serialization_failure, lock_not_available.
_BUSY_SQLSTATES = {"40P01", "40001", "55P03"}


def is_busy_error(error: BaseException) -> bool:
    """Whether a DBAPI error says the database was busy, and the transaction may be re-run."""
    original = getattr(error, "orig", error)
    if getattr(original, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return True
    if getattr(original, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    text = str(original)
    return "database is locked" in text or "database table is locked" in text


def _record_busy(context: ExceptionContext) -> None:
    seen = _busy.get()
    if seen is not None and is_busy_error(context.original_exception):
        seen.append(context.original_exception)


# How long a writer waits for a database's writer gate (as long as SQLite's busy timeout);
# past it, the write goes on to SQLite's own lock, which decides.
GATE_TIMEOUT = 10.0


class GatedConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions take their turn at a gate first.

    SQLite lets one writer at a time hold a database; the others poll its lock from the busy
    handler, sleeping up to 100 ms between tries, so under a burst of writers the one that
    waited longest may keep losing to newcomers (tails of seconds were measured). Before its
    ``BEGIN IMMEDIATE`` a writer takes an exclusive ``flock`` on ``<database>-writers`` beside
    the database (every process and connection has its own descriptor; the kernel drops the
    lock of a process that dies), polling every 2 ms at most, and lets it go right after its
    ``COMMIT`` or ``ROLLBACK``. Readers never touch it (WAL lets them read meanwhile).
    """

    def gate(self, database: str, timeout: float = GATE_TIMEOUT) -> bool:
        """Wait for the writer gate of ``database`` (a file path); False past ``timeout``."""
        # One gate open per connection: a tenant pool's connection moves between tenant files,
        # and a descriptor kept per file would pile up to one per tenant.
        path, fd = self.__dict__.get("_gate", (None, None))
        if path != database or fd is None:
            if fd is not None:
                os.close(fd)
            fd = os.open(f"{database}-writers", os.O_RDWR | os.O_CREAT, 0o600)
            self.__dict__["_gate"] = (database, fd)
        deadline, pause = time.monotonic() + timeout, 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
            else:
                self.__dict__["_held"] = fd
                return True

    def ungate(self) -> None:
        held = self.__dict__.pop("_held", None)
        if held is not None:
            fcntl.flock(held, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.ungate()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.ungate()

    def close(self) -> None:
        self.ungate()
        _path, fd = self.__dict__.pop("_gate", (None, None))
        if fd is not None:
            os.close(fd)
        super().close()


def _gate_path(conn: Any) -> str | None:
    """The database file a SQLite unit of work writes: the tenant file its bind attaches, or the
    engine's own file; None in memory."""
    path = conn.get_execution_options().get("parvis_path") or conn.engine.url.database
    return path if path and path != ":memory:" else None


def sqlite_hooks(engine: Engine) -> None:
    """Foreign keys on, WAL, a busy timeout, transactions that honour savepoints, and writers
    that take their turn (``GatedConnection``).

    Python 3.11's sqlite3 opens transactions on its own and breaks SAVEPOINT; the documented
    fix is ``isolation_level=None`` and an explicit ``BEGIN`` from SQLAlchemy's begin event.
    """

    @event.listens_for(engine, "do_connect")
    def _gated(dialect, conn_rec, cargs, cparams):
        cparams.setdefault("factory", GatedConnection)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # On the driver connection: SQLAlchemy's statement path costs more than the BEGIN.
        # A unit of work that will write takes the write lock first: a deferred transaction
        # that reads, then writes after another writer committed, fails at once with
        # "database is locked" instead of waiting for the busy timeout.
        writer = _writer.get()
        raw = conn.connection.driver_connection
        if writer and isinstance(raw, GatedConnection) and (path := _gate_path(conn)):
            raw.gate(path)
        try:
            raw.execute("BEGIN IMMEDIATE" if writer else "BEGIN")
        except BaseException:
            if isinstance(raw, GatedConnection):
                raw.ungate()
            raise
        transaction_begun(conn, writer)

    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(conn, cursor, statement, parameters, context, executemany):
        # A write in a transaction begun as a read: it works while nobody else writes, and
        # fails with "database is locked" under load. ``watch`` collects these (the web layer
        # logs the view, which should be marked ``writes``).
        if statement.startswith(_WRITE_VERBS):
            info = conn.connection.info
            if not info.get(_TX_WROTE):
                info[_TX_WROTE] = True
                upgrades = _upgrades.get()
                if upgrades is not None and info.get(_TX_MODE) is False:
                    upgrades.append(statement[:60])


# Busy errors are recorded for ``watch`` on every engine, PostgreSQL's included.
event.listen(Engine, "handle_error", _record_busy)


def make_engine(url: str | URL, *, pool_size: int = 10, max_overflow: int | None = None,
                pool_recycle: int = 1800, pool_timeout: float = 30.0,
                connect_timeout: int | None = None) -> Engine:
    """An engine for ``url``: the control plane's, and on PostgreSQL the tenant plane's too.

    Its pool holds ``pool_size`` connections plus ``max_overflow`` (by default as many) more
    under load; a checkout waits at most ``pool_timeout`` seconds for one, then raises
    ``sqlalchemy.exc.TimeoutError`` (a 503 on the web). ``connect_timeout`` (PostgreSQL,
    seconds) bounds a connection attempt to a server that does not answer.
    """
    parsed = make_url(url)
    overflow = pool_size if max_overflow is None else max_overflow
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, poolclass=pool.QueuePool, pool_size=pool_size,
                               max_overflow=overflow, pool_timeout=pool_timeout,
                               connect_args={"check_same_thread": False})
        sqlite_hooks(engine)
        return engine
    connect_args = {}
    if connect_timeout and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = connect_timeout
    # Recycling keeps each backend's catalog cache bounded when thousands of schemas exist.
    engine = create_engine(parsed, pool_size=pool_size, max_overflow=overflow,
                           pool_timeout=pool_timeout, pool_recycle=pool_recycle,
                           connect_args=connect_args)
    _replace_closed_connections(engine)
    _transactions_begin_when_needed(engine)
    return engine


def _replace_closed_connections(engine: Engine) -> None:
    """Replace a pooled PostgreSQL connection the server has closed, without a round trip.

    ``pool_pre_ping`` would send a query on every checkout: a round trip per request. A server
    that restarts or ends a backend (``pg_terminate_backend``, ``idle_session_timeout``) sends
    a message and closes the socket, which makes it readable, while an idle connection is
    otherwise silent. So a checkout polls the socket (one system call) and pings only when
    there is something to read; if the ping fails, ``DisconnectionError`` makes the pool retry
    with a new connection (SQLAlchemy's documented checkout hook). A connection dropped without
    a word (a network cut) would hang a pre-ping just the same; ``pool_recycle`` and TCP
    keepalives bound those.
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, proxy):
        try:
            poller = select.poll()
            poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLPRI)
            if poller.poll(0):
                engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # a closed connection has no file descriptor either
            raise exc.DisconnectionError("the server closed this pooled connection") from error



# PostgreSQL statements that must run inside the unit of work's transaction even though they
# begin with SELECT: row locks, transaction-scoped advisory locks, settings and sequences, and
# Citus's functions (which change the cluster). Looked for in the lower-cased statement.
_TRANSACTIONAL_WORDS = (" for ", "\nfor ", "advisory", "set_config", "nextval", "citus_",
                        "create_distributed", "create_reference")
_READING = "parvis_reading"  # connection info: its unit of work reads outside a transaction


def _needs_transaction(statement: str, cursor: Any) -> bool:
    if statement.lstrip()[:6].upper() != "SELECT" or isinstance(cursor, psycopg.ServerCursor):
        return True  # a write, DDL, SET…; or a server-side cursor (DECLARE needs a transaction)
    lowered = statement.lower()
    return any(word in lowered for word in _TRANSACTIONAL_WORDS)


def _transactions_begin_when_needed(engine: Engine) -> None:
    """On PostgreSQL, a unit of work that only reads sends no BEGIN and no COMMIT.

    psycopg sends ``BEGIN`` before a transaction's first statement and SQLAlchemy ``COMMIT`` at
    its end: two round trips that, for a page that reads one or two rows, cost as much as its
    reads. A unit of work that has not declared that it writes (``writing``) runs its SELECTs
    in autocommit mode instead; the first statement that needs a transaction (a write, DDL, a
    ``SELECT … FOR UPDATE``, an advisory lock, a server-side cursor: ``_needs_transaction``)
    turns autocommit off first, so psycopg begins the transaction right there, and everything
    from it on is atomic and committed (or rolled back) as before; a COMMIT with no transaction
    open sends nothing. Under READ COMMITTED, PostgreSQL's level here, every statement takes
    its own snapshot inside a transaction too, so reads outside one see exactly what they would
    have seen inside it. A level chosen on the connection (``isolation_level``) is left alone.
    Switching autocommit is a driver setting: no round trip.
    """

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        info = conn.connection.info
        if conn.get_execution_options().get("isolation_level"):
            info[_READING] = False
            return
        raw = conn.connection.driver_connection
        idle = raw.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        info[_READING] = reading = idle and not _writer.get()
        if idle and raw.autocommit != reading:
            raw.autocommit = reading  # kept across checkouts: set again only when it changes

    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(conn, cursor, statement, parameters, context, executemany):
        info = conn.connection.info
        if info.get(_READING) and _needs_transaction(statement, cursor):
            info[_READING] = False
            conn.connection.driver_connection.autocommit = False


# --- sessions ------------------------------------------------------------------------------


class PlaneSession(Session):
    """A session that serves the models of one plane only (``info['plane']``)."""

    def get_bind(self, mapper=None, *args, **kwargs):
        plane = self.info.get("plane")
        if mapper is not None and plane is not None:
            cls = getattr(mapper, "class_", mapper)
            if isinstance(cls, type) and not issubclass(cls, plane):
                raise CrossPlaneError(f"{cls.__name__} is not a {plane.__name__} model")
        return super().get_bind(mapper, *args, **kwargs)


def session_factory(plane: type[DeclarativeBase], bind: Engine | None) -> sessionmaker[Session]:
    """A sessionmaker for one plane; used for the control plane too."""
    return sessionmaker(bind=bind, class_=PlaneSession, info={"plane": plane},
                        expire_on_commit=False)



def close_quietly(session: Session) -> None:
    """Close ``session``, even when its connection died with its transaction.

    When the server ended the connection (a restart, ``pg_terminate_backend``), the rollback
    that closing sends fails: the server already rolled the transaction back, and SQLAlchemy
    has already dropped the connection from its pool. Raising then, in a request's teardown,
    would replace a clean 503 with a bare 500 from the server; so that error is only logged.
    """
    try:
        session.close()
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        _log.warning("a session's connection had died; its transaction is gone: %s",
                     str(error).splitlines()[0])
