"""The job worker killed with SIGKILL at a random moment, then restarted: every queued e-mail
goes out once and every link in them works.

A real ``flask jobs worker`` runs in a child process against this session's database and the
queue backend of the leg (the SQLite file on the SQLite leg, a real ``redis-server`` on the
PostgreSQL leg); it sends to the test SMTP sink. Each trial queues 300 confirmation e-mails (one
unit of work, as a burst of sign-ups leaves them), starts the worker, kills it once a random
number of e-mails has arrived, starts it again and waits until the outbox is drained.

What may repeat is a delivery killed between the SMTP server's acceptance and the commit that
marks it sent: it goes again with the same ``Message-ID`` (the job's id), which mail clients
take as one message. So the count that must be exactly one is the distinct ``Message-ID`` per
recipient; repeated copies are counted and reported.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from core import jobs
from tenants import api as tenants_api
from tenants.outbox import TenantJob
from tenants.participants import services as participants
from tenants.participants import tasks
from tests.conftest import MAIL_SINK
from tests.mail_sink import SMTPSink

ROOT = Path(__file__).resolve().parents[2]
TRIALS = int(os.environ.get("PARVIS_KILL_TRIALS", "10"))
EMAILS = 300
LEASE = 1.5  # seconds before a lost wake-up runs again (60 in production)

pytestmark = pytest.mark.xdist_group("job-worker-kill")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI") or os.environ.get("PARVIS_REQUIRE_BROWSER"):
            pytest.fail("redis-server is missing (make test installs it)")
        pytest.skip("redis-server is not installed")
    port = 16379 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
    process = subprocess.Popen(  # noqa: S603 -- the Debian package's server, our arguments
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


def _wait_for_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


@pytest.fixture
def backend(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The leg's queue: Redis with PostgreSQL (production), the SQLite file with SQLite."""
    if database_url.startswith("postgresql"):
        return request.getfixturevalue("redis_url")
    return "sqlite"


class Worker:
    """``flask --app wsgi jobs worker`` in a child process, on this session's databases."""

    def __init__(self, app: Flask, backend: str, queue_file: Path) -> None:
        self.env = {
            **os.environ,
            "PARVIS_INSTANCE_PATH": app.config["INSTANCE_PATH"],
            "PARVIS_DATABASE_URL": app.config["DATABASE_URL"],
            "PARVIS_TENANT_DATA_DIR": app.config["TENANT_DATA_DIR"],
            "PARVIS_JOBS_BACKEND": backend,
            "PARVIS_JOBS_SQLITE_PATH": str(queue_file),
            "PARVIS_JOBS_LEASE_SECONDS": str(LEASE),
            "PARVIS_MAIL_URL": MAIL_SINK.url,
            "PARVIS_SECRET_KEY": app.config["SECRET_KEY"],
            "PARVIS_BASE_URL": "http://parvis.test",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker", "--workers", "2"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def _queue_confirmations(app: Flask, trial: int) -> list[str]:
    """One unit of work: 300 new accounts and their confirmation e-mails, as a burst leaves."""
    emails = [f"kill{trial}-{n}@example.org" for n in range(EMAILS)]
    with app.app_context(), tenants_api.tenant_context("acme", writer=True) as session:
        for email in emails:
            person = participants.add(session, email=email, language="fr")
            session.flush()
            jobs.enqueue(tasks.send_confirmation, "acme", person.id)
    return emails


def _undone(app: Flask) -> int:
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        return session.scalar(select(func.count()).select_from(TenantJob)
                              .where(TenantJob.done_at.is_(None))) or 0


def _arrived(sink: SMTPSink, emails: set[str]) -> list:
    return [m for m in sink.messages if m["To"] in emails]


def _wait(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _trial(make_app, backend: str, tmp_path: Path, outbox: SMTPSink,  # type: ignore[no-untyped-def]
           trial: int, kill_after: int, seed: int) -> int:
    """Queue 300 e-mails, kill the worker after ``kill_after`` arrived, restart it, check;
    returns how many copies were repeated (same Message-ID)."""
    queue_file = tmp_path / f"jobs-{trial}.db"
    app = make_app(JOBS_BACKEND=backend, JOBS_SQLITE_PATH=str(queue_file),
                   JOBS_LEASE_SECONDS=LEASE)
    if backend != "sqlite":
        jobs.huey.storage.flush_all()
    emails = set(_queue_confirmations(app, trial))
    worker = Worker(app, backend, queue_file)
    worker.start()
    try:
        _wait(lambda: len(_arrived(outbox, emails)) >= kill_after, 120,
              f"{kill_after} e-mails (seed {seed})")
        worker.kill()
        worker.start()
        _wait(lambda: _undone(app) == 0
              and len({m["To"] for m in _arrived(outbox, emails)}) == EMAILS,
              120, f"the outbox to drain after the kill (seed {seed}, trial {trial})")
    finally:
        worker.kill()

    received = _arrived(outbox, emails)
    ids = {(m["To"], m["Message-ID"]) for m in received}
    per_recipient = Counter(to for to, _ in ids)
    assert set(per_recipient) == emails, f"seed {seed}, trial {trial}"
    assert set(per_recipient.values()) == {1}, f"seed {seed}, trial {trial}"
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        for message in received:
            [link] = [u for u in SMTPSink.links(message) if "/confirm/" in u]
            owner = participants.token_owner(session, link.rsplit("/", 1)[1], "confirm")
            assert owner is not None and owner.email == message["To"], (
                f"a link that does not work (seed {seed}, trial {trial})")
    return len(received) - len(ids)


def test_killed_worker_loses_no_email_and_sends_none_twice(
        make_app, backend: str, tmp_path: Path, outbox: SMTPSink) -> None:  # type: ignore[no-untyped-def]
    seed = random.randrange(1 << 30)
    chance = random.Random(seed)
    repeated = sum(_trial(make_app, backend, tmp_path, outbox, trial,
                          chance.randrange(1, EMAILS), seed) for trial in range(TRIALS))
    print(f"{TRIALS} kills, {TRIALS * EMAILS} e-mails, {repeated} repeated copies "
          f"(same Message-ID), seed {seed}")
