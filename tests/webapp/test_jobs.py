"""Background jobs: enqueued after the unit of work commits, tenant tasks inside their tenant."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from huey.storage import SqliteStorage
from sqlalchemy import select

from tenants import api as tenants_api
from tenants import db as tenant_db
from tenants.participants.models import Participant
from tests import factories
from webapp import db, jobs
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
