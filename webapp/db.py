"""Control-plane database: ``ControlBase``, the platform engine and the request's one commit.

Services receive a session, validate, flush and log; they never commit. A web request commits
once, in ``commit_request`` (tenant unit of work first, then the control plane), unless the
response is a server error; an exception or a 5xx rolls everything back when the context ends.
Client errors (4xx) do commit: services validate before writing, so a refused form has written
nothing, while deliberate records of a refusal (a failed login for throttling) must be kept.
"""

from __future__ import annotations

import functools
import io
import logging
import random
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import Engine, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from core.db import (
    NAMING_CONVENTION,
    WRITES_AFTER_READING,
    WRITES_FIRST,
    UTCDateTime,
    close_quietly,
    declared_writes,
    done_writing,
    make_engine,
    session_factory,
    unwatch,
    watch,
    writing,
)
from core.web import admission
from tenants import api as tenants_api


class ControlBase(DeclarativeBase):
    """Base of every control-plane table (accounts, tenant registry, billing, registers)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(),
                                                 onupdate=func.now())


def init_app(app: Flask) -> None:
    """Give ``app`` its own engine and session factory, and point the tenant plane at them."""
    control = make_engine(app.config["DATABASE_URL"], **pool_options(app))
    app.extensions["parvis_engine"] = control
    app.extensions["parvis_sessions"] = session_factory(ControlBase, control)
    bind_tenant_plane(app)
    app.before_request(declare_writes)
    app.after_request(commit_request)
    app.teardown_request(end_writes)
    app.wsgi_app = RetryWhenBusy(app.wsgi_app)  # type: ignore[method-assign]
    app.teardown_appcontext(close_session)


READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}


def declare_writes() -> None:
    """Whether this request writes, from its method or its view's marker.

    A POST (or PUT, DELETE…) writes, and so does a view marked ``writes`` whatever its method
    (a GET following an e-mailed link): on SQLite its transactions take the write lock first,
    so concurrent writers queue on the busy timeout instead of failing. A view marked
    ``writes_after_reading`` declares it itself, with ``begin_writing()``, after its reads.
    """
    request.environ[ENDPOINT] = request.endpoint  # for the log lines of ``RetryWhenBusy``
    view = current_app.view_functions.get(request.endpoint or "")
    declared = declared_writes(view)
    if declared == WRITES_AFTER_READING:
        return
    # A page read under a support grant is logged in the tenant's access log (webapp.tenancy).
    if (declared == WRITES_FIRST or request.method not in READ_ONLY_METHODS
            or g.get("support_grant") is not None):
        g.writes_token = writing(True)


def end_writes(exc: BaseException | None = None) -> None:
    token = g.pop("writes_token", None)
    if token is not None:
        done_writing(token)


# --- a busy database: the request runs again -------------------------------------------------

ENDPOINT = "parvis.endpoint"  # in the WSGI environ: the view's name (a path may hold a secret)
COMMITTED = "parvis.committed"  # in the WSGI environ once the request's tenant data committed
BUSY_RETRIES = 2  # runs of a request after the first, when the database was busy
BUSY_RETRY_WITHIN = 5.0  # seconds since the first run began; later, the error stands (503)
MAX_RETRIED_BODY = 1 << 20  # larger request bodies are not kept for a second run
log = logging.getLogger(__name__)


class RetryWhenBusy:
    """WSGI middleware: run a request again when the database was busy and nothing was sent.

    On SQLite a writer waits for the write lock up to the busy timeout; a transaction that
    fails at once (a deadlock or a serialization failure on PostgreSQL; on SQLite a read
    that turned into a write) ends in a server error that a second run would not meet. So
    when a run answered 5xx after such an error (``watch`` collects them), before
    anything was sent and before anything committed, the whole request runs again, with its
    body kept, up to ``BUSY_RETRIES`` times within ``BUSY_RETRY_WITHIN`` seconds. After that
    the error's own answer goes out (503 with Retry-After, see core/web/errors.py).

    It also logs the views whose transaction began as a read and then wrote on SQLite (mark
    them ``writes``).
    """

    def __init__(self, app: Callable[..., Any], *, retries: int = BUSY_RETRIES,
                 within: float = BUSY_RETRY_WITHIN) -> None:
        self.app, self.retries, self.within = app, retries, within

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _kept_body(environ)
        if body is None:  # a body too large (or of unknown length) to keep: one run
            return self._run(environ, start_response)[1]
        pristine, began = dict(environ), time.monotonic()
        for attempt in range(self.retries + 1):
            run_environ = dict(pristine)
            run_environ["wsgi.input"] = io.BytesIO(body)
            held: list[Any] = []
            busy, result = self._run(run_environ, functools.partial(_hold, held))
            status = int(held[0].split(" ", 1)[0]) if held else 500
            if (busy and status >= 500 and not run_environ.get(COMMITTED)
                    and attempt < self.retries and time.monotonic() - began < self.within):
                _close(result)
                log.info("database busy (%s), running %s %s again", busy[-1],
                         environ.get("REQUEST_METHOD"), run_environ.get(ENDPOINT))
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))  # noqa: S311 (jitter)
                continue
            start_response(*held)
            return result
        raise AssertionError("unreachable")  # the last attempt always returns

    def _run(self, environ: dict, start_response: Callable[..., Any],
             ) -> tuple[list[BaseException], Iterable[bytes]]:
        upgrades: list[str] = []
        busy: list[BaseException] = []
        tokens = watch(upgrades, busy)
        try:
            result = self.app(environ, start_response)
        finally:
            unwatch(tokens)
        if upgrades:
            log.warning("%s %s wrote in a transaction begun as a read (%s): mark the view "
                        "`writes`, or it fails with 'database is locked' under load",
                        environ.get("REQUEST_METHOD"), environ.get(ENDPOINT), upgrades[0])
        return busy, result


def _kept_body(environ: dict) -> bytes | None:
    """The request body read into memory, so that a second run can read it again."""
    if environ.get("REQUEST_METHOD", "GET") in READ_ONLY_METHODS:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > MAX_RETRIED_BODY or (not length and environ.get("HTTP_TRANSFER_ENCODING")):
        return None
    return environ["wsgi.input"].read(length) if length else b""


def _hold(held: list[Any], status: str, headers: list, exc_info: Any = None,
          ) -> Callable[[bytes], None]:
    """A ``start_response`` that keeps what it is given until the run is known to stand."""
    held[:] = [status, headers, exc_info]

    def write(data: bytes) -> None:
        raise RuntimeError("the write() callable is not supported")

    return write


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


def bind_tenant_plane(app: Flask) -> None:
    """Point the tenant plane, which is process-wide, at ``app``'s database.

    ``create_app`` does it; only a process holding two apps (a test building a dedicated one)
    calls it again, to hand the tenant plane back to the first.
    """
    tenants_api.configure(app.extensions["parvis_engine"], app.config["TENANT_DATA_DIR"],
                          **pool_options(app))


def pool_options(app: Flask) -> dict:
    """The pool settings of both planes' engines (each plane has a pool of its own)."""
    config = app.config
    return {"pool_size": config["DB_POOL_SIZE"], "max_overflow": config["DB_MAX_OVERFLOW"],
            "pool_recycle": config["DB_POOL_RECYCLE"], "pool_timeout": config["DB_POOL_TIMEOUT"],
            "connect_timeout": config["DB_CONNECT_TIMEOUT"]}


def engine() -> Engine:
    """The control-plane engine of the current app."""
    return current_app.extensions["parvis_engine"]


def sessions() -> sessionmaker[Session]:
    """The current app's control-plane session factory (a session outside the unit of work)."""
    return current_app.extensions["parvis_sessions"]


def session() -> Session:
    """The control-plane session of this app context, created on first use."""
    if "control_session" not in g:
        g.control_session = sessions()()
    return g.control_session


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` after the unit of work commits (dropped if it never does)."""
    g.setdefault("after_commit", []).append(callback)


def rollback() -> None:
    """Roll the app context's unit of work back and drop its callbacks (a job that failed)."""
    g.pop("after_commit", None)
    control = g.get("control_session")
    if control is not None:
        control.rollback()


def commit() -> None:
    """Commit the unit of work: tenant data first, then the control plane, then callbacks.

    A request past its deadline, or whose client has gone, is refused instead (503): nothing
    is written for an answer nobody will read."""
    admission.check_before_commit()
    tenants_api.commit()
    if has_request_context():  # from now on, running the request again would write twice
        request.environ[COMMITTED] = True
    control = g.get("control_session")
    if control is not None and control.in_transaction():  # else nothing was read or written
        control.commit()
    for callback in g.pop("after_commit", []):
        callback()


def commit_request(response: Response) -> Response:
    if response.status_code < 500:
        commit()
    return response


def close_session(exc: BaseException | None = None) -> None:
    g.pop("after_commit", None)
    control = g.pop("control_session", None)
    if control is not None:
        close_quietly(control)
