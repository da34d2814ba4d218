"""Background jobs: a transactional outbox in each plane's database, woken through Huey.

Why this shape (docs/architecture.md, "Background work"): Huey's storages (SQLite by default,
Redis in production) delete a message when a worker takes it, so a worker killed mid-job loses
that job, and a job pushed after a request's commit is lost if the process dies in between.
So the queue is not where a job lives:

* ``enqueue(job, *args)`` writes a row (``tenants.outbox.TenantJob`` in a tenant's schema,
  ``webapp.outbox.ControlJob`` in the control plane) in the unit of work that queues it: the
  job exists exactly when the request's writes do. Before the commit a *safety-net* wake-up
  is scheduled in Huey a lease later; after the commit an immediate wake-up is pushed (the
  fast path).
* A wake-up (``_wake``) runs the row inside its plane, marks it done in the same transaction
  as the job's effects, and ignores rows already done: any number of wake-ups, one effect.
  A safety-net run arms the next net before it starts (backing off), so a worker killed at any
  point leaves a wake-up that will finish the job; a row that keeps failing is given up after
  ``MAX_ATTEMPTS`` and logged.
* Side effects outside the database (an e-mail) are ``effect`` jobs: the row is claimed in one
  short transaction, the effect runs outside any transaction (no lock held while talking to
  SMTP) with the row id as its idempotency key, and the row is marked done in another. A crash
  between the effect and the second commit repeats the effect with the same key (the e-mail's
  ``Message-ID``; the outbox file backend writes it at most once).

Tasks carry ids, never objects. ``tenant_task`` jobs take the tenant slug first and run inside
``tenant_context`` (and an app context), so they see that tenant and no other. Periodic tasks
are Huey's own (they are re-run by their schedule anyway). ``flask jobs worker`` runs them all.

This module knows neither plane: the application factory hands ``init_app`` the ``Planes``,
the functions through which it reaches each plane's outbox and unit of work (and the tenant
registry), so the ground floor never imports the floors above it.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from flask import Flask, g, has_app_context, has_request_context
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from huey.utils import normalize_time
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import rowcount
from core.outbox import OutboxRow, new_job_id, purge_done

log = logging.getLogger(__name__)

huey = Huey("parvis", storage_class=MemoryStorage, results=False)
_app: Flask | None = None

MAX_ATTEMPTS = 10
MAX_BACKOFF = timedelta(hours=1)
Kind = Literal["control", "tenant", "any"]


@dataclass(frozen=True)
class ControlPlane:
    """How jobs reach the control plane: its outbox model and its unit of work."""

    model: type[OutboxRow]
    session: Callable[[], Session]  # the app context's session (the unit of work)
    own_session: Callable[[], Session]  # a new session, outside the unit of work
    commit: Callable[[], None]  # commit the unit of work (tenant data first), then callbacks
    rollback: Callable[[], None]  # roll the unit of work back and drop its callbacks
    after_commit: Callable[[Callable[[], object]], None]


@dataclass(frozen=True)
class TenantPlane:
    """How jobs reach a tenant: its outbox model, its units of work, the tenant registry."""

    model: type[OutboxRow]
    unit: Callable[..., AbstractContextManager[Session]]  # (slug, writer=bool)
    active: Callable[[], str | None]  # the slug of the open tenant unit of work, or None
    session: Callable[[], Session]  # that unit's session
    after_commit: Callable[[Callable[[], object]], None]  # once that unit has committed
    info: Callable[[str], Any]  # a tenant's registry facts (``g.tenant``), or None
    slugs: Callable[[], list[str]]  # every tenant, for the recovery sweep


@dataclass(frozen=True)
class Planes:
    control: ControlPlane
    tenant: TenantPlane


_planes: Planes | None = None


def init_app(app: Flask, planes: Planes | None = None) -> None:
    """Point the queue at the configured storage and remember the app (and the planes) for
    workers. A second app in the same process (a test) may keep the planes already given."""
    global _app, _planes
    _app = app
    if planes is not None:
        _planes = planes
    backend = app.config["JOBS_BACKEND"]
    if backend == "immediate":
        storage, kwargs = MemoryStorage, {}
    elif backend.startswith(("redis://", "rediss://")):
        storage, kwargs = RedisStorage, {"url": backend}
    else:
        # No fsync per wake-up: jobs live in the outbox; a wake-up lost with the machine's power
        # is made up for by the hourly recovery (``recover_lost_jobs``).
        storage, kwargs = SqliteStorage, {"filename": app.config["JOBS_SQLITE_PATH"],
                                          "fsync": False}
    huey.immediate = False
    huey.storage_class, huey.storage_kwargs = storage, kwargs
    huey.storage = huey.create_storage()
    huey.immediate = backend == "immediate"
    app.extensions["huey"] = huey


def _control() -> ControlPlane:
    assert _planes is not None, "core.jobs.init_app() was not given the planes"
    return _planes.control


def _tenant() -> TenantPlane:
    assert _planes is not None, "core.jobs.init_app() was not given the planes"
    return _planes.tenant


def active_tenant() -> str | None:
    """The slug of the open tenant unit of work, if any."""
    return _tenant().active()


def _lease() -> timedelta:
    assert _app is not None, "core.jobs.init_app() was not called"
    return timedelta(seconds=float(_app.config["JOBS_LEASE_SECONDS"]))


# --- jobs ----------------------------------------------------------------------------------


class Job:
    """A function the outbox can run by name. Calling it runs it now, in its own context (as a
    worker would), and returns its result: tests and commands do that; features ``enqueue``."""

    def __init__(self, fn: Callable[..., Any], kind: Kind, effect: bool = False,
                 formerly: tuple[str, ...] = ()) -> None:
        self.fn, self.kind, self.effect = fn, kind, effect
        self.name = f"{fn.__module__}:{fn.__qualname__}"
        if len(self.name) > 120:  # the outbox's ``task`` column
            raise ValueError(f"job name over 120 characters: {self.name}")
        functools.update_wrapper(self, fn)
        _jobs[self.name] = self
        # Names it was queued under before it moved: rows written then still find it, as long
        # as the old module imports the new one, or the new one is imported at start-up.
        for name in formerly:
            _jobs[name] = self

    def call_local(self, *args: Any) -> Any:
        with _fresh_app_context():
            if self.kind == "tenant":
                with _tenant_unit(args[0]):
                    result = self.fn(*args)
            else:
                result = self.fn(*args)
            _control().commit()
        return result

    __call__ = call_local


_jobs: dict[str, Job] = {}
# Where a job named in a row may be looked for, when its module was not imported yet.
_PACKAGES = ("core", "tenants", "webapp", "tests")


def _job_named(name: str) -> Job | None:
    """The job a row names (``module:function``), importing its module if need be: a worker
    imports feature modules only as work needs them."""
    job = _jobs.get(name)
    module = name.partition(":")[0]
    if job is None and module.partition(".")[0] in _PACKAGES:
        try:
            importlib.import_module(module)
        except ImportError:
            return None
        job = _jobs.get(name)
    return job


def task(*, formerly: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Job]:
    """A control-plane job (retried by the outbox's safety nets, backing off, when it fails);
    ``formerly``: the names (``module:function``) it had before it moved."""
    return lambda fn: Job(fn, "control", formerly=formerly)


def tenant_task() -> Callable[[Callable[..., Any]], Job]:
    """A job on one tenant's data: ``fn(slug, *ids)`` runs inside that tenant's context."""
    return lambda fn: Job(fn, "tenant")


def effect(fn: Callable[..., Any] | None = None, *, formerly: tuple[str, ...] = ()) -> Any:
    """A job whose effect is outside the database (an e-mail): ``fn(*args, key=row_id)`` runs
    outside any transaction, at least once; ``key`` lets the far side see a repeat. It is
    queued in whichever plane's unit of work is open, so it commits with what it is about."""
    if fn is None:
        return lambda fn: Job(fn, "any", effect=True, formerly=formerly)
    return Job(fn, "any", effect=True, formerly=formerly)


def periodic_task(schedule: Callable[..., bool], **options: Any) -> Callable:
    """A control-plane task the worker runs on ``schedule`` (a ``huey.crontab``)."""

    def decorator(fn: Callable[..., Any]) -> Any:
        @functools.wraps(fn)
        def run() -> Any:
            with _fresh_app_context():
                result = fn()
                _control().commit()
            return result

        return huey.periodic_task(schedule, **options)(run)

    return decorator


@contextlib.contextmanager
def _fresh_app_context() -> Iterator[None]:
    """Its own app context (its own ``g`` and sessions); a job never shares a request's."""
    assert _app is not None, "core.jobs.init_app() was not called"
    with _app.app_context():
        try:
            yield
        except BaseException:
            _rollback_control()
            raise


def _rollback_control() -> None:
    _control().rollback()


def tenant_info(slug: str) -> Any:
    """The registry facts of a tenant (``TenantInfo``), or None."""
    return _tenant().info(slug)


def _know_tenant(slug: str) -> None:
    """Give a tenant job its tenant's registry row as ``g.tenant``, as a request has it (the
    organisation's name signs its e-mails), read before the tenant's connection is taken."""
    info = tenant_info(slug)
    if info is not None:
        g.tenant = info


@contextlib.contextmanager
def _tenant_unit(slug: str) -> Iterator[Session]:
    _know_tenant(slug)
    with _tenant().unit(slug, writer=True) as session:
        yield session


# --- queueing ------------------------------------------------------------------------------


def enqueue(job: Job, *args: Any, eta: datetime | None = None) -> None:
    """Queue ``job(*args)`` in the open unit of work: it runs once that commits (never if it
    rolls back), from ``eta`` on if given.

    A tenant job of the active tenant, or an effect inside a tenant's unit of work, is written
    in that tenant's outbox; anything else in the control plane's (a tenant job queued there is
    handed to its tenant's outbox when it runs). Outside any app context it runs now.
    """
    if not isinstance(job, Job):
        raise TypeError(f"{job!r} is not a job (decorate it with task, tenant_task or effect)")
    opened = _open_outbox(job, args)
    if opened is None:  # a command or test without an app context: after its commit, or now
        call = functools.partial(job.call_local, *args)
        if _tenant().active() is not None:
            _tenant().after_commit(call)
        else:
            call()
        return
    plane, session, model = opened
    now = utcnow()
    row = model(id=new_job_id(now), task=job.name, args=list(args),
                run_after=eta or now, attempts=0)
    # An e-mail a job writes is sent by the same worker right after the job's commit: queued
    # already claimed, it needs neither a wake-up nor a claim of its own.
    inline = job.effect and eta is None and g.get("parvis_job_run", False)
    if inline:
        row.locked_until, row.attempts = now + _lease(), 1
    session.add(row)
    if not huey.immediate:
        # The net: wakes the row a lease after it is due, in case the push below never happens
        # or its worker dies. Scheduled now, before the commit, so a crash cannot skip it.
        _arm(plane, row.id, 1, row.run_after + _lease())
    push = (functools.partial(_effect_now, plane, row.id, job, list(args)) if inline
            else functools.partial(_push, plane, row.id, eta))
    if has_request_context() or _tenant().active() is None:
        _control().after_commit(push)
    else:
        _tenant().after_commit(push)


def _open_outbox(job: Job, args: tuple
                 ) -> tuple[str, Session, type[OutboxRow]] | None:
    slug = _tenant().active()
    if slug is not None and (job.kind == "any"
                             or (job.kind == "tenant" and args and args[0] == slug)):
        return slug, _tenant().session(), _tenant().model
    if has_app_context():
        return "", _control().session(), _control().model
    return None


def _push(plane: str, job_id: str, eta: datetime | None) -> None:
    later = eta is not None and eta > utcnow()
    if huey.immediate:
        if not later:  # immediate mode has no scheduler: a test runs a later job when due
            run(plane, job_id, 0)
    elif later:
        _arm(plane, job_id, 0, eta)  # type: ignore[arg-type]
    else:
        _wake(plane, job_id, 0)


def _arm(plane: str, job_id: str, attempt: int, eta: datetime) -> None:
    """Schedule a wake-up at ``eta`` (straight into the schedule, not through the queue)."""
    wake = _wake.s(plane, job_id, attempt)
    wake.eta = normalize_time(eta, None, huey.utc)
    huey.add_schedule(wake)


def _backoff(attempt: int) -> timedelta:
    return min(_lease() * 2 ** (attempt - 1), MAX_BACKOFF)


# --- running -------------------------------------------------------------------------------


@huey.task(name="parvis.wake")
def _wake(plane: str, job_id: str, attempt: int) -> None:
    run(plane, job_id, attempt)


@contextlib.contextmanager
def _unit(plane: str) -> Iterator[tuple[Session, type[OutboxRow]]]:
    """One transaction on a plane's outbox (and the job's data), committed at the end.

    A tenant job's takes the tenant's write lock first (on SQLite), as jobs write. A control
    job's does not: control jobs open tenant units and sessions of their own that write in the
    control plane (a sweep plans its next run), which a held lock would wait for forever."""
    if plane:
        with _tenant_unit(plane) as session:
            yield session, _tenant().model
        return
    try:
        yield _control().session(), _control().model
        _control().commit()
    except BaseException:
        _rollback_control()
        raise


class _AlreadyDone(Exception):
    """Another wake-up finished the row first: this run's writes are rolled back."""


def run(plane: str, job_id: str, attempt: int) -> None:
    """Run outbox row ``job_id`` of ``plane`` (a tenant slug, or "" for the control plane) if it
    is not done yet. ``attempt`` 0 is the push after the commit; 1 and more are safety nets."""
    with _fresh_app_context():
        g.parvis_job_run = True
        try:
            effect_args = _run_in_transaction(plane, job_id, attempt)
            if effect_args is not None:
                _run_effect(plane, job_id, *effect_args)
            _control().commit()  # what a tenant job wrote in the control plane, then its pushes
        except _AlreadyDone:
            pass
        except Exception as error:
            log.exception("job %s of %s failed (attempt %s)", job_id, plane or "control",
                          attempt)
            _record_error(plane, job_id, error)


def _read_row(session: Session, model: type[OutboxRow], plane: str,
              job_id: str) -> OutboxRow | None:
    if plane:
        return session.get(model, job_id)
    # The control plane's row is read in a session of its own, so that the job's transaction
    # starts with the job's own reads (SQLite: a snapshot taken before a nested session's write
    # could not write afterwards).
    with _control().own_session() as own:
        return own.get(model, job_id)


def _finish(session: Session, model: type[OutboxRow], job_id: str,
            **values: Any) -> None:
    """Mark the row done (or claimed) in this transaction, if nobody else has meanwhile."""
    done = session.execute(
        update(model).where(model.id == job_id, model.done_at.is_(None)).values(**values)
        .execution_options(synchronize_session=False))
    if rowcount(done) != 1:
        raise _AlreadyDone(job_id)


def _run_in_transaction(plane: str, job_id: str, attempt: int) -> tuple | None:
    """Run a database job and mark it done in one transaction; for an effect job, claim it and
    return what the effect needs (it runs after this transaction)."""
    with _unit(plane) as (session, model):
        now = utcnow()
        row = _read_row(session, model, plane, job_id)
        if row is None or row.done_at is not None:
            return None  # rolled back, or done (by another wake-up)
        if attempt >= MAX_ATTEMPTS:
            reason = f"given up after {attempt} attempts: {row.error or ''}"
            log.error("job %s (%s) of %s: %s", job_id, row.task, plane or "control", reason)
            _finish(session, model, job_id, done_at=now, args=None, error=reason[:2000])
            return None
        if attempt > 0 and not huey.immediate:  # a safety net arms the next one first
            _arm(plane, job_id, attempt + 1, now + _backoff(attempt))
        job = _job_named(row.task)
        if job is None:  # a worker older than the code that queued it: the next net retries
            raise LookupError(f"unknown job {row.task}")
        args = list(row.args or [])
        if job.effect:
            if row.locked_until is not None and row.locked_until > now:
                return None  # another worker is at it; the next net looks again
            _finish(session, model, job_id, locked_until=now + _lease(),
                    attempts=row.attempts + 1)
            return job, args
        if not plane and job.kind == "tenant":
            _hand_to_tenant(job_id, row.task, args, now)
        else:
            job.fn(*args)
        _finish(session, model, job_id, done_at=now, args=None, locked_until=None,
                attempts=row.attempts + 1)
        purge_done(session, model, now)
    return None


def _hand_to_tenant(job_id: str, task: str, args: list, now: datetime) -> None:
    """A tenant job queued by the control plane: write it, under the same id, in its tenant's
    outbox (once: a repeat finds it there), where it runs with its effects."""
    slug = args[0]
    with _tenant_unit(slug) as session:
        model = _tenant().model
        if session.get(model, job_id) is None:
            session.add(model(id=job_id, task=task, args=args,
                                              run_after=now, attempts=0))
            if not huey.immediate:
                _arm(slug, job_id, 1, now + _lease())
            _tenant().after_commit(functools.partial(_push, slug, job_id, None))


def _run_effect(plane: str, job_id: str, job: Job, args: list) -> None:
    job.fn(*args, key=job_id)
    with _unit(plane) as (session, model):
        _finish(session, model, job_id, done_at=utcnow(), args=None,
                locked_until=None)


def _effect_now(plane: str, job_id: str, job: Job, args: list) -> None:
    """Run an effect queued (claimed) by the job that just committed."""
    try:
        _run_effect(plane, job_id, job, args)
    except Exception as error:
        log.exception("effect %s of %s failed", job_id, plane or "control")
        _record_error(plane, job_id, error)


def _record_error(plane: str, job_id: str, error: Exception) -> None:
    """Note why a run failed, and free an effect for the next net (in a transaction of its
    own: the failed one was rolled back)."""
    try:
        with _fresh_app_context(), _unit(plane) as (session, model):
            session.execute(update(model).where(model.id == job_id, model.done_at.is_(None))
                            .values(error=repr(error)[:2000], locked_until=None))
    except Exception:
        log.exception("could not record the failure of job %s", job_id)


# --- recovery ------------------------------------------------------------------------------


def wake_pending(session: Session, model: type[OutboxRow], plane: str,
                 now: datetime) -> int:
    """Wake every row of one outbox due for longer than two leases and still not done (its
    wake-ups were lost with a queue's storage); returns how many."""
    late = now - 2 * _lease()
    ids = list(session.scalars(select(model.id).where(model.done_at.is_(None),
                                                      model.run_after < late)
                               .order_by(model.run_after).limit(10_000)))
    for job_id in ids:
        _wake(plane, job_id, 1)
    return len(ids)


def recover() -> int:
    """Wake the overdue rows of the control plane's and every tenant's outbox."""
    now = utcnow()
    control, tenant = _control(), _tenant()
    woken = wake_pending(control.session(), control.model, "", now)
    for slug in tenant.slugs():
        with tenant.unit(slug) as session:
            woken += wake_pending(session, tenant.model, slug, now)
    return woken


@periodic_task(crontab(minute="50"))
def recover_lost_jobs() -> int:
    """Hourly: the last resort behind the safety nets (a queue that lost its schedule)."""
    return recover()


def run_worker(workers: int = 2) -> None:
    from huey.consumer import Consumer

    # An idle SQLite queue is polled; backing off to at most a second keeps an e-mail queued
    # after a quiet spell from waiting the default ten (Redis blocks on the queue instead).
    Consumer(huey, workers=workers, worker_type="thread", periodic=True, max_delay=1.0).run()
