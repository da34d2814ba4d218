"""Admission control: answer 503 at once rather than queueing without end.

Four guards, all answering ``503`` with ``Retry-After`` through the database-free error page
(``core.web.errors``; the middleware keeps the first of each kind and sends it again itself,
``Admission.refuse``, as most requests are refused under overload):

* **Queue time.** How long the request waited before the application saw it: since the last
  byte of the request reached this machine's TCP stack (``TCP_INFO``'s ``last_data_recv`` on
  the socket gunicorn hands over as ``gunicorn.socket``), or since the ``X-Request-Start``
  stamp of a proxy in front (nginx: ``proxy_set_header X-Request-Start "t=${msec}";``),
  whichever is longer. A sync worker serves one request at a time, so its queue is the
  listen backlog, before ``accept()``: only the kernel's timestamps see it. A request that
  waited longer than its budget is refused before any work: ``QUEUE_TIMEOUT``, or
  ``QUEUE_TARGET`` while the queue stands (CoDel-like, ``Admission.observe``), since in a
  first-in first-out queue that stands, every accepted request waits the whole budget. The
  target follows the work: it is the recent mean run time of a request (``observe_run``),
  between ``MIN_TARGET`` and ``QUEUE_TARGET``, so an accepted request waits about as long as
  it then runs, whether requests take 5 ms or 50 ms.
* **CPU slots.** At most ``CPU_SLOTS`` requests (the CPUs) run at once among the processes
  sharing the instance folder (``CpuSlots``); a request waits for one within its budget.
* **In flight.** At most ``MAX_IN_FLIGHT`` requests run the application at once (threaded
  workers); the others wait for a slot while their queue budget lasts, then are refused. The
  bound never exceeds a pool's capacity: each plane has a pool of its own and a request holds
  at most one connection of each, so a request that has a slot never waits for a connection.
* **Deadline.** A request that writes (POST, PUT, DELETE…) must commit within
  ``REQUEST_DEADLINE`` of its arrival, and its client must still be connected:
  ``check_before_commit()`` (called by ``webapp.db.commit``) refuses otherwise, so nothing is
  written for a client that gave up (the unit of work rolls back). A page that was only read
  is sent however late.

``QUEUE_TIMEOUT`` or ``REQUEST_DEADLINE`` at 0 turns that check off.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy.engine import make_url
from werkzeug.exceptions import ServiceUnavailable

# ``struct tcp_info`` (linux/tcp.h): ``tcpi_last_data_recv`` (u32, ms) is at byte 52.
_TCP_INFO = getattr(socket, "TCP_INFO", None)
_LAST_DATA_RECV = 52
_TCP_INFO_SIZE = 104

ARRIVAL = "parvis.arrival"  # environ keys: time.time() the request arrived
DEADLINE = "parvis.deadline"  # time.time() after which it may not commit
REFUSED = "parvis.refused"  # why the middleware refused it ("queue" or "busy")
SHARED = "parvis.shared"  # render a page that may be sent to anyone (core.web.errors)
READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}


class Unavailable(ServiceUnavailable):
    """Refused for load or lateness: nothing was done, the client may try again shortly."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _socket_wait(sock: object) -> float:
    """Seconds since the request's last bytes reached the kernel (0 when unknown)."""
    if _TCP_INFO is None or not isinstance(sock, socket.socket):
        return 0.0
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
    except OSError:  # a Unix socket, a closed one
        return 0.0
    if len(info) < _LAST_DATA_RECV + 4:
        return 0.0
    return struct.unpack_from("I", info, _LAST_DATA_RECV)[0] / 1000


def _header_start(value: str | None) -> float | None:
    """``X-Request-Start``: ``t=<seconds>`` (nginx ``${msec}``) or an epoch number in seconds,
    milliseconds or microseconds (as load balancers write it)."""
    if not value:
        return None
    try:
        stamp = float(value.strip().removeprefix("t="))
    except ValueError:
        return None
    for scale in (1, 1e3, 1e6):  # seconds until 2286, then ms, then µs
        if stamp / scale < 1e10:
            # Before 2001 is no stamp of this request (a proxy writing 0): ignored.
            return stamp / scale if stamp / scale > 1e9 else None
    return None


def queued_seconds(environ: dict[str, Any], now: float) -> float:
    """How long the request waited before reaching the application."""
    waited = _socket_wait(environ.get("gunicorn.socket"))
    started = _header_start(environ.get("HTTP_X_REQUEST_START"))
    if started is not None:
        # A clock ahead of ours (or a forged header) counts as no wait, never as a negative one.
        waited = max(waited, now - started)
    return max(waited, 0.0)


def client_gone(environ: dict[str, Any]) -> bool:
    """Whether the client closed its connection (it timed out or went away).

    The request was read, so a readable socket that yields no byte means the peer sent FIN.
    Only for a socket gunicorn hands over; no socket, no verdict.
    """
    sock = environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False  # nothing to read: the client is waiting
    except OSError:
        return True  # reset, or closed under us


class Admission:
    """The WSGI middleware around ``app.wsgi_app``; see the module docstring."""

    HTMX_HEADERS = ("REQUEST", "BOOSTED", "HISTORY_RESTORE_REQUEST")
    STANDING = 0.1  # seconds over the target after which the queue counts as standing
    LINGER = 1.0  # seconds without a wait over the target after which it no longer does
    MIN_TARGET = 0.005  # seconds: the target's floor (CoDel's own target), whatever the run times
    RUN_WEIGHT = 0.1  # weight of the latest run time in the running mean

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        config = app.config
        self.queue_timeout = float(config["QUEUE_TIMEOUT"])
        self.queue_target = float(config.get("QUEUE_TARGET", 0))
        folder = self.folder = Path(app.instance_path) / "admission"
        self.states: dict[str, QueueState] = {}
        self.deadline = float(config["REQUEST_DEADLINE"])
        self.slots_count = in_flight_bound(
            int(config["MAX_IN_FLIGHT"]),
            int(config["DB_POOL_SIZE"]) + int(config["DB_MAX_OVERFLOW"]))
        self.slots = threading.BoundedSemaphore(self.slots_count)
        cpus = cpu_slots_count(config.get("CPU_SLOTS", ""), str(config.get("DATABASE_URL", "")))
        self.cpu_slots = (CpuSlots(folder / "cpu", cpus)
                          if cpus else None)
        self.static_prefix = (app.static_url_path or "/static") + "/"
        self.refusals: dict[tuple[str, ...], tuple[str, tuple, bytes]] = {}
        self.languages = tuple(config["LANGUAGES"])
        self.default_language = str(config["BABEL_DEFAULT_LOCALE"])
        self.session_cookie = str(config["SESSION_COOKIE_NAME"]) + "="

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        now = time.time()
        waited = queued_seconds(environ, now)
        arrival = now - waited
        environ[ARRIVAL] = arrival
        if self.deadline:
            environ[DEADLINE] = arrival + self.deadline
        state = self.queue_state(environ) if self.queue_timeout else None
        budget = self.budget(state, now) if state is not None else None
        if budget is not None and waited > budget:
            self.observe(state, waited, now)
            return self.refuse(environ, start_response, "queue")
        if environ.get("PATH_INFO", "").startswith(self.static_prefix):
            return self.wsgi_app(environ, start_response)  # no database, no slot
        if not self.slots.acquire(timeout=None if budget is None else budget - waited):
            self.observe(state, time.time() - arrival, time.time())
            return self.refuse(environ, start_response, "busy")
        try:
            cpu = None
            if self.cpu_slots is not None:
                # The budget is read again while waiting: the queue may start to stand.
                cpu = self.cpu_slots.acquire(None if state is None else (
                    lambda: arrival + self.budget(state, time.time()) - time.time()),
                    None if state is None else (lambda: self.usable_slots(state)))
            started = time.time()
            self.observe(state, started - arrival, started)
            if self.cpu_slots is not None and cpu is None:
                return self.refuse(environ, start_response, "busy")
            try:
                # Flask's ``wsgi_app`` ends the request (teardown, sessions closed, connections
                # back in their pools) before it returns the body.
                return self.wsgi_app(environ, start_response)
            finally:
                if cpu is not None:
                    self.cpu_slots.release(cpu)  # type: ignore[union-attr]
                self.observe_run(state, time.time() - started)
        finally:
            self.slots.release()

    def refuse(self, environ: dict[str, Any], start_response: Callable[..., Any],
               reason: str) -> Iterable[bytes]:
        """503 + Retry-After. The answer depends only on the language and on how htmx asked,
        so the first one of each kind goes through the app (``refuse_if_told``, the error
        page without the session's language form) and is kept; the others are sent as kept,
        for a fraction of a request's cost: under overload most requests are refused."""
        environ[REFUSED] = reason
        kind = self.refusal_kind(environ)
        if kind is None:
            return self.wsgi_app(environ, start_response)
        kept = self.refusals.get(kind)
        if kept is not None:
            status, headers, body = kept
            self.app.logger.warning("503 on %s %s (%s)", environ.get("REQUEST_METHOD"),
                                    environ.get("PATH_INFO"), reason)
            start_response(status, list(headers))
            return [body]
        environ[SHARED] = True
        answer: list[Any] = []

        def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, keep)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = answer
        if status.startswith("503") and not any(name.lower() == "set-cookie"
                                                for name, _value in headers):
            self.refusals[kind] = (status, tuple(headers), body)
        return [body]

    def refusal_kind(self, environ: dict[str, Any]) -> tuple[str, ...] | None:
        """(language, htmx headers) of a refused request's page; None: not one to keep."""
        if environ.get("REQUEST_METHOD") == "HEAD":
            return None
        htmx = tuple(environ.get(f"HTTP_HX_{name}", "") for name in self.HTMX_HEADERS)
        if any(value not in ("", "true") for value in htmx):
            return None
        language = self.default_language
        if self.session_cookie in environ.get("HTTP_COOKIE", ""):
            try:
                session = self.app.session_interface.open_session(
                    self.app, self.app.request_class(environ))
                chosen = session.get("lang") if session is not None else None
            except Exception:
                chosen = None
            if isinstance(chosen, str) and chosen in self.languages:
                language = chosen
        return (language, *htmx)

    def budget(self, state: QueueState, now: float) -> float:
        """The queue budget of a request arriving ``now``: ``QUEUE_TIMEOUT``, or the target
        while the queue stands (``observe``)."""
        if not self.queue_target or self.queue_target >= self.queue_timeout:
            return self.queue_timeout
        _above, standing_until, _seen, run = state.read()
        return self.target(run) if now < standing_until else self.queue_timeout

    def usable_slots(self, state: QueueState) -> int:
        """The CPU slots a request may take now: all of them, one fewer while the queue
        stands. Requests running at once wait on each other (SQLite's one writer, a local
        database's CPU), so under a sustained overload one fewer cuts the accepted requests'
        tail; the queue is never empty meanwhile, so the slots left stay busy."""
        count = len(self.cpu_slots.paths) if self.cpu_slots is not None else 0
        standing = time.time() < state.read()[1]
        return max(count - 1, 1) if standing else count

    def target(self, run: float) -> float:
        """The wait a standing queue allows: the mean run time ``run`` (as long as a request
        then runs), between ``MIN_TARGET`` and ``QUEUE_TARGET`` (``QUEUE_TARGET`` until a
        run time is known)."""
        if not run:
            return self.queue_target
        return min(self.queue_target, max(self.MIN_TARGET, run))

    def observe_run(self, state: QueueState | None, seconds: float) -> None:
        """Count the run time of a request that ran (from its CPU slot to its answer) into
        the running mean the target follows."""
        if state is None or not self.queue_target:
            return
        above_since, standing_until, last_seen, run = state.read()
        run = seconds if not run else run + self.RUN_WEIGHT * (seconds - run)
        state.write(above_since, standing_until, last_seen, run)

    def observe(self, state: QueueState | None, sojourn: float, now: float) -> None:
        """Count a request that waited ``sojourn`` in all (listen queue, then slots) before
        it ran or was refused. As in CoDel, the queue stands once every request for
        ``STANDING`` seconds had waited more than the target (a burst that drains is a good
        queue; one that does not is overload), and it stands until none waited more than the
        target for ``LINGER`` seconds. The workers that take from one listening socket share
        the state, as they share its queue (``queue_state``)."""
        if state is None or not self.queue_target or self.queue_target >= self.queue_timeout:
            return
        above_since, standing_until, last_seen, run = state.read()
        target = self.target(run)
        if now - last_seen > self.LINGER:
            above_since = 0.0  # no request for a while: nothing is known of the queue
        if sojourn <= target:
            above_since = 0.0
        else:
            if not above_since:
                above_since = now
            if now < standing_until or now - above_since >= self.STANDING:
                standing_until = now + self.LINGER
        state.write(above_since, standing_until, now, run)

    def queue_state(self, environ: dict[str, Any]) -> QueueState:
        """The state of the listening socket the request came through, in a file of the
        instance folder per address; without a socket (tests, Unix sockets behind a proxy
        that sets ``X-Request-Start``), the process's own."""
        sock = environ.get("gunicorn.socket")
        address = ""
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET,
                                                               socket.AF_INET6):
            try:
                host, port = sock.getsockname()[:2]
                address = f"{host}-{port}".replace(":", "_")
            except OSError:
                address = ""
        state = self.states.get(address)
        if state is None:
            state = self.states.setdefault(
                address, QueueState(self.folder / f"queue-{address}" if address else None))
        return state


class QueueState:
    """Four numbers shared by the processes that use ``path`` (a file mapped in memory,
    opened lazily after a fork): since when requests waited over the target (0: not), until
    when the queue counts as standing, when a request was last seen, and the mean run time of
    requests (0: none yet). Races between processes only move a number by a request; without
    a path or a writable folder, the state is the process's own."""

    FORMAT = "dddd"
    SIZE = struct.calcsize(FORMAT)

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.pid = 0
        self.memory: Any = bytearray(self.SIZE)

    def _memory(self) -> Any:
        if self.path is not None and self.pid != os.getpid():
            self.pid = os.getpid()
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    if os.fstat(fd).st_size < self.SIZE:
                        os.ftruncate(fd, self.SIZE)
                    self.memory = mmap.mmap(fd, self.SIZE)
                finally:
                    os.close(fd)
            except OSError:
                self.memory = bytearray(self.SIZE)
        return self.memory

    def read(self) -> tuple[float, float, float, float]:
        above_since, standing_until, last_seen, run = struct.unpack_from(
            self.FORMAT, self._memory())
        return above_since, standing_until, last_seen, run

    def write(self, above_since: float, standing_until: float, last_seen: float,
              run: float) -> None:
        struct.pack_into(self.FORMAT, self._memory(), 0, above_since, standing_until,
                         last_seen, run)


LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


def cpu_slots_count(setting: str | int, database_url: str = "") -> int:
    """``CPU_SLOTS``: 0, no bound; empty, the CPUs this process may run on, less one when the
    database server runs on this machine (a PostgreSQL URL to a loopback address or a Unix
    socket) and there are several: its backends need a CPU of their own, or every request
    runs slower beside them (measured: bench/README.md, ``burst``)."""
    if str(setting).strip():
        return max(int(setting), 0)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    if cpus > 1 and database_url.startswith("postgresql"):
        host = make_url(database_url).host or ""
        if host in LOCAL_HOSTS or host.startswith("/"):
            return cpus - 1
    return cpus


class CpuSlots:
    """At most ``count`` requests running at once among all the processes (gunicorn's
    workers) that share ``folder``: one lock file per slot, held with ``flock``, which the
    kernel releases when its holder dies, so a killed worker never keeps a slot.

    Files are opened lazily in each process (an ``flock`` belongs to an open file, which a
    fork would share); threads of one process take a slot's thread lock first, since the
    ``flock`` of a file their process already holds would succeed again."""

    POLL = 0.001  # seconds between two rounds of tries while every slot is taken

    def __init__(self, folder: Path, count: int) -> None:
        self.paths = [folder.with_name(f"{folder.name}-{i}") for i in range(count)]
        self.locks = [threading.Lock() for _ in range(count)]
        self.fds: list[int] = []
        self.pid = 0
        self.guard = threading.Lock()

    def _files(self) -> list[int]:
        if self.pid != os.getpid():
            with self.guard:
                if self.pid != os.getpid():
                    self.paths[0].parent.mkdir(parents=True, exist_ok=True)
                    self.fds = [os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                                for path in self.paths]
                    self.pid = os.getpid()
        return self.fds

    def acquire(self, timeout: float | Callable[[], float] | None,
                usable: Callable[[], int] | None = None) -> int | None:
        """A slot's index, or None when none came free within ``timeout`` seconds (or, for a
        function, once it answers 0 or less: the time left, asked again between tries).
        ``usable`` says how many of the slots may be taken now (asked between tries)."""
        fds = self._files()
        deadline = (None if timeout is None or callable(timeout)
                    else time.monotonic() + timeout)
        first = os.getpid()  # processes start at different slots
        while True:
            count = min(max(usable(), 1), len(fds)) if usable is not None else len(fds)
            for k in range(count):
                i = (first + k) % count
                if not self.locks[i].acquire(blocking=False):
                    continue
                try:
                    fcntl.flock(fds[i], fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:  # held by another process
                    self.locks[i].release()
                    continue
                return i
            if callable(timeout):
                if timeout() <= 0:
                    return None
            elif deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(self.POLL)

    def release(self, slot: int) -> None:
        fcntl.flock(self.fds[slot], fcntl.LOCK_UN)
        self.locks[slot].release()


def in_flight_bound(wanted: int, capacity: int) -> int:
    """``MAX_IN_FLIGHT`` (``wanted``), never above a pool's ``capacity``; 0 means the capacity."""
    return capacity if wanted <= 0 else min(wanted, capacity)


def refuse_if_told(endpoint: str | None, values: dict | None) -> None:
    """First URL value preprocessor of the app: a request the middleware refused ends here,
    before any preprocessor or hook that reads the database."""
    reason = request.environ.get(REFUSED)
    if reason is not None:
        raise Unavailable(reason)


def check_before_commit() -> None:
    """Refuse to commit a request past its deadline or whose client left: ``Unavailable``.

    Only for methods that write: a page that was read is sent, however late."""
    if not has_request_context() or request.method in READ_ONLY_METHODS:
        return
    environ = request.environ
    deadline = environ.get(DEADLINE)
    if deadline is not None and time.time() > deadline:
        raise Unavailable("deadline")
    if client_gone(environ):
        raise Unavailable("client gone")


def init_app(app: Flask) -> None:
    app.wsgi_app = Admission(app, app.wsgi_app)  # type: ignore[method-assign]
    app.url_value_preprocessors.setdefault(None, []).insert(0, refuse_if_told)

