"""Background jobs: enqueued after the unit of work commits, tenant tasks inside their tenant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from huey.storage import SqliteStorage
from sqlalchemy import select

from core import jobs
from tenants import api as tenants_api
from tenants import db as tenant_db
from tenants.participants.models import Participant
from tests import factories
from webapp import db
from webapp.auth import services as auth_services
from webapp.auth.models import Account

ran: list[object] = []


@jobs.task()
def look_up_account(email: str) -> None:
    """Reads with its own session: it finds the account only once the request has committed."""
    found = db.session().scalar(select(Account.id).where(Account.email == email))
    ran.append((email, found is not None))


@jobs.tenant_task()
def list_participants(slug: str) -> None:
    emails = sorted(tenant_db.session().scalars(select(Participant.email)))
    ran.append((slug, tenant_db.current_slug(), emails))


@pytest.fixture(autouse=True)
def _no_runs_yet() -> Iterator[None]:
    ran.clear()
    yield
    ran.clear()


@pytest.fixture
def job_app(make_app) -> Flask:  # type: ignore[no-untyped-def]
    """An app whose views create an account, queue a job about it, then answer ``status``."""
    job_app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    job_app.logger.disabled = True  # the /crash traceback is expected

    def sign_up(status: int):  # type: ignore[no-untyped-def]
        email = f"status-{status}@example.test"
        auth_services.create_account(db.session(), email=email, password=factories.PASSWORD)
        jobs.enqueue(look_up_account, email)
        return "", status

    def crash():  # type: ignore[no-untyped-def]
        auth_services.create_account(db.session(), email="crash@example.test",
                                     password=factories.PASSWORD)
        jobs.enqueue(look_up_account, "crash@example.test")
        raise RuntimeError("after the job was queued")

    job_app.add_url_rule("/sign-up/<int:status>", view_func=sign_up, methods=["POST"])
    job_app.add_url_rule("/crash", view_func=crash, methods=["POST"])
    return job_app


def account_exists(app: Flask, email: str) -> bool:
    with app.app_context():
        return db.session().scalar(select(Account.id).where(Account.email == email)) is not None


def test_enqueue_waits_for_the_commit(ctx):
    auth_services.create_account(db.session(), email="ada@example.test",
                                 password=factories.PASSWORD)
    jobs.enqueue(look_up_account, "ada@example.test")
    assert ran == []
    db.commit()
    assert ran == [("ada@example.test", True)]


def test_enqueue_outside_a_unit_of_work_runs_now(app):
    jobs.enqueue(look_up_account, "nobody@example.test")
    assert ran == [("nobody@example.test", False)]


@pytest.mark.parametrize("status", [200, 303])
def test_job_of_a_successful_request_runs_after_its_commit(app, job_app, status):
    assert job_app.test_client().post(f"/sign-up/{status}").status_code == status
    assert ran == [(f"status-{status}@example.test", True)]


def test_job_of_a_failed_request_never_runs(app, job_app):
    assert job_app.test_client().post("/sign-up/503").status_code == 503
    assert job_app.test_client().post("/crash").status_code == 500
    assert ran == []
    assert not account_exists(app, "status-503@example.test")
    assert not account_exists(app, "crash@example.test")


def test_refused_request_commits_what_it_recorded_and_its_jobs(app, job_app):
    """Client errors commit (webapp/db.py: a failed login must be recorded), jobs included."""
    assert job_app.test_client().post("/sign-up/422").status_code == 422
    assert ran == [("status-422@example.test", True)]


def test_tenant_task_sees_only_its_tenant(app):
    with app.app_context():
        factories.participant("acme", "ada@acme.test")
        factories.participant("globex", "bob@globex.test")

    with tenants_api.tenant_context("acme"):
        list_participants("globex")  # run from inside another tenant's context
        assert tenant_db.current_slug() == "acme"  # which is restored afterwards

    list_participants("acme")
    assert ran == [("globex", "globex", ["bob@globex.test"]),
                   ("acme", "acme", ["ada@acme.test"])]


def test_tenant_task_queued_in_a_tenant_request_runs_after_commit(app):
    with app.test_request_context("/t/acme/"):
        token = tenants_api.activate("acme")
        try:
            tenants_api.participants.add(tenant_db.session(), email="ada@acme.test")
            jobs.enqueue(list_participants, "acme")
            assert ran == []
            db.commit()
        finally:
            tenants_api.deactivate(token)
    assert ran == [("acme", "acme", ["ada@acme.test"])]


def test_sqlite_backend_stores_jobs_in_its_file(make_app, tmp_path):
    path = tmp_path / "jobs.db"
    queued = make_app(JOBS_BACKEND="sqlite", JOBS_SQLITE_PATH=str(path))
    assert not jobs.huey.immediate
    assert isinstance(jobs.huey.storage, SqliteStorage)

    with queued.app_context():
        jobs.enqueue(look_up_account, "ada@example.test")
        assert jobs.huey.pending_count() == 0  # not before the commit
        db.commit()
    assert jobs.huey.pending_count() == 1
    assert ran == []  # queued for a worker, not run here
    assert path.exists()
    jobs.huey.storage.close()


# --- the outbox: at-least-once wake-ups, exactly-once effects ---------------------------------

effects: list[tuple[str, str]] = []


@jobs.tenant_task()
def add_participant(slug: str, email: str) -> None:
    tenants_api.participants.add(tenant_db.session(), email=email)


@jobs.effect
def remember(what: str, *, key: str) -> None:
    effects.append((what, key))


@jobs.tenant_task()
def fail(slug: str) -> None:
    tenants_api.participants.add(tenant_db.session(), email="written@acme.test")
    raise RuntimeError("SMTP server down")


def outbox_rows(slug: str) -> list[tenants_api.TenantJob]:
    with tenants_api.tenant_context(slug) as session:
        return list(session.scalars(select(tenants_api.TenantJob)
                                    .order_by(tenants_api.TenantJob.id)))


def test_a_rolled_back_unit_of_work_leaves_no_job(app):
    with app.app_context(), pytest.raises(RuntimeError), tenants_api.tenant_context("acme"):
        jobs.enqueue(add_participant, "acme", "never@acme.test")
        raise RuntimeError("rolled back")
    assert outbox_rows("acme") == []


def test_a_job_runs_once_however_many_wake_ups(app):
    with app.app_context(), tenants_api.tenant_context("acme"):
        jobs.enqueue(add_participant, "acme", "once@acme.test")
    [row] = outbox_rows("acme")
    assert row.done_at is not None and row.args is None  # ran after the commit, args emptied
    for attempt in (0, 1, 2):  # late wake-ups: the push again, safety nets
        jobs.run("acme", row.id, attempt)
    with tenants_api.tenant_context("acme") as session:
        emails = list(session.scalars(select(Participant.email)))
    assert emails == ["once@acme.test"]


def test_a_lost_wake_up_is_made_up_by_the_safety_net(app, monkeypatch):
    monkeypatch.setattr(jobs, "_push", lambda *args: None)  # the process died after its commit
    with app.app_context(), tenants_api.tenant_context("acme"):
        jobs.enqueue(add_participant, "acme", "late@acme.test")
    [row] = outbox_rows("acme")
    assert row.done_at is None
    jobs.run("acme", row.id, 1)
    [row] = outbox_rows("acme")
    assert row.done_at is not None and row.attempts == 1


def test_an_effect_runs_after_the_commit_with_its_row_id_as_key(app):
    effects.clear()
    with app.app_context(), tenants_api.tenant_context("acme"):
        jobs.enqueue(remember, "hello")
        assert effects == []
    [row] = outbox_rows("acme")
    assert effects == [("hello", row.id)] and row.done_at is not None
    jobs.run("acme", row.id, 1)  # done: a late net sends nothing
    assert effects == [("hello", row.id)]


def test_a_failing_job_is_retried_then_given_up(app, monkeypatch, caplog):
    monkeypatch.setattr(jobs, "_push", lambda *args: None)
    with app.app_context():
        with tenants_api.tenant_context("acme"):
            jobs.enqueue(fail, "acme")
        [row] = outbox_rows("acme")
        jobs.run("acme", row.id, 1)
        [row] = outbox_rows("acme")
        assert row.done_at is None and "SMTP server down" in row.error  # left for the next net
        with tenants_api.tenant_context("acme") as session:
            assert session.scalar(select(Participant.id)) is None  # its writes rolled back
        jobs.run("acme", row.id, jobs.MAX_ATTEMPTS)
        [row] = outbox_rows("acme")
        assert row.done_at is not None and row.error.startswith("given up after")


def test_recovery_wakes_rows_whose_wake_ups_were_all_lost(app, monkeypatch, clock):
    monkeypatch.setattr(jobs, "_push", lambda *args: None)
    with app.app_context():
        with tenants_api.tenant_context("acme"):
            jobs.enqueue(add_participant, "acme", "recovered@acme.test")
        monkeypatch.undo()
        assert jobs.recover() == 0  # not overdue yet: its safety net may still come
        clock.advance(minutes=5)
        woken: list[tuple] = []
        monkeypatch.setattr(jobs, "_wake", lambda *args: woken.append(args))
        assert jobs.recover() == 1
    [row] = outbox_rows("acme")
    assert woken == [("acme", row.id, 1)]
