"""Purging a million expired rows, and what it does to the registration page meanwhile.

    .venv/bin/python -m bench.retention [--database-url URL] [--rows 1000000] [--seconds N]

One tenant holds ``--rows`` visitors' cookie choices whose proof retention (5 years after the
consent ended) has passed, i.e. expired rows of the retention matrix, and a published event.
Consent proofs are the data kind that grows with every visitor; their ids are made the way the
product makes them (``new_consent_id``, time first). The event's
registration page is requested in this process (WSGI calls, no server, rendered each time:
page copies are dropped before each request, tenants/pagecache.py), first alone for
``--seconds`` (the baseline), then while the tenant's retention sweep runs in another thread
(``tenants.api.sweep_retention``: batches of 10,000 rows, one transaction each, a rest of half
a batch's time after each). Printed: the time spent in batches (the sweep's log line) and in
all, and the page's p50/p99 during the sweep as ratios to the baseline's. Goals (issue 6):
the purge takes at most 30 s of batches; the page's p99 stays within 2x its baseline.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import func, insert, select

from bench.tenant_home import (
    build_environ,
    call,
    log,
    measured_app,
    parser,
    percentile,
    server_version,
    translations_compiled,
    uncached,
    visitor_cookie,
)
from core.clock import utcnow
from tenants import api as tenants_api
from tenants.consent.ledger import new_consent_id
from tenants.consent.models import ConsentEntry
from tests import factories
from webapp import db
from webapp.organisations import services as org_services

SLUG = "purge"
CHUNK = 50_000  # rows per INSERT while filling
GOAL_SECONDS = 30.0
GOAL_P99 = 2.0


def fill(app: Flask, rows: int) -> int:
    """The tenant, its event, and ``rows`` expired consent proofs; returns the event's id."""
    with app.app_context():
        org_services.create(db.session(), slug=SLUG, name="Purge bench", default_language="fr")
        db.commit()
    event_id = factories.event(SLUG)
    old = utcnow() - timedelta(days=7 * 365)  # ended 6 years ago, kept 5
    started = time.perf_counter()
    for start in range(0, rows, CHUNK):
        with tenants_api.tenant_context(SLUG, writer=True) as session:
            session.execute(insert(ConsentEntry), [proof(old + timedelta(seconds=i))
                                                  for i in range(start, min(rows, start + CHUNK))])
        if (start // CHUNK) % 5 == 4:
            log(f"  filled {start + CHUNK:,} rows ({time.perf_counter() - started:.0f} s)")
    return event_id


def proof(created: datetime) -> dict:
    """One visitor's refusal of the optional cookies, as ``record_choice`` writes it."""
    consent_id = new_consent_id(created)
    return {"consent_id": consent_id, "chain_id": consent_id, "kind": "cookies",
            "choices": {"1": False, "2": False}, "version": 1, "texts_hash": "0" * 64,
            "participant_id": None, "created_at": created,
            "expires_at": created + timedelta(days=365), "replaced_at": None}


def latencies(app, environ, *, seconds: float | None = None,  # type: ignore[no-untyped-def]
              until: threading.Event | None = None) -> list[float]:
    """Request the page again and again, for ``seconds`` or until ``until`` is set; ms each."""
    out: list[float] = []
    deadline = time.perf_counter() + seconds if seconds is not None else None
    while (deadline is None or time.perf_counter() < deadline) and not (until and until.is_set()):
        before = time.perf_counter_ns()
        status, _ = call(app, environ)
        out.append((time.perf_counter_ns() - before) / 1e6)
        assert status.startswith("200"), status
    return out


class BusySeconds(logging.Handler):
    """Reads the sweep's own account of its batches from its log line."""

    def __init__(self) -> None:
        super().__init__()
        self.batches, self.seconds = 0, 0.0

    def emit(self, record: logging.LogRecord) -> None:
        _slug, self.batches, self.seconds = record.args  # type: ignore[misc]


def remaining() -> int:
    with tenants_api.tenant_context(SLUG) as session:
        return session.scalar(select(func.count()).select_from(ConsentEntry)) or 0


def main(argv: list[str] | None = None) -> None:
    command = parser("bench.retention", __doc__, 10.0)
    command.add_argument("--rows", type=int, default=1_000_000)
    args = command.parse_args(argv)
    with measured_app(args.database_url) as (app, engine):
        event_id = fill(app, args.rows)
        path = f"/t/{SLUG}/events/{event_id}/signup"
        page = uncached(app)
        environ = build_environ(path, visitor_cookie(app, path))
        latencies(page, environ, seconds=1.0)  # warm-up
        baseline = latencies(page, environ, seconds=args.seconds)

        done, took, busy = threading.Event(), [], BusySeconds()
        logging.getLogger("tenants.retention.sweep").addHandler(busy)
        logging.getLogger("tenants.retention.sweep").setLevel(logging.INFO)

        def purge() -> None:
            started = time.perf_counter()
            with app.app_context():
                tenants_api.sweep_retention(SLUG)
            took.append(time.perf_counter() - started)
            done.set()

        worker = threading.Thread(target=purge)
        worker.start()
        during = latencies(page, environ, until=done)
        worker.join()
        left = remaining()

        p50, p99 = percentile(baseline, 0.50), percentile(baseline, 0.99)
        d50, d99 = percentile(during, 0.50), percentile(during, 0.99)
        catalogs = "catalogs compiled" if translations_compiled() else "catalogs NOT compiled"
        print(f"Parvis retention purge benchmark — {datetime.now(UTC):%Y-%m-%d}, "
              f"{server_version(engine)}, Python {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {catalogs}")
        met = busy.seconds <= GOAL_SECONDS and not left
        print(f"purged {args.rows - left:,} of {args.rows:,} expired rows: {busy.batches} "
              f"batches, {busy.seconds:.1f} s of batches (goal ≤ {GOAL_SECONDS:g} s: "
              f"{'ok' if met else 'MISSED'}), {took[0]:.1f} s with the rests between batches")
        print(f"registration page, rendered: baseline p50 {p50:.2f} ms, p99 {p99:.2f} ms "
              f"({len(baseline):,} requests); during the purge p50 {d50:.2f} ms, "
              f"p99 {d99:.2f} ms ({len(during):,} requests)")
        print(f"p50 ratio {d50 / p50:.2f}, p99 ratio {d99 / p99:.2f} "
              f"(goal ≤ {GOAL_P99:g}: {'ok' if d99 / p99 <= GOAL_P99 else 'MISSED'})")


if __name__ == "__main__":
    main()
