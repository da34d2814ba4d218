"""A sweep killed at any batch, then run again, ends as an uninterrupted sweep would: nothing
handled twice, nothing missed, one receipt with the same counts."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from tenants import api as tenants_api
from tenants.retention import sweep
from tenants.retention.models import RetentionCount, RetentionRun
from tests.tenants.retention_helpers import populate, state


class Killed(Exception):
    """Stands for the worker dying in the middle of a batch."""


def receipt(slug: str) -> tuple[int, dict]:
    with tenants_api.tenant_context(slug) as db:
        runs = list(db.scalars(select(RetentionRun)))
        assert all(run.finished_at is not None for run in runs)
        return len(runs), {(line.kind, line.step): line.rows
                           for line in db.scalars(select(RetentionCount))}


def sweep_in_batches_of_two(app, slug: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), tenants_api.tenant_context(slug, writer=True) as db:
        sweep.run(db, batch=2)


def batches(app, monkeypatch) -> int:  # type: ignore[no-untyped-def]
    """How many batches an uninterrupted sweep of the populated globex takes."""
    calls = []
    original = sweep._count
    monkeypatch.setattr(sweep, "_count", lambda *a: (calls.append(1), original(*a)))
    sweep_in_batches_of_two(app, "globex")
    monkeypatch.setattr(sweep, "_count", original)
    return len(calls)


@pytest.mark.parametrize("seed", range(4))
def test_killed_at_a_random_batch_then_rerun(app, monkeypatch, outbox, seed):
    populate("acme", n=5)
    populate("globex", n=5)
    total = batches(app, monkeypatch)  # globex: the uninterrupted reference
    assert total > 10  # many batches: every step runs more than one
    killed_at = random.Random(seed).randrange(1, total + 1)
    calls = []
    original = sweep._count

    def dying_count(*args):  # type: ignore[no-untyped-def]
        calls.append(1)
        original(*args)  # the batch's work and count are flushed, not committed
        if len(calls) == killed_at:
            raise Killed

    outbox.clear()
    monkeypatch.setattr(sweep, "_count", dying_count)
    with pytest.raises(Killed):
        sweep_in_batches_of_two(app, "acme")
    monkeypatch.setattr(sweep, "_count", original)
    sweep_in_batches_of_two(app, "acme")  # the next sweep carries on

    assert state("acme") == state("globex")
    assert receipt("acme") == receipt("globex")  # one receipt each, the same counts
    warned = sorted(m["To"] for m in outbox.messages)
    assert warned == [f"to_warn{i}-acme@example.org" for i in range(5)]  # each exactly once
