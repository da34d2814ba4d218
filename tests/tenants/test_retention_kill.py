"""The retention sweep killed with SIGKILL at a random moment, then run again: it ends as an
uninterrupted sweep of the same data ends, and every warning e-mail goes out exactly once.

Unlike ``test_retention_interrupted`` (an exception raised in-process at a batch), this kills a
real process: the sweep runs in a child (``python -c``, the app built from ``PARVIS_*`` settings
on this session's database, jobs queued in a SQLite queue file of the test's own) and is sent
SIGKILL at a moment drawn uniformly over the time an uninterrupted sweep of the same data took,
or, one time in two, over its first step (the warnings: a few batches). The moment is expressed
as "so many batches counted, then so long", so it lands in the same stretch of work however fast
the child runs: inside a batch's transaction, between a batch's commit and the wake-ups of the
warning jobs it queued, or in the pause between batches.

Each trial's tenant holds the same data as a reference tenant swept without a kill. Right after
the kill, every account marked warned must have its warning job in the tenant's outbox (they
commit together). The sweep is then run again to completion, and a real ``flask jobs worker``
runs the jobs until no outbox (each tenant's, the control plane's) holds an undone one; the
lease is 1 s here, so a wake-up lost with the killed process is replaced within a second. No
later sweep is run: a warning that needed the next sweep's resend (``sweep.RESEND_AFTER``) to go
out counts as lost.

The seed is printed in every assertion; ``PARVIS_KILL_SEED=<seed>`` replays its kill moments
(as shares of the reference sweep's time, which is measured again); ``PARVIS_KILL_TRIALS`` sets
how many kills (3 by default, each a tenant of its own).
"""

from __future__ import annotations

import bisect
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tenants import api as tenants_api
from tenants.outbox import TenantJob
from tenants.participants.models import Participant
from tenants.retention.models import RetentionCount, RetentionRun
from tests import factories
from tests.conftest import MAIL_SINK
from tests.mail_sink import SMTPSink
from tests.tenants.retention_helpers import backlog, populate, state
from webapp import db
from webapp.outbox import ControlJob

ROOT = Path(__file__).resolve().parents[2]
TRIALS = int(os.environ.get("PARVIS_KILL_TRIALS", "3"))
PEOPLE = 20  # of each situation ``populate`` writes
IDLE = 30  # more accounts to warn
EXPIRED = 3000  # expired sign-ins, failed sign-ins and consent proofs
BATCH = 25  # rows per batch: a long sweep of many small transactions
WARNING_BATCHES = -(-(PEOPLE + IDLE) // BATCH)  # the sweep's first step
LEASE = 1.0  # seconds before a lost wake-up runs again (60 in production)

pytestmark = pytest.mark.xdist_group("retention-kill")

# The child: sweeps one tenant as the job worker would (``sweep.run`` in the tenant's writer
# context), with small batches; prints "batch" when a batch is counted (just before its
# commit), so the parent can kill it at a chosen point. It starts (imports, builds the app),
# says "ready" and waits for a line on its input: children start together, and each sweep is
# timed from its first statement.
CHILD = """
import sys

from tenants import api as tenants_api
from tenants.retention import sweep
from webapp.app import create_app

slug, batch = sys.argv[1], int(sys.argv[2])
app = create_app()
counted = sweep._count


def count(*args):
    counted(*args)
    print("batch", flush=True)


sweep._count = count


print("ready", flush=True)
sys.stdin.readline()
with app.app_context(), tenants_api.tenant_context(slug, writer=True) as session:
    sweep.run(session, batch=batch)
print("swept", flush=True)
"""


class Child:
    """A child process of this repository, on this session's databases and a queue of its own.
    Its standard output is read line by line (``lines``) or written to its log with its errors
    (a file: a pipe nobody reads would stop a chatty child)."""

    def __init__(self, env: dict[str, str], log: Path, *argv: str, lines: bool = True) -> None:
        self.log = log
        with log.open("a") as errors:
            self.process = subprocess.Popen(  # noqa: S603 -- our own interpreter and arguments
                [sys.executable, *argv], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE if lines else errors, stderr=errors, text=True)

    def go(self) -> float:
        """Let a ready child start its work; returns when it was told."""
        assert self.process.stdin is not None and self.line() == "ready", self.log.read_text()
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return time.monotonic()

    def line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def finish(self, what: str) -> list[str]:
        out, _ = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, f"{what} failed:\n{self.log.read_text()[-3000:]}"
        return out.split()

    def kill(self) -> bool:
        """SIGKILL; True if it was still running (a kill, not a wait for a finished sweep)."""
        running = self.process.poll() is None
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=30)
        return running

    def stop(self) -> None:
        """SIGTERM (the worker finishes its jobs and exits), SIGKILL if it has not in 15 s."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def sweeper(env: dict[str, str], slug: str) -> Child:
    log = Path(env["PARVIS_JOBS_SQLITE_PATH"]).with_name(f"{slug}.log")
    return Child(env, log, "-c", CHILD, slug, str(BATCH))


def receipts(slug: str) -> list[tuple[bool, dict]]:
    """Each receipt (finished?, rows per step), oldest first."""
    with tenants_api.tenant_context(slug) as session:
        runs = list(session.scalars(select(RetentionRun).order_by(RetentionRun.id)))
        lines = list(session.scalars(select(RetentionCount)))
        return [(run.finished_at is not None,
                 {(line.kind, line.step): line.rows for line in lines if line.run_id == run.id})
                for run in runs]


def sent(slug: str) -> list[str]:
    """The active accounts whose warning went out (recorded by the warning's job), by e-mail."""
    with tenants_api.tenant_context(slug) as session:
        return sorted(session.scalars(select(Participant.email).where(
            Participant.inactivity_warning_sent_at.is_not(None),
            Participant.deactivated_at.is_(None))))


def undone(app: Flask, slugs: list[str]) -> int:
    """Jobs not done yet in the control plane's outbox and in these tenants'."""
    with app.app_context():
        left = db.session().scalar(select(func.count()).select_from(ControlJob)
                                   .where(ControlJob.done_at.is_(None))) or 0
        db.session().rollback()
    for slug in slugs:
        with tenants_api.tenant_context(slug) as session:
            left += session.scalar(select(func.count()).select_from(TenantJob)
                                   .where(TenantJob.done_at.is_(None))) or 0
    return left


def wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_sweep_killed_at_a_random_moment_then_rerun(app: Flask, outbox: SMTPSink,
                                                    tmp_path: Path) -> None:
    seed = int(os.environ.get("PARVIS_KILL_SEED") or random.randrange(1 << 30))
    chance = random.Random(seed)
    started = time.monotonic()
    reference, trials = "kill-ref", [f"kill-{n}" for n in range(TRIALS)]
    with app.app_context():
        for slug in [reference, *trials]:
            factories.tenant(slug)
    for slug in [reference, *trials]:
        populate(slug, n=PEOPLE)
        backlog(slug, idle=IDLE, expired=EXPIRED)
    env = {
        **os.environ,
        "PARVIS_INSTANCE_PATH": app.config["INSTANCE_PATH"],
        "PARVIS_DATABASE_URL": app.config["DATABASE_URL"],
        "PARVIS_TENANT_DATA_DIR": app.config["TENANT_DATA_DIR"],
        "PARVIS_JOBS_BACKEND": "sqlite",
        "PARVIS_JOBS_SQLITE_PATH": str(tmp_path / "jobs.db"),
        "PARVIS_JOBS_LEASE_SECONDS": str(LEASE),
        "PARVIS_MAIL_URL": MAIL_SINK.url,
        "PARVIS_SECRET_KEY": app.config["SECRET_KEY"],
        "PARVIS_BASE_URL": "http://parvis.test",
    }
    seeded = time.monotonic()

    # Every sweep's process starts now, together (its work waits for ``go``): the reference,
    # and for each trial the one killed and the one that sweeps again after the kill.
    children = {(slug, rerun): sweeper(env, slug) for slug in trials for rerun in (False, True)}
    child = sweeper(env, reference)

    # The reference: swept without a kill; when each batch was counted, from the start of work.
    began, marks = child.go(), []
    while (line := child.line()) == "batch":
        marks.append(time.monotonic() - began)
    assert line == "swept", child.finish("the reference sweep")
    child.finish("the reference sweep")
    expected = state(reference)
    [(done, counts)] = receipts(reference)
    assert done
    assert counts[("inactive_accounts", "warned")] == PEOPLE + IDLE
    assert counts[("connection_logs", "failures")] >= EXPIRED // 3
    assert len(marks) > 100  # many small transactions: room to be killed in

    kills = []
    for slug in trials:
        # A moment drawn uniformly over the reference's sweep, or (one time in two) from its
        # first warning batch to the next step (the warning batches' commits and wake-ups), as
        # "so many batches counted, then so long": the kill lands in the same stretch of work
        # however fast this child is.
        span = (marks[0], marks[WARNING_BATCHES]) if chance.random() < 0.5 else (0, marks[-1])
        moment = chance.uniform(*span)
        after = bisect.bisect_right(marks, moment)
        delay = moment - (marks[after - 1] if after else 0)
        child = children[slug, False]
        child.go()
        for _ in range(after):
            assert child.line() == "batch", f"the sweep of {slug} failed (seed {seed})"
        time.sleep(delay)
        running = child.kill()
        with tenants_api.tenant_context(slug) as session:
            unfinished = session.scalar(select(func.count()).select_from(RetentionRun).where(
                RetentionRun.finished_at.is_(None)))
            warned = session.scalar(select(func.count()).select_from(Participant).where(
                Participant.inactivity_warned_at.is_not(None),
                Participant.inactivity_warning_sent_at.is_(None)))
            queued = session.scalar(select(func.count()).select_from(TenantJob).where(
                TenantJob.task.endswith("send_inactivity_warning")))
        kills.append((after, round(delay * 1000), running, unfinished, warned, queued))
        child = children[slug, True]
        child.go()
        child.finish(f"the sweep after the kill (seed {seed})")
    swept = time.monotonic()

    context = (f"seed {seed}; kills (after batch, then ms, running, unfinished receipts, "
               f"accounts warned, warning jobs): {kills}")
    assert all(kill[2] for kill in kills), context
    assert all(kill[4] == kill[5] for kill in kills), context  # each warning has its job
    for slug in trials:
        assert state(slug) == expected, f"{slug}: {context}"
        found = receipts(slug)
        assert all(done for done, _ in found), f"{slug}: {context}"
        # The interrupted receipt was carried on: one receipt holds every count, the same.
        assert [lines for _, lines in found if lines] == [counts], f"{slug}: {context}"

    # Deliver: a real worker runs until no outbox holds an undone job.
    worker = Child(env, tmp_path / "worker.log", "-m", "flask", "--app", "wsgi", "jobs",
                   "worker", "--workers", "2", lines=False)
    try:
        def drained() -> bool:
            assert worker.process.poll() is None, (
                f"the worker stopped:\n{worker.log.read_text()[-3000:]}")
            return undone(app, [reference, *trials]) == 0

        wait(drained, 120, f"the outboxes to drain ({context})")
    finally:
        worker.stop()
    delivered = time.monotonic()

    copies = 0
    for slug in [reference, *trials]:
        warned = {f"{who}{i}-{slug}@example.org" for who, n in (("to_warn", PEOPLE),
                                                                 ("idle", IDLE))
                  for i in range(n)}
        assert set(sent(slug)) == warned, f"{slug}: {context}"
        received = [m for m in outbox.messages if m["To"].endswith(f"-{slug}@example.org")]
        ids = {(m["To"], m["Message-ID"]) for m in received}
        per_recipient = Counter(to for to, _ in ids)
        assert set(per_recipient) == warned, f"{slug}: {context}"
        assert set(per_recipient.values()) == {1}, f"{slug}: {per_recipient} ({context})"
        copies += len(received) - len(ids)
    print(f"\n{context}; {len(marks)} batches in the reference's {marks[-1]:.1f} s; "
          f"{copies} repeated copies (same Message-ID); "
          f"seed {seeded - started:.1f} s, sweeps {swept - seeded:.1f} s, "
          f"delivery {delivered - swept:.1f} s")


def _declared_jobs() -> set[str]:
    """Every function of ``tenants`` and ``webapp`` decorated as an outbox job, by name."""
    import ast

    found = set()
    for package in ("tenants", "webapp"):
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef):
                    for decorator in node.decorator_list:
                        target = decorator.func if isinstance(decorator, ast.Call) else decorator
                        if isinstance(target, ast.Attribute):  # ``jobs.effect``, not ``huey.task``
                            owner = getattr(target.value, "id", "")
                            target = ast.Name(target.attr) if owner == "jobs" else target
                        if getattr(target, "id", "") in ("task", "tenant_task", "effect"):
                            found.add(f"{module}:{node.name}")
    return found


def test_a_fresh_worker_finds_every_job(tmp_path: Path) -> None:
    """A row names its job (``module:function``). A worker that never imported the job's module
    used to give it up ("unknown job"): the kill test above found the sweep's warnings lost so
    with a worker that had not swept yet. Every job must be found by a worker as it starts."""
    script = ("import sys\nimport wsgi\nfrom core import jobs\n"
              "print(*(name for name in sys.argv[1:] if jobs._job_named(name) is None))")
    declared = sorted(_declared_jobs())
    env = {**os.environ, "PARVIS_INSTANCE_PATH": str(tmp_path), "PARVIS_SECRET_KEY": "x" * 32}
    worker = subprocess.run([sys.executable, "-c", script, *declared], cwd=ROOT,  # noqa: S603
                            env=env, capture_output=True, text=True)
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert len(declared) > 20
    assert worker.stdout.split() == []  # the jobs it did not find
