"""Flat across tenants, through HTTP: 10 vs 10,000 tenants, provisioning and fleet migrations.

    .venv/bin/python -m bench.tenants_scale [--database-url URL] [--tenants 10,10000]
        [--seconds 24] [--clients 4] [--jobs 2] [--sample 300]

For each tenant count (ascending), tenants are provisioned up to it, then Parvis is served by
gunicorn (2 sync workers, as in production) and driven over loopback by the asyncio load
generator of bench/http_load.py (pre-built requests, one connection each, as gunicorn's sync
workers close them). Scenarios are measured in interleaved rounds, the order rotating each
round, beside a bare Flask plaintext app served the same way:

* the tenant home page over the first 10 tenants (the baseline of the spread);
* the same page over 200 tenants drawn at random, and over every tenant present.

With N tenants present, "200 of N" and "all N" are read against "10 of N" in the same rounds
(throughput ratio, p99 ratio); the tenant count alone is read across phases through the
plaintext baseline. Goals (issue 18): >= 0.80 of the 10-tenant throughput, p99 <= 1.5x.

Provisioning: the last ``--sample`` tenants of each phase are created one after the other
(``organisations.services.create`` and its commit, as the console and sign-up do), nothing else
running; the rest in ``--jobs`` processes to save time. Goal: p95 <= 150 ms at 10,000.

Migration: with every tenant present, a throw-away revision (one nullable ADD COLUMN) is added
to a copy of migrations/ and ``flask tenants migrate -j JOBS`` runs over every tenant, as an
operator runs it (``PARVIS_MIGRATIONS_INI`` points at the copy); then again, a no-op. The
largest private memory (RssAnon) of a PostgreSQL backend and of the runner's processes is
sampled meanwhile. Goal: <= 150 s at 10,000.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, text

from bench.http_load import Served, app_env, exchange, gunicorn, raw_request
from bench.tenant_home import (
    bench_app,
    database,
    log,
    percentile,
    server_version,
    slug_for,
    translations_compiled,
)
from webapp import db, migrate
from webapp.app import create_app
from webapp.organisations import services as org_services

ROUND_SECONDS = 3.0
BASE_TENANTS = 10  # the baseline: requests spread over this many tenants
SPREAD = 200  # the "200 random tenants"
GOAL_THROUGHPUT = 0.80
GOAL_P99 = 1.5
GOAL_PROVISION_P95_MS = 150
GOAL_MIGRATION_S = 150
REQUEST_TIMEOUT = 60.0


# --- provisioning ------------------------------------------------------------------------------

_grower: Flask | None = None


def _grower_init(overrides: dict[str, Any]) -> None:
    global _grower
    _grower = create_app(overrides)


def _create(app: Flask, i: int) -> float:
    """Provision tenant ``i`` as the console does; the seconds it took."""
    began = time.perf_counter()
    with app.app_context():
        org_services.create(db.session(), slug=slug_for(i), name=f"Organisation {i}",
                            default_language=("fr", "en")[i % 2])
        db.commit()
    return time.perf_counter() - began


def _grow_chunk(indexes: list[int]) -> int:
    assert _grower is not None
    for i in indexes:
        _create(_grower, i)
    return len(indexes)


def url_is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def grow(app: Flask, overrides: dict[str, Any], present: int, target: int, *, jobs: int,
         sample: int) -> list[float]:
    """Provision tenants ``present..target-1``: all but the last ``sample`` in ``jobs``
    processes, then the sample one by one in this process; returns the sample's seconds."""
    bulk_end = max(present, target - sample)
    started = time.perf_counter()
    if jobs <= 1 or url_is_sqlite(overrides["DATABASE_URL"]):
        # SQLite's control plane takes one writer at a time: a provisioning whose read
        # transaction meets another's write fails at once ("database is locked").
        timings = [_create(app, i) for i in range(present, target)]
        log(f"  provisioned {target:,} ({time.perf_counter() - started:.0f} s in all)")
        return timings[-sample:] if sample else []
    if bulk_end > present:
        indexes = list(range(present, bulk_end))
        chunks = [indexes[k:k + 100] for k in range(0, len(indexes), 100)]
        done = 0
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_grower_init, initargs=(overrides,)) as pool:
            for made in pool.map(_grow_chunk, chunks):
                done += made
                if done % 1000 < 100 or done == len(indexes):
                    log(f"  provisioned {present + done:,}/{target:,} "
                        f"({time.perf_counter() - started:.0f} s)")
    timings = [_create(app, i) for i in range(bulk_end, target)]
    log(f"  provisioned {target:,} ({time.perf_counter() - started:.0f} s in all)")
    return timings


# --- HTTP load --------------------------------------------------------------------------------


@dataclass
class Scenario:
    """Requests to one served app, replayed at random by ``clients`` concurrent clients."""

    name: str
    url: str  # http://127.0.0.1:port
    paths: list[str]
    cookies: dict[str, str] = field(default_factory=dict)
    rates: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)
    p50s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        rng = random.Random(self.name)
        host = self.url.removeprefix("http://")
        self.host, port = host.split(":")
        self.port = int(port)
        length = max(4096, 2 * len(self.paths))
        self.requests = [raw_request("GET", f"{self.url}{path}", cookies=self.cookies,
                                     headers={"Accept": "text/html",
                                              "Accept-Language": "fr-FR,fr;q=0.9"})
                         for path in rng.choices(self.paths, k=length)]
        self.next = 0

    def run(self, seconds: float, clients: int, *, keep: bool = True) -> None:
        latencies: list[float] = []
        statuses: Counter[int] = Counter()

        async def client(deadline: float) -> None:
            while time.perf_counter() < deadline:
                request = self.requests[self.next % len(self.requests)]
                self.next += 1
                answer = await exchange(self.host, self.port, request, timeout=REQUEST_TIMEOUT)
                statuses[answer.status] += 1
                latencies.append(answer.seconds)

        async def all_clients() -> float:
            began = time.perf_counter()
            await asyncio.gather(*(client(began + seconds) for _ in range(clients)))
            return time.perf_counter() - began

        took = asyncio.run(all_clients())
        if keep:
            ok = statuses[200]
            self.rates.append(ok / took)
            self.p50s.append(percentile(latencies, 0.50) * 1000)
            self.p99s.append(percentile(latencies, 0.99) * 1000)
            self.statuses.update(statuses)

    def warm_up(self, times: int) -> None:
        """Each path ``times`` times at once, one path after the other."""

        async def visits() -> None:
            for path in self.paths:
                request = raw_request("GET", f"{self.url}{path}", cookies=self.cookies)
                await asyncio.gather(*(exchange(self.host, self.port, request,
                                                timeout=REQUEST_TIMEOUT) for _ in range(times)))

        asyncio.run(visits())

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def p99(self) -> float:
        return statistics.median(self.p99s)

    @property
    def p50(self) -> float:
        return statistics.median(self.p50s)

    def ratio_to(self, other: Scenario) -> float:
        return statistics.median(a / b for a, b in zip(self.rates, other.rates, strict=True))

    def p99_ratio_to(self, other: Scenario) -> float:
        return statistics.median(a / b for a, b in zip(self.p99s, other.p99s, strict=True))

    @property
    def spread(self) -> float:
        if len(self.rates) < 4:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.rates, n=4)
        return (q3 - q1) / self.rate


def interleaved(scenarios: list[Scenario], rounds: int, clients: int) -> None:
    for r in range(rounds):
        k = r % len(scenarios)
        for scenario in scenarios[k:] + scenarios[:k]:
            scenario.run(ROUND_SECONDS, clients)
        log(f"  round {r + 1}/{rounds}: "
            + ", ".join(f"{s.name} {s.rates[-1]:,.0f}/s p99 {s.p99s[-1]:.0f} ms"
                        for s in scenarios))


def visitor_cookies(url: str, path: str) -> dict[str, str]:
    """The cookies of a browser that has visited a few pages (its session no longer changes)."""
    host, port = url.removeprefix("http://").split(":")
    cookies: dict[str, str] = {}

    async def visits() -> None:
        for _ in range(5):
            answer = await exchange(host, int(port), raw_request("GET", f"{url}{path}",
                                                                 cookies=cookies))
            if answer.status != 200:
                raise RuntimeError(f"{path}: {answer.status}")
            if not answer.cookies:
                return
            cookies.update(answer.cookies)

    asyncio.run(visits())
    return cookies


@dataclass
class Phase:
    tenants: int
    plain: Scenario
    base: Scenario  # home over the first BASE_TENANTS tenants
    spread: list[Scenario]  # home over SPREAD at random, over all

    @property
    def scenarios(self) -> list[Scenario]:
        return [self.plain, self.base, *self.spread]


def measure(served: Served, plain: Served, present: int, rounds: int, clients: int) -> Phase:
    cookies = visitor_cookies(served.url, f"/t/{slug_for(0)}/")

    def home(n: int, label: str) -> Scenario:
        return Scenario(label, served.url, [f"/t/{slug_for(i)}/" for i in range(n)], cookies)

    rng = random.Random(present)
    spread = []
    if present > BASE_TENANTS:
        if present > SPREAD:
            chosen = sorted(rng.sample(range(present), SPREAD))
            spread.append(Scenario(f"{SPREAD} of {present:,}", served.url,
                                   [f"/t/{slug_for(i)}/" for i in chosen], cookies))
        spread.append(home(present, f"all {present:,}"))
    phase = Phase(present, Scenario("plaintext", plain.url, ["/"]),
                  home(min(BASE_TENANTS, present), f"{BASE_TENANTS} of {present:,}"), spread)
    # Warm-up: each of the baseline's tenants and of the 200 requested by as many clients at
    # once as there are workers (each process fills its own caches); "all" only gets the short
    # run, as visitors spread over every tenant would meet them.
    for scenario in phase.scenarios:
        if len(scenario.paths) <= SPREAD:
            scenario.warm_up(served.workers)
        scenario.run(1.0, clients, keep=False)
    interleaved(phase.scenarios, rounds, clients)
    return phase


# --- the migration ----------------------------------------------------------------------------

REVISION = '''"""bench: one nullable column (a throw-away revision of bench/tenants_scale.py)"""

import sqlalchemy as sa
from alembic import op

revision = "bench0scale1"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch_op:
        batch_op.add_column(sa.Column("bench_note", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch_op:
        batch_op.drop_column("bench_note")
'''


def migrations_copy(workdir: Path) -> Path:
    """migrations/ copied into ``workdir`` with the throw-away revision on top; its ini."""
    target = workdir / "migrations"
    shutil.copytree(migrate.INI.parent, target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    versions = target / "tenant" / "versions"
    (versions / "29991231_bench0scale1_bench_additive.py").write_text(
        REVISION.format(head=migrate.head("tenant")))
    return target / "alembic.ini"


def rss_anon_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with suppress(OSError):
            todo += [int(c) for c in
                     Path(f"/proc/{current}/task/{current}/children").read_text().split()]
    return found


@dataclass
class MemoryPeak:
    backend_kib: int = 0  # the largest private memory of one PostgreSQL backend of the database
    runner_kib: int = 0  # the runner's processes, summed


@contextmanager
def sampling(engine: Engine, pid: int) -> Iterator[MemoryPeak]:
    peak = MemoryPeak()
    stop = threading.Event()
    postgres = engine.dialect.name == "postgresql"

    def sample() -> None:
        with ExitStack() as stack:
            conn = stack.enter_context(engine.connect()) if postgres else None
            while not stop.wait(0.5):
                if conn is not None:
                    pids = conn.execute(text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()")).scalars().all()
                    conn.rollback()
                    peak.backend_kib = max([peak.backend_kib, *map(rss_anon_kib, pids)])
                peak.runner_kib = max(peak.runner_kib,
                                      sum(map(rss_anon_kib, process_tree(pid))))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join(5)


@dataclass
class Migration:
    tenants: int
    seconds: float
    output: str
    noop_seconds: float
    peak: MemoryPeak


def run_migration(env: dict[str, str], workdir: Path, engine: Engine, jobs: int,
                  tenants: int) -> Migration:
    env = dict(env, PARVIS_MIGRATIONS_INI=str(migrations_copy(workdir)))
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "tenants", "migrate",
               "-j", str(jobs), "--no-progress"]
    log(f"migrating {tenants:,} tenants: {' '.join(command[2:])}")
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=migrate.ROOT,  # noqa: S603
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with sampling(engine, process.pid) as peak:
        output, _ = process.communicate()
    seconds = time.perf_counter() - began
    lines = [line for line in output.splitlines() if "migrated to" in line or "failed" in line]
    log(f"  {seconds:.1f} s: {' / '.join(lines[-3:]) or output[-500:]}")
    began = time.perf_counter()
    again = subprocess.run(command, env=env, cwd=migrate.ROOT, capture_output=True,  # noqa: S603
                           text=True, check=False)
    noop = time.perf_counter() - began
    log(f"  no-op run {noop:.1f} s: {again.stdout.strip()[-200:]}")
    return Migration(tenants, seconds, "\n".join(lines[-3:]), noop, peak)


# --- report -----------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def report(header: str, phases: list[Phase], provisioning: dict[int, list[float]],
           migration: Migration | None) -> None:
    print(header)
    print(f"{'scenario':<22}{'present':>8}{'req/s':>8}{'±':>6}{'p50 ms':>8}{'p99 ms':>8}"
          f"  statuses")
    for phase in phases:
        for s in phase.scenarios:
            statuses = ", ".join(f"{n} x {code or 'no answer'}"
                                 for code, n in sorted(s.statuses.items()))
            print(f"{s.name:<22}{phase.tenants:>8,}{s.rate:>8,.0f}{s.spread:>6.0%}"
                  f"{s.p50:>8.1f}{s.p99:>8.1f}  {statuses}")
    print()
    first = phases[0]
    for phase in phases:
        for s in phase.spread:
            throughput, p99 = s.ratio_to(phase.base), s.p99_ratio_to(phase.base)
            print(f"{s.name} vs {phase.base.name} (same rounds): throughput x{throughput:.2f}, "
                  f"p99 x{p99:.2f} — goal >= {GOAL_THROUGHPUT:.2f} and <= {GOAL_P99:.1f}x: "
                  f"{verdict(throughput >= GOAL_THROUGHPUT and p99 <= GOAL_P99)}")
        if phase is not first:
            throughput = phase.base.ratio_to(phase.plain) / first.base.ratio_to(first.plain)
            print(f"{phase.base.name} vs {first.base.name} (the count alone, through the "
                  f"plaintext baseline): throughput x{throughput:.2f}")
            for s in phase.spread:
                throughput = s.ratio_to(phase.plain) / first.base.ratio_to(first.plain)
                print(f"{s.name} vs {first.base.name} (through the plaintext baseline): "
                      f"throughput x{throughput:.2f} — goal >= {GOAL_THROUGHPUT:.2f}: "
                      f"{verdict(throughput >= GOAL_THROUGHPUT)}")
    for present, timings in provisioning.items():
        ms = [t * 1000 for t in timings]
        p95 = percentile(ms, 0.95)
        print(f"provisioning the last {len(ms):,} of {present:,} one by one: "
              f"p50 {percentile(ms, 0.50):.0f} ms, p95 {p95:.0f} ms, max {max(ms):.0f} ms"
              + (f" — goal p95 <= {GOAL_PROVISION_P95_MS} ms: "
                 f"{verdict(p95 <= GOAL_PROVISION_P95_MS)}" if present >= 10_000 else ""))
    if migration is not None:
        print(f"additive migration of {migration.tenants:,} tenants: {migration.seconds:.1f} s "
              f"({migration.output.splitlines()[-1] if migration.output else 'no summary'}); "
              f"no-op run {migration.noop_seconds:.1f} s; largest backend "
              f"{migration.peak.backend_kib / 1024:.0f} MiB private, runner processes "
              f"{migration.peak.runner_kib / 1024:.0f} MiB"
              + (f" — goal <= {GOAL_MIGRATION_S} s: "
                 f"{verdict(migration.seconds <= GOAL_MIGRATION_S)}"
                 if migration.tenants >= 10_000 else ""))


# --- main -------------------------------------------------------------------------------------


def parse_counts(value: str) -> list[int]:
    counts = sorted({int(n) for n in value.split(",")})
    if counts[0] < 1:
        raise ValueError(value)
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    command = argparse.ArgumentParser(prog="python -m bench.tenants_scale", description=__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("--database-url", help="a PostgreSQL server URL (a database is "
                         "created and dropped on it); SQLite in a temporary folder otherwise")
    command.add_argument("--tenants", default="10,10000", help="tenant counts, ascending")
    command.add_argument("--seconds", type=float, default=24.0,
                         help="measured seconds per scenario and phase (rounds of 3 s)")
    command.add_argument("--clients", type=int, default=2,
                         help="concurrent HTTP clients; as many as workers (more would queue, "
                         "and the admission control sheds a standing queue with 503)")
    command.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    command.add_argument("--jobs", type=int, default=2,
                         help="processes provisioning the bulk, and `tenants migrate -j`")
    command.add_argument("--sample", type=int, default=300,
                         help="tenants provisioned one by one and timed, per phase")
    command.add_argument("--no-migration", action="store_true")
    command.add_argument("--copies", action="store_true",
                         help="serve the home page from its copies (tenants/pagecache.py); off "
                              "by default: every page rendered, as bench.render measures")
    args = command.parse_args(argv)
    try:
        counts = parse_counts(args.tenants)
    except ValueError:
        command.error("--tenants takes comma-separated positive numbers, e.g. 10,10000")
    if args.database_url and not args.database_url.startswith("postgresql"):
        command.error("--database-url must be a postgresql+psycopg:// server URL")
    rounds = max(4, round(args.seconds / ROUND_SECONDS))

    with tempfile.TemporaryDirectory(prefix="parvis-scale-") as tmp, \
            database(args.database_url, Path(tmp)) as url:
        workdir = Path(tmp)
        app = bench_app(workdir, url)
        overrides = {"INSTANCE_PATH": str(workdir / "instance"), "DATABASE_URL": url,
                     "TENANT_DATA_DIR": str(workdir / "tenants"), "JOBS_BACKEND": "immediate",
                     "SECRET_KEY": "bench-secret-key", "DB_POOL_SIZE": 10}
        env = app_env(workdir / "instance", url, TENANT_DATA_DIR=str(workdir / "tenants"),
                      JOBS_BACKEND="immediate", PAGE_COPIES="1" if args.copies else "0",
                      # Like the plaintext app, Parvis queues rather than sheds (no 503 for a
                      # request queued over QUEUE_TARGET): throughput, not the overload policy.
                      QUEUE_TIMEOUT="0")
        with app.app_context():
            engine = db.engine()
        header = (f"Parvis tenants at scale, through HTTP — {datetime.now(UTC):%Y-%m-%d %H:%M} "
                  f"UTC, {server_version(engine)}, Python {platform.python_version()}, "
                  f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} at the start, gunicorn "
                  f"{args.workers} sync workers, {args.clients} clients, {rounds} rounds of "
                  f"{ROUND_SECONDS:g} s, page copies {'on' if args.copies else 'off'}, catalogs "
                  f"{'compiled' if translations_compiled() else 'NOT compiled'}")
        phases: list[Phase] = []
        provisioning: dict[int, list[float]] = {}
        present = 0
        with gunicorn(env, workdir / "plain.log", workers=args.workers,
                      app="bench.plaintext:app") as plain:
            for count in counts:
                log(f"provisioning tenants {present:,} → {count:,}")
                timings = grow(app, overrides, present, count, jobs=args.jobs,
                               sample=min(args.sample, count - present))
                provisioning[count] = timings
                present = count
                log(f"measuring with {count:,} tenants present (load "
                    f"{os.getloadavg()[0]:.2f})")
                with gunicorn(env, workdir / f"parvis-{count}.log",
                              workers=args.workers) as served:
                    phases.append(measure(served, plain, count, rounds, args.clients))
        migration = None
        if not args.no_migration:
            migration = run_migration(env, workdir, engine, args.jobs, present)
        header += f"; load {os.getloadavg()[0]:.2f} at the end"
        report(header, phases, provisioning, migration)
        with app.app_context():
            db.engine().dispose()


if __name__ == "__main__":
    main()
