"""Background jobs on Huey: SQLite storage by default, Redis in production, inline in tests.

Tasks carry ids, never objects. ``tenant_task`` tasks take the tenant slug first and run inside
``tenant_context`` (and an app context), so they see that tenant and no other. ``enqueue`` waits
for the current unit of work to commit: a rolled-back request never sends its e-mails.
Run the worker with ``flask jobs worker``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, g, has_app_context, has_request_context
from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from tenants import api as tenants_api
from webapp import db

huey = Huey("parvis", storage_class=MemoryStorage)
_app: Flask | None = None


def init_app(app: Flask) -> None:
    """Point the queue at the configured storage and remember the app for workers."""
    global _app
    _app = app
    backend = app.config["JOBS_BACKEND"]
    if backend == "immediate":
        storage, kwargs = MemoryStorage, {}
    elif backend.startswith(("redis://", "rediss://")):
        storage, kwargs = RedisStorage, {"url": backend}
    else:
        storage, kwargs = SqliteStorage, {"filename": app.config["JOBS_SQLITE_PATH"]}
    huey.immediate = False
    huey.storage_class, huey.storage_kwargs = storage, kwargs
    huey.storage = huey.create_storage()
    huey.immediate = backend == "immediate"
    app.extensions["huey"] = huey


def _in_fresh_app_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a task in its own app context (its own ``g`` and sessions), then commit once."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        assert _app is not None, "webapp.jobs.init_app() was not called"
        with _app.app_context():
            result = fn(*args, **kwargs)
            db.commit()
            return result

    return run


def task(**options: Any) -> Callable:
    """A control-plane task."""

    def decorator(fn: Callable[..., Any]) -> Any:
        return huey.task(**options)(_in_fresh_app_context(fn))

    return decorator


def periodic_task(schedule: Callable[..., bool], **options: Any) -> Callable:
    """A control-plane task the worker runs on ``schedule`` (a ``huey.crontab``)."""

    def decorator(fn: Callable[..., Any]) -> Any:
        return huey.periodic_task(schedule, **options)(_in_fresh_app_context(fn))

    return decorator


def _know_tenant(slug: str) -> None:
    """Give a tenant job its tenant's registry row as ``g.tenant``, as a request has it (the
    organisation's name signs its e-mails). Read before the tenant's connection is taken and in
    a session closed at once: a job never holds two connections (one pool on PostgreSQL)."""
    from webapp.tenancy import resolve

    with db.sessions()() as session:
        resolved = resolve(slug, session)
    if resolved is not None:
        g.tenant = resolved.info


def tenant_task(**options: Any) -> Callable:
    """A task on one tenant's data: ``fn(slug, *ids)`` runs inside that tenant's context."""

    def decorator(fn: Callable[..., Any]) -> Any:
        @functools.wraps(fn)
        def run(slug: str, *args: Any, **kwargs: Any) -> Any:
            _know_tenant(slug)
            with tenants_api.tenant_context(slug, writer=True):
                return fn(slug, *args, **kwargs)

        return huey.task(**options)(_in_fresh_app_context(run))

    return decorator


def enqueue(task_fn: Any, *args: Any, **kwargs: Any) -> None:
    """Queue ``task_fn(*args)`` once the current unit of work commits (now, outside one).

    The unit of work is the request's; else the enclosing ``tenant_context`` (a job, a CLI
    command, a test); else the app context's ``db.commit()``.
    """
    call = functools.partial(task_fn, *args, **kwargs)
    if has_request_context():
        db.after_commit(call)
    elif tenants_api.in_tenant_context():
        tenants_api.after_commit(call)
    elif has_app_context():
        db.after_commit(call)
    else:
        call()


def run_worker(workers: int = 2) -> None:
    from huey.consumer import Consumer

    from webapp import sweeps  # noqa: F401 -- registers the periodic tasks with the consumer

    Consumer(huey, workers=workers, worker_type="thread", periodic=True).run()
