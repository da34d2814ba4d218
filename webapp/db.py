"""Control-plane database: ``ControlBase``, the platform engine and the request's one commit.

Services receive a session, validate, flush and log; they never commit. A web request commits
once, in ``commit_request`` (tenant unit of work first, then the control plane), unless the
response is a server error; an exception or a 5xx rolls everything back when the context ends.
Client errors (4xx) do commit: services validate before writing, so a refused form has written
nothing, while deliberate records of a refusal (a failed login for throttling) must be kept.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask, Response, current_app, g, request
from sqlalchemy import Engine, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from tenants import api as tenants_api
from webapp.web import admission


class ControlBase(DeclarativeBase):
    """Base of every control-plane table (accounts, tenant registry, billing, registers)."""

    metadata = MetaData(naming_convention=tenants_api.NAMING_CONVENTION)
    type_annotation_map = {datetime: tenants_api.UTCDateTime}


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(),
                                                 onupdate=func.now())


utcnow = tenants_api.utcnow


def init_app(app: Flask) -> None:
    """Give ``app`` its own engine and session factory, and point the tenant plane at them."""
    control = tenants_api.make_engine(app.config["DATABASE_URL"], **pool_options(app))
    app.extensions["parvis_engine"] = control
    app.extensions["parvis_sessions"] = tenants_api.session_factory(ControlBase, control)
    bind_tenant_plane(app)
    app.before_request(declare_writes)
    app.after_request(commit_request)
    app.teardown_request(end_writes)
    app.teardown_appcontext(close_session)


READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}


def declare_writes() -> None:
    """A POST (or PUT, DELETE…) writes: on SQLite its transactions take the write lock first,
    so concurrent writers queue on the busy timeout instead of failing. (Not writing is the
    default: a GET declares nothing.)"""
    if request.method not in READ_ONLY_METHODS:
        g.writes_token = tenants_api.writing(True)


def end_writes(exc: BaseException | None = None) -> None:
    token = g.pop("writes_token", None)
    if token is not None:
        tenants_api.done_writing(token)


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


def commit() -> None:
    """Commit the unit of work: tenant data first, then the control plane, then callbacks.

    A request past its deadline, or whose client has gone, is refused instead (503): nothing
    is written for an answer nobody will read."""
    admission.check_before_commit()
    tenants_api.commit()
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
        control.close()
