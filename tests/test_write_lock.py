"""Units of work that write take SQLite's write lock first, hold it only while writing, and a
request that met a busy database runs again when nothing was sent or committed.

tests/test_burst.py puts all of it under load through a real server; these tests pin each
piece down one at a time.
"""

from __future__ import annotations

import fcntl
import io
import logging
import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import delete, insert, select, update

from core.clock import utcnow
from core.db import (
    GatedConnection,
    WroteWhileReading,
    done_writing,
    is_writing,
    make_engine,
    unwatch,
    watch,
    writing,
)
from tenants import api as tenants_api
from tenants import db as tenant_db
from tenants.audit.models import AccessLog
from tenants.consent.models import ConsentConfig
from tenants.events.models import Event
from tenants.participants import services as participants
from tenants.settings import services as settings
from tenants.settings.models import Settings
from tests import factories
from webapp.db import COMMITTED, RetryWhenBusy

pytestmark = pytest.mark.spans_connections  # SQLite's write lock between connections and threads


@pytest.fixture
def sqlite_only(is_postgres: bool) -> None:
    if is_postgres:
        pytest.skip("SQLite's write lock")


def _log_row(session) -> None:  # type: ignore[no-untyped-def]
    session.execute(insert(AccessLog).values(action="test", target="t", at=utcnow()))


# --- what is declared, and what is seen --------------------------------------------------------


def test_a_transaction_begun_as_a_read_that_writes_is_reported(app, sqlite_only):
    upgrades: list[str] = []
    tokens = watch(upgrades, [])
    try:
        with tenants_api.tenant_context("acme", writer=True) as session:
            session.scalar(select(AccessLog.id))
            _log_row(session)
        assert upgrades == []
        with tenants_api.tenant_context("acme") as session:
            session.scalar(select(AccessLog.id))
            _log_row(session)
        assert len(upgrades) == 1 and upgrades[0].startswith("INSERT INTO")
    finally:
        unwatch(tokens)


@contextmanager
def write_lock_held(slug: str) -> Iterator[threading.Event]:
    """Another connection holds ``slug``'s write lock and has changed a row; it commits when
    the yielded event is set (or after 5 s)."""
    release, holding = threading.Event(), threading.Event()

    def hold() -> None:
        other = sqlite3.connect(tenant_db.tenant_file(slug), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE events SET join_url = join_url || ''")
        holding.set()
        release.wait(5)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        yield release
    finally:
        release.set()
        thread.join()


def test_begin_writing_ends_the_read_so_the_writes_wait_for_the_lock(app, sqlite_only):
    """A read, then another writer commits, then a write: in one transaction SQLite refuses it
    at once ("database is locked"); after ``begin_writing`` it waits its turn and succeeds."""
    factories.event("acme")
    with tenants_api.tenant_context("acme") as session:
        session.scalar(select(Event.id))  # the read: a snapshot taken
        with write_lock_held("acme") as release:
            threading.Timer(0.2, release.set).start()
            tenant_db.begin_writing()
            _log_row(session)  # waited for the other writer's commit
        assert is_writing()
    assert not is_writing()  # for this unit of work only
    with tenants_api.tenant_context("acme") as session:
        assert session.scalar(select(AccessLog.action)) == "test"


def test_begin_writing_after_a_write_is_refused(app, sqlite_only):
    with pytest.raises(WroteWhileReading), \
            tenants_api.tenant_context("acme") as session:
        _log_row(session)
        tenant_db.begin_writing()


def test_the_confirmation_link_takes_the_write_lock_before_reading(app, client, sqlite_only,
                                                                  caplog):
    """A GET that writes, marked ``writes``: while another writer holds the lock it waits,
    then confirms, with no retry and nothing reported."""
    event_id = factories.event("acme", capacity=5)
    with tenants_api.tenant_context("acme", writer=True) as session:
        person = participants.add(session, email="lock@example.org", password="")
        from tenants.registration import services as registrations

        registrations.register_new(session, event_id, person.id, utcnow())
        token = participants.issue_token(session, person, "confirm")
    caplog.set_level(logging.INFO, logger="webapp.db")
    with write_lock_held("acme") as release:
        threading.Timer(0.3, release.set).start()
        began = time.monotonic()
        response = client.get(f"/t/acme/confirm/{token}")
    assert response.status_code == 303
    assert time.monotonic() - began >= 0.25  # it waited for the lock
    assert caplog.records == []  # neither run again nor reported
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Event, event_id).seats_taken == 1


# --- rows made at provisioning, never by a read ---------------------------------------------


def test_settings_and_banner_rows_are_made_at_provisioning(app, ctx):
    factories.tenant("fresh")
    with tenants_api.tenant_context("fresh") as session:
        assert session.get(Settings, 1) is not None
        assert session.get(ConsentConfig, 1) is not None


def test_a_tenant_without_its_settings_row_reads_defaults_and_a_writer_stores_it(app):
    with tenants_api.tenant_context("acme", writer=True) as session:
        session.execute(delete(Settings))
    with tenants_api.tenant_context("acme") as session:
        assert settings.languages(session) == ("fr", "en")
        assert settings.get(session).ratings_raters == "attended"
        session.flush()
        assert session.get(Settings, 1) is None  # a read stored nothing
    with tenants_api.tenant_context("acme", writer=True) as session:
        assert settings.get(session) in session
    with tenants_api.tenant_context("acme") as session:
        assert session.get(Settings, 1) is not None
        session.execute(update(Settings).values(languages=["en"]))
    with tenants_api.tenant_context("acme") as session:
        assert settings.languages(session) == ("en",)


# --- running a request again ------------------------------------------------------------------


def _busy_app(tmp_path, *, fail_times: int, commit_first: bool = False):  # type: ignore[no-untyped-def]
    """A WSGI app that writes to a SQLite file another connection holds locked ``fail_times``
    times (no busy timeout: "database is locked" at once), answering 503 then; it records the
    bodies it read."""
    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
    holder = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    calls: list[bytes] = []

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        calls.append(body)
        if commit_first:
            environ[COMMITTED] = True
        if len(calls) > fail_times and holder.in_transaction:
            holder.execute("ROLLBACK")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                conn.exec_driver_sql("INSERT INTO t VALUES (?)", (body.decode(),))
                conn.commit()
        except Exception:
            start_response("503 Service Unavailable", [("Retry-After", "1")])
            return [b"busy"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app, calls, engine


def _post(app, body: bytes = b"a=1"):  # type: ignore[no-untyped-def]
    seen: list[str] = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    result = b"".join(app(environ, lambda status, headers, exc_info=None: seen.append(status)))
    return seen, result


def test_a_request_that_met_a_busy_database_runs_again_with_its_body(tmp_path):
    app, calls, engine = _busy_app(tmp_path, fail_times=1)
    seen, body = _post(RetryWhenBusy(app))
    assert (seen, body) == (["200 OK"], b"ok")  # one answer: the second run's
    assert calls == [b"a=1", b"a=1"]
    engine.dispose()


def test_running_again_is_bounded_then_the_error_stands(tmp_path):
    app, calls, engine = _busy_app(tmp_path, fail_times=10)
    seen, _ = _post(RetryWhenBusy(app, retries=2))
    assert seen == ["503 Service Unavailable"] and len(calls) == 3
    engine.dispose()


def test_a_request_that_committed_is_never_run_again(tmp_path):
    app, calls, engine = _busy_app(tmp_path, fail_times=1, commit_first=True)
    seen, _ = _post(RetryWhenBusy(app))
    assert seen == ["503 Service Unavailable"] and len(calls) == 1
    engine.dispose()


# --- writers take their turn at a gate -------------------------------------------------------


def _gate_taken(path: str) -> bool:
    """Whether another descriptor may not take the writer gate of ``path`` right now."""
    fd = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_writer_holds_the_gate_from_begin_to_commit_and_a_reader_never(tmp_path):
    """SQLite's busy handler sleeps up to 100 ms between tries, so writers in a burst could wait
    seconds; they queue at a flock instead, taken before BEGIN IMMEDIATE, let go at COMMIT or
    ROLLBACK."""
    path = str(tmp_path / "gate.db")
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.commit()
            assert not _gate_taken(path)  # a unit of work that did not declare a write
            token = writing(True)
            try:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                assert _gate_taken(path)
                conn.commit()
                assert not _gate_taken(path)
                conn.exec_driver_sql("INSERT INTO t VALUES (2)")
                assert _gate_taken(path)
                conn.rollback()
                assert not _gate_taken(path)
            finally:
                done_writing(token)
    finally:
        engine.dispose()


def test_a_connection_keeps_one_gate_open_whatever_the_files_it_writes(tmp_path):
    """A tenant pool's connection writes one tenant file, then another: one descriptor."""
    connection = sqlite3.connect(":memory:", factory=GatedConnection)
    try:
        before = len(os.listdir("/proc/self/fd"))
        for n in range(20):
            assert connection.gate(str(tmp_path / f"tenant-{n}.db"))
            connection.rollback()
        assert len(os.listdir("/proc/self/fd")) <= before + 1
    finally:
        connection.close()


def test_a_second_writer_waits_at_the_gate_then_goes_on(tmp_path):
    path = str(tmp_path / "gate.db")
    first, second = (sqlite3.connect(path, factory=GatedConnection) for _ in range(2))
    try:
        assert first.gate(path)
        assert not second.gate(path, timeout=0.05)  # taken: it waits, then gives up
        done = threading.Event()
        waited: list[float] = []

        def wait_for_it() -> None:
            started = time.monotonic()
            assert second.gate(path, timeout=5)
            waited.append(time.monotonic() - started)
            done.set()

        threading.Thread(target=wait_for_it).start()
        time.sleep(0.1)
        first.commit()  # lets it go
        assert done.wait(5) and 0.09 < waited[0] < 0.2  # at once, not at a 100 ms poll
        second.rollback()
        assert not _gate_taken(path)
    finally:
        first.close()
        second.close()


def _take_the_gate_and_wait(path: str) -> None:
    held = sqlite3.connect(path, factory=GatedConnection)
    assert held.gate(path)
    time.sleep(60)


def test_a_writer_killed_at_the_gate_does_not_keep_it(tmp_path):
    """kill -9 of a process holding the gate: the kernel lets the flock go."""
    path = str(tmp_path / "gate.db")
    child = multiprocessing.get_context("fork").Process(target=_take_the_gate_and_wait,
                                                        args=(path,))
    child.start()
    try:
        deadline = time.monotonic() + 10
        while not _gate_taken(path):
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    survivor = sqlite3.connect(path, factory=GatedConnection)
    try:
        assert survivor.gate(path, timeout=1)
    finally:
        survivor.close()
