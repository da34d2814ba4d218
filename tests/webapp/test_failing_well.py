"""Failing well: error pages without the database, 503 + Retry-After when the database is
unavailable or the process overloaded, nothing half-written, and pools that cannot deadlock
under threaded workers (core/web/errors.py, core/web/admission.py, the pools of
tenants/db.py)."""

from __future__ import annotations

import multiprocessing
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask, abort, request
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, exc, func, select
from sqlalchemy.pool import NullPool
from werkzeug.test import TestResponse

from core.web import admission
from tenants import db as tenant_db
from tenants.participants.models import Participant
from tests import factories
from tests.conftest import StatementCounter
from tests.fixtures.people import english
from tests.tenants.account_helpers import signup_data
from webapp import db

FR_UNAVAILABLE = "Temporairement indisponible"
EN_UNAVAILABLE = "Temporarily unavailable"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dead_app(make_app: Callable[..., Flask]) -> Flask:
    """The app on a PostgreSQL server that is gone: every connection attempt is refused."""
    return make_app(DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/gone",
                    PROPAGATE_EXCEPTIONS=False)


def participants_in_acme() -> int:
    with tenant_db.tenant_context("acme") as session:
        return session.scalar(select(func.count()).select_from(Participant))


# --- error pages without the database --------------------------------------------------------


def test_a_gone_database_answers_503_with_retry_after_in_french(dead_app: Flask) -> None:
    response = dead_app.test_client().get("/t/acme/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert FR_UNAVAILABLE in page and '<html lang="fr">' in page
    assert "Erreur 503" in page


def test_the_503_page_follows_the_visitors_language(dead_app: Flask) -> None:
    response = english(dead_app.test_client()).get("/t/acme/events/1")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert EN_UNAVAILABLE in page and '<html lang="en">' in page


def test_an_htmx_request_gets_the_503_fragment(dead_app: Flask) -> None:
    response = dead_app.test_client().post("/t/acme/signup", data=signup_data("a@example.org"),
                                           headers={"HX-Request": "true"})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.headers["HX-Retarget"] == "#main"
    page = response.get_data(as_text=True)
    assert FR_UNAVAILABLE in page and "<html" not in page


def test_a_signed_in_member_gets_503_not_500_when_the_database_is_gone(dead_app: Flask) -> None:
    client = dead_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "m:1"  # loading this account needs the database
    for path in ("/account", "/no-such-page"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert FR_UNAVAILABLE in response.get_data(as_text=True)


def test_a_404_needs_no_database(dead_app: Flask) -> None:
    response = english(dead_app.test_client()).get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_the_500_page_is_static_and_translated(make_app: Callable[..., Flask],
                                               statements: StatementCounter) -> None:
    broken = make_app(PROPAGATE_EXCEPTIONS=False)

    def boom() -> str:
        statements.__enter__()  # from here on: what the error page asks the database
        raise RuntimeError("a bug")

    broken.add_url_rule("/_boom", "boom", boom)
    with broken.app_context():
        factories.account("member@example.org")
    client = broken.test_client()
    assert factories.login(client, "member@example.org").status_code == 303
    response = client.get("/_boom")
    statements.__exit__()
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Une erreur s'est produite" in page and '<html lang="fr">' in page
    assert "Retry-After" not in response.headers
    assert statements.count == 0  # no account menu, no banner: nothing asked
    with statements:  # whereas a 404 gets the full layout, banners included
        assert client.get("/no-such-page").status_code == 404
    assert statements.count > 0


# --- a database error is a 503, and nothing is half-written ----------------------------------


def test_a_locked_database_at_commit_is_a_503_and_nothing_is_written(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    event_id = factories.event("acme")
    before = participants_in_acme()

    def locked(session) -> None:  # type: ignore[no-untyped-def]
        if session.info.get("tenant") == "acme":
            raise exc.OperationalError("COMMIT", {}, sqlite3.OperationalError(
                "database is locked"))

    event.listen(tenant_db._tenant_sessions, "before_commit", locked)
    try:
        response = app.test_client().post(f"/t/acme/events/{event_id}/signup",
                                          data=signup_data("locked@example.org"))
    finally:
        event.remove(tenant_db._tenant_sessions, "before_commit", locked)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert FR_UNAVAILABLE in response.get_data(as_text=True)
    assert participants_in_acme() == before


def test_a_connection_the_server_ended_mid_request_still_gives_a_clean_503(
        make_app: Callable[..., Flask], is_postgres: bool) -> None:
    """PostgreSQL ends a request's connection while it holds a transaction (a restart): the
    rollback its teardown sends fails, which must not turn the 503 into a server's bare 500."""
    if not is_postgres:
        pytest.skip("a PostgreSQL server ends the connection")
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def cut() -> str:
        session = db.session()  # the control plane's connection, in a transaction
        pid = session.execute(select(func.pg_backend_pid())).scalar()
        admin = create_engine(db.engine().url, poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(select(func.pg_terminate_backend(pid, 5000)))
        admin.dispose()
        abort(503)  # as when the tenant plane's query failed first

    app.add_url_rule("/_cut", "cut", cut)
    response = app.test_client().get("/_cut")
    assert response.status_code == 503 and response.headers["Retry-After"]
    with app.app_context():
        assert db.engine().pool.checkedout() == 0


def test_a_bug_in_sql_stays_a_500(make_app: Callable[..., Flask]) -> None:
    from core.web.errors import database_unavailable

    no_table = exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert not database_unavailable(no_table)
    assert database_unavailable(exc.OperationalError("BEGIN", {}, sqlite3.OperationalError(
        "database is locked")))
    assert database_unavailable(exc.TimeoutError("QueuePool limit of size 2 overflow 2"))


# --- admission control ------------------------------------------------------------------------


def test_a_request_that_waited_past_the_queue_budget_is_refused_at_once(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(QUEUE_TIMEOUT=2)
    client = english(app.test_client())
    stale = client.get("/", headers={"X-Request-Start": f"t={time.time() - 3:.3f}"})
    assert stale.status_code == 503
    assert stale.headers["Retry-After"] == "5"
    assert EN_UNAVAILABLE in stale.get_data(as_text=True)
    fresh = client.get("/", headers={"X-Request-Start": f"t={time.time() - 0.5:.3f}"})
    assert fresh.status_code == 200
    # Milliseconds and microseconds since the epoch, as load balancers write them.
    assert client.get("/", headers={"X-Request-Start": str(int((time.time() - 3) * 1e3))}
                      ).status_code == 503
    assert client.get("/", headers={"X-Request-Start": str(int((time.time() - 3) * 1e6))}
                      ).status_code == 503
    assert client.get("/", headers={"X-Request-Start": "garbage"}).status_code == 200
    assert client.get("/", headers={"X-Request-Start": "t=0"}).status_code == 200


@pytest.fixture
def tcp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(client, accepted server side) of a loopback TCP connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    with client, server:
        yield client, server


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
def test_the_queue_time_of_a_sync_worker_is_read_from_the_socket(
        tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = tcp_pair
    client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)  # the request waits in the backlog, as behind a busy sync worker
    server.recv(100)
    waited = admission.queued_seconds({"gunicorn.socket": server}, time.time())
    assert 0.25 <= waited < 2
    assert admission.queued_seconds({}, time.time()) == 0


def test_a_client_that_hung_up_is_seen_before_commit(
        tcp_pair: tuple[socket.socket, socket.socket]) -> None:
    client, server = tcp_pair
    assert not admission.client_gone({"gunicorn.socket": server})
    client.close()
    time.sleep(0.05)
    assert admission.client_gone({"gunicorn.socket": server})
    assert not admission.client_gone({})


def test_a_request_past_its_deadline_does_not_commit(make_app: Callable[..., Flask]) -> None:
    app = make_app(QUEUE_TIMEOUT=0, REQUEST_DEADLINE=1, PROPAGATE_EXCEPTIONS=False)
    event_id = factories.event("acme")
    before = participants_in_acme()
    late = app.test_client().post(f"/t/acme/events/{event_id}/signup",
                                  data=signup_data("late@example.org"),
                                  headers={"X-Request-Start": f"t={time.time() - 2:.3f}"})
    assert late.status_code == 503 and late.headers["Retry-After"]
    assert participants_in_acme() == before
    page = app.test_client().get(f"/t/acme/events/{event_id}/signup",
                                 headers={"X-Request-Start": f"t={time.time() - 2:.3f}"})
    assert page.status_code == 200  # a page that was only read is sent, however late
    on_time = app.test_client().post(f"/t/acme/events/{event_id}/signup",
                                     data=signup_data("on-time@example.org"))
    assert on_time.status_code == 303
    assert participants_in_acme() == before + 1


def test_requests_beyond_the_in_flight_bound_wait_then_are_refused(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(MAX_IN_FLIGHT=1, QUEUE_TIMEOUT=0.3)
    entered, release = threading.Event(), threading.Event()

    def slow() -> str:
        entered.set()
        release.wait(10)
        return "done"

    app.add_url_rule("/_slow", "slow", slow)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(app.test_client().get, "/_slow")
        assert entered.wait(10)
        began = time.monotonic()
        refused = app.test_client().get("/")
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert time.monotonic() - began < 1
        release.set()
        assert held.result().status_code == 200
    assert app.test_client().get("/").status_code == 200


def test_refusals_are_answered_from_a_kept_page_in_the_visitors_language(
        make_app: Callable[..., Flask]) -> None:
    """Under overload most requests are refused: after the first of each kind (language, htmx
    or not), the middleware answers them itself, without running the app's request."""
    app = make_app(QUEUE_TIMEOUT=1)
    seen: list[str] = []
    app.url_value_preprocessors[None].insert(0, lambda _endpoint, _values: seen.append(
        request.path))

    def stale(client: FlaskClient, **headers: str) -> TestResponse:
        return client.get("/t/acme/", headers={"X-Request-Start": f"t={time.time() - 3:.3f}",
                                               **headers})

    french, visitor = stale(app.test_client()), english(app.test_client())
    again = stale(app.test_client())
    assert again.status_code == 503 and again.headers["Retry-After"] == "5"
    assert again.get_data() == french.get_data() and FR_UNAVAILABLE in again.get_data(True)
    assert dict(again.headers) == dict(french.headers)
    assert "language-switch" not in again.get_data(as_text=True)  # no form of one session
    assert "Set-Cookie" not in again.headers
    in_english = [stale(visitor), stale(visitor)]
    assert all(EN_UNAVAILABLE in page.get_data(as_text=True) for page in in_english)
    fragments = [stale(visitor, **{"HX-Request": "true"}) for _ in range(2)]
    assert all(EN_UNAVAILABLE in page.get_data(as_text=True)
               and "<html" not in page.get_data(as_text=True)
               and page.headers["HX-Retarget"] == "#main" for page in fragments)
    assert len(seen) == 3  # one request through the app per kind: French, English, fragment
    assert stale(visitor, **{"HX-Request": "odd"}).status_code == 503  # not kept, still 503
    assert len(seen) == 4


def test_cpu_slots_bound_requests_across_processes(tmp_path: Path) -> None:
    slots = admission.CpuSlots(tmp_path / "cpu", 1)
    held = slots.acquire(timeout=0)
    assert held == 0
    assert slots.acquire(timeout=0.05) is None  # another thread of this process
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply(_slot_taken_in_child, (tmp_path,)) is None  # another process
        slots.release(held)
        assert pool.apply(_slot_taken_in_child, (tmp_path,)) == 0
    assert admission.cpu_slots_count("") >= 1 and admission.cpu_slots_count("0") == 0


def test_cpu_slots_leave_a_local_database_server_a_cpu(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(admission.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    local = ("postgresql+psycopg://postgres@127.0.0.1:5432/parvis",
             "postgresql+psycopg://parvis@localhost/parvis",
             "postgresql+psycopg:///parvis?host=/var/run/postgresql")
    for url in local:
        assert admission.cpu_slots_count("", url) == 3, url
    assert admission.cpu_slots_count("", "postgresql+psycopg://parvis@db.internal/parvis") == 4
    assert admission.cpu_slots_count("", "sqlite:////srv/parvis/parvis.db") == 4  # in-process
    assert admission.cpu_slots_count("2", local[0]) == 2  # a setting wins
    monkeypatch.setattr(admission.os, "sched_getaffinity", lambda pid: {0})
    assert admission.cpu_slots_count("", local[0]) == 1


def _slot_taken_in_child(folder: Path) -> int | None:
    slots = admission.CpuSlots(folder / "cpu", 1)
    taken = slots.acquire(timeout=0.05)
    if taken is not None:
        slots.release(taken)
    return taken


def test_a_standing_queue_shortens_the_queue_budget_to_the_target(
        make_app: Callable[..., Flask]) -> None:
    middleware = make_app(QUEUE_TIMEOUT=0.5, QUEUE_TARGET=0.05).wsgi_app
    while not isinstance(middleware, admission.Admission):
        middleware = middleware.app  # type: ignore[attr-defined]
    state = middleware.queue_state({})
    now = time.time()

    def budget(waited: float, at: float) -> float:
        middleware.observe(state, waited, now + at)
        return middleware.budget(state, now + at)

    assert budget(0.3, 0) == 0.5  # a burst: waits over the target, not for long
    assert budget(0.01, 0.05) == 0.5  # it drained
    assert budget(0.2, 0.1) == 0.5
    assert budget(0.2, 0.25) == 0.05  # over the target for 0.15 s: the queue stands
    assert budget(0.01, 0.3) == 0.05  # one short wait does not end it
    assert budget(0.2, 1.2) == 0.05
    assert budget(0.01, 2.3) == 0.5  # a second without a wait over the target ends it
    assert budget(0.2, 5) == 0.5  # after a quiet while, a new count


def test_a_standing_queue_allows_a_wait_as_long_as_a_run(
        make_app: Callable[..., Flask]) -> None:
    """The target follows the mean run time, between 5 ms and QUEUE_TARGET: under overload an
    accepted request waits about as long as it then runs."""
    middleware = make_app(QUEUE_TIMEOUT=0.5, QUEUE_TARGET=0.05).wsgi_app
    while not isinstance(middleware, admission.Admission):
        middleware = middleware.app  # type: ignore[attr-defined]
    state = admission.QueueState(None)
    now = time.time()
    for at in (0, 0.05, 0.1, 0.15):  # the queue stands
        middleware.observe(state, 0.3, now + at)
    assert middleware.budget(state, now + 0.2) == 0.05  # no run time known yet
    for _ in range(100):
        middleware.observe_run(state, 0.02)
    assert middleware.budget(state, now + 0.2) == pytest.approx(0.02)
    assert middleware.budget(state, now + 5) == 0.5  # once the queue drained: the timeout
    for _ in range(100):
        middleware.observe_run(state, 0.001)
    assert middleware.budget(state, now + 0.2) == 0.005  # the floor
    for _ in range(100):
        middleware.observe_run(state, 0.4)
    assert middleware.budget(state, now + 0.2) == 0.05  # the ceiling: QUEUE_TARGET

    served = make_app(QUEUE_TIMEOUT=0.5, QUEUE_TARGET=0.05)
    served.test_client().get("/healthz")
    entrance = served.wsgi_app
    while not isinstance(entrance, admission.Admission):
        entrance = entrance.app  # type: ignore[attr-defined]
    assert entrance.queue_state({}).read()[3] > 0  # a request that ran counted its run time


def test_a_standing_queue_runs_one_request_fewer_at_once(
        make_app: Callable[..., Flask], tmp_path: Path) -> None:
    """Under a sustained overload one CPU slot fewer may be taken (never fewer than one), so
    requests that wait on each other (SQLite's one writer) stop adding to the tail."""
    middleware = make_app(QUEUE_TIMEOUT=0.5, QUEUE_TARGET=0.05, CPU_SLOTS=3).wsgi_app
    while not isinstance(middleware, admission.Admission):
        middleware = middleware.app  # type: ignore[attr-defined]
    state = admission.QueueState(None)
    assert middleware.usable_slots(state) == 3
    now = time.time()
    for at in (-0.2, -0.1, 0):  # the queue stands
        middleware.observe(state, 0.3, now + at)
    assert middleware.usable_slots(state) == 2
    slots = admission.CpuSlots(tmp_path / "cpu", 3)
    taken = [slots.acquire(0.01, lambda: 2) for _ in range(3)]
    assert sorted(t for t in taken if t is not None) == [0, 1] and taken.count(None) == 1
    assert slots.acquire(0.01, lambda: 0) is None  # at least one slot is usable, and it is taken


def test_the_in_flight_bound_never_exceeds_a_pool() -> None:
    assert admission.in_flight_bound(0, 4) == 4
    assert admission.in_flight_bound(2, 4) == 2
    assert admission.in_flight_bound(12, 4) == 4


# --- pools under threaded workers ------------------------------------------------------------


def test_twelve_threads_on_pools_of_two_never_time_out(make_app: Callable[..., Flask]) -> None:
    """A signed-in member's tenant page holds a control-plane connection (the account, the
    role) and then a tenant one: with one shared pool, 12 threads could each hold the first
    and wait for the second (the "QueuePool limit … timed out" testers saw)."""
    app = make_app(DB_POOL_SIZE=2, DB_MAX_OVERFLOW=0, DB_POOL_TIMEOUT=3, QUEUE_TIMEOUT=30,
                   PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        factories.member("acme", "owner@acme.test", "owner")
    factories.event("acme")
    first = app.test_client()
    assert factories.login(first, "owner@acme.test").status_code == 303
    cookie = first.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None

    def browse(_thread: int) -> Counter[int]:
        client = app.test_client()
        client.set_cookie(cookie.key, cookie.value)
        return Counter(client.get("/t/acme/admin/events").status_code for _ in range(8))

    with ThreadPoolExecutor(12) as pool:
        statuses = sum(pool.map(browse, range(12)), Counter())
    assert statuses == Counter({200: 96})
    with app.app_context():
        assert db.engine().pool.checkedout() == 0  # every connection went back
