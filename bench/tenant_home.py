"""Tenant home page throughput as a ratio of a bare Flask plaintext route, at 10 and 1,000 tenants.

    .venv/bin/python -m bench.tenant_home [--database-url URL] [--tenants 10,1000] [--seconds N]

Requests are WSGI calls made in this process (no server, no sockets), so the figures measure
Parvis's own request path: URL routing, slug check and registry lookup, session cookie,
template rendering, after-request hooks and the commit. Each phase (a number of tenants
present) measures its scenarios in interleaved rounds next to a bare Flask app with one
plaintext route, and every figure is read as a ratio to that baseline: ratios survive a
slower or busier machine, absolute numbers do not. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.test import EnvironBuilder

from tenants import api as tenants_api
from tests import factories
from webapp import db, migrate
from webapp.app import create_app
from webapp.config import ROOT
from webapp.organisations import services as org_services

ROUND_SECONDS = 0.5  # short interleaved rounds: a burst of noise hits every scenario alike
WARMUP_SECONDS = 0.3
SEQUENCE = 8192  # requests are drawn from a pre-shuffled sequence at least this long
PARTICIPANTS_PER_TENANT = 3
SQL_SAMPLE = 50  # requests replayed with SQL counting on (outside the timed rounds)

# Goals from ARCHITECTURE.md "Performance goals".
GOAL_TENANT_THROUGHPUT = 0.80
GOAL_TENANT_P99 = 1.5
GOAL_PROVISION_P95_MS = 250
NOISY = 0.30  # round-to-round variation above which another job was competing for the CPUs

WSGIApp = Callable[..., Any]
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}
TENANT_SCHEMA = re.compile(r"\bt_[a-z0-9_]+\.")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- requests ------------------------------------------------------------------------------


def build_environ(path: str, cookie: str | None = None) -> dict[str, Any]:
    headers = {"Accept": "text/html", "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8",
               "User-Agent": "parvis-bench"}
    if cookie:
        headers["Cookie"] = cookie
    return EnvironBuilder(path=path, headers=headers).get_environ()


def call(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """One request through the app's full WSGI path; returns the status line and headers."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started[:] = [status, headers]

    body = app(environ.copy(), start_response)  # a WSGI app may write into its environ
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return started[0], started[1]


def visitor_cookie(app: Flask, path: str) -> str:
    """The session cookie of a browser that has already visited a few pages.

    The first visit stores the layout's CSRF token, the second Flask-Login's freshness flag;
    then the session stops changing. Measured requests carry that cookie, like a browser
    moving from page to page, so none of them has to write the session again.
    """
    cookie = ""
    for _visit in range(5):
        status, headers = call(app, build_environ(path, cookie))
        assert status.startswith("200"), (path, status)
        cookies = [value.split(";", 1)[0] for name, value in headers if name == "Set-Cookie"]
        if not cookies:
            return cookie
        cookie = "; ".join(cookies)
    raise RuntimeError(f"{path} sets a new session cookie on every visit")


def bare_flask_app() -> Flask:
    """The baseline: the cheapest route Flask can serve."""
    app = Flask("bench_plaintext")

    @app.get("/")
    def plaintext() -> str:
        return "ok"

    return app


# --- measuring -----------------------------------------------------------------------------


@dataclass
class SqlCount:
    """What the engines sent during ``requests`` requests (see ``counting_sql``)."""

    requests: int = 0
    statements: Counter[str] = field(default_factory=Counter)
    transactions: int = 0
    commits: int = 0
    pings: int = 0

    def per_request(self, n: int) -> float:
        return n / self.requests if self.requests else 0.0

    @property
    def statements_per_request(self) -> float:
        return self.per_request(sum(self.statements.values()))

    def describe(self) -> str:
        parts = [f"{self.per_request(n):g} x {sql}" for sql, n in self.statements.most_common()]
        parts.append(f"{self.per_request(self.transactions):g} transaction begun")
        parts.append(f"{self.per_request(self.commits):g} committed")
        parts.append(f"{self.per_request(self.pings):g} connection ping")
        return "; ".join(parts)


@contextmanager
def counting_sql(engine: Engine) -> Iterator[SqlCount]:
    """Count what every engine sends (control plane and, on SQLite, the tenant-files engine).

    ``engine`` is the platform engine, whose pool pings a connection it hands out when the
    server may have closed it (``pool_pre_ping`` would on every checkout): a round trip that no
    SQLAlchemy event reports, so the dialect's ping is wrapped while counting.
    """
    seen = SqlCount()

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # One line per statement whichever tenant's schema it names.
        sql = TENANT_SCHEMA.sub("t_<tenant>.", " ".join(statement.split()))
        if sql.upper() in TRANSACTION_CONTROL:  # SQLite's explicit BEGIN: counted as a begin
            return
        seen.statements[sql if len(sql) <= 90 else sql[:87] + "..."] += 1

    def on_begin(conn: Any) -> None:
        seen.transactions += 1

    def on_commit(conn: Any) -> None:
        seen.commits += 1

    dialect = engine.dialect
    ping = dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        seen.pings += 1
        return ping(dbapi_connection)

    listeners = [("before_cursor_execute", on_execute), ("begin", on_begin),
                 ("commit", on_commit)]
    for name, fn in listeners:
        event.listen(Engine, name, fn)  # class level: every engine, tenant binds included
    dialect.do_ping = counted_ping  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del dialect.do_ping  # back to the class's method
        for name, fn in listeners:
            event.remove(Engine, name, fn)


class RoundStats:
    """Figures of a scenario measured in rounds: ``rates`` and ``percentiles_ms``, one per round."""

    rates: list[float]
    percentiles_ms: list[tuple[float, float]]

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    def ratio_to(self, other: RoundStats) -> float:
        """Median over rounds of this scenario's rate over ``other``'s in the same round."""
        return statistics.median(a / b for a, b in zip(self.rates, other.rates, strict=True))

    @property
    def spread(self) -> float:
        """Round-to-round variation: interquartile range of the round rates over the median."""
        q1, _, q3 = statistics.quantiles(self.rates, n=4)
        return (q3 - q1) / self.rate

    @property
    def p50_ms(self) -> float:
        return statistics.median(p50 for p50, _ in self.percentiles_ms)

    @property
    def p99_ms(self) -> float:
        """The median round's p99: a burst of load on the machine spoils a round, not the run."""
        return statistics.median(p99 for _, p99 in self.percentiles_ms)


@dataclass
class Scenario(RoundStats):
    name: str
    tenants: int
    app: WSGIApp
    environs: list[dict[str, Any]]  # distinct requests; replayed in a random order
    sequence: list[dict[str, Any]] = field(init=False)
    rates: list[float] = field(default_factory=list)  # req/s, one per round
    percentiles_ms: list[tuple[float, float]] = field(default_factory=list)  # p50, p99 per round
    sql: SqlCount | None = None

    def __post_init__(self) -> None:
        # Drawn once, so choosing the next request costs the same in every scenario.
        length = max(SEQUENCE, 2 * len(self.environs))
        self.sequence = random.Random(self.name).choices(self.environs, k=length)

    def warm_up(self) -> None:
        for environ in self.environs:  # every distinct request once, and check it succeeds
            status, _ = call(self.app, environ)
            assert status.startswith("200"), (self.name, environ["PATH_INFO"], status)
        self.run(WARMUP_SECONDS, keep=False)

    def run(self, seconds: float, *, keep: bool = True) -> None:
        app, sequence, clock = self.app, self.sequence, time.perf_counter_ns
        length = len(sequence)
        latencies: list[int] = []
        gc.collect()
        start = now = clock()
        deadline = start + int(seconds * 1e9)
        i = 0
        while now < deadline:
            before = now
            call(app, sequence[i % length])
            now = clock()
            latencies.append(now - before)
            i += 1
        if keep:
            self.rates.append(i * 1e9 / (now - start))
            self.percentiles_ms.append((percentile(latencies, 0.50) / 1e6,
                                        percentile(latencies, 0.99) / 1e6))

    def count_sql(self, engine: Engine) -> None:
        with counting_sql(engine) as seen:
            for environ in self.sequence[:SQL_SAMPLE]:
                call(self.app, environ)
                seen.requests += 1
        self.sql = seen


@dataclass
class Phase:
    """Scenarios measured together while ``tenants`` tenants are present."""

    tenants: int
    plain: Scenario  # the baseline
    health: Scenario  # /healthz: the same database round trips as the home page, no template
    home: Scenario  # the tenant home page, requests spread over every tenant present
    landing: Scenario | None = None  # first phase: a page with no database work
    hot: Scenario | None = None  # later phases: the home page over the first phase's tenants

    @property
    def scenarios(self) -> list[Scenario]:
        return [s for s in (self.plain, self.health, self.landing, self.hot, self.home)
                if s is not None]

    def measure(self, rounds: int, engine: Engine) -> None:
        interleaved(self.scenarios, rounds, engine)


def interleaved(scenarios: list[Scenario], rounds: int, engine: Engine) -> None:
    """Warm up, then run interleaved rounds, rotating the order so no scenario goes first;
    then count each scenario's SQL."""
    for scenario in scenarios:
        scenario.warm_up()
    for r in range(rounds):
        for scenario in scenarios[r % len(scenarios):] + scenarios[:r % len(scenarios)]:
            scenario.run(ROUND_SECONDS)
        log(f"  round {r + 1}/{rounds}: "
            + ", ".join(f"{s.rates[-1]:,.0f}" for s in scenarios) + " req/s")
    for scenario in scenarios:
        scenario.count_sql(engine)


def parser(prog: str, doc: str | None, seconds: float) -> argparse.ArgumentParser:
    """A benchmark's command line: ``--database-url`` and ``--seconds``, its own to add."""
    made = argparse.ArgumentParser(prog=f"python -m {prog}", description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--database-url", help="a PostgreSQL server URL (a database is created "
                      "and dropped on it); SQLite in a temporary folder otherwise")
    made.add_argument("--seconds", type=float, default=seconds,
                      help=f"measured seconds per scenario (default: {seconds:g})")
    return made


@contextmanager
def measured_app(database_url: str | None) -> Iterator[tuple[Flask, Engine]]:
    """``bench_app`` on a throw-away database (SQLite in a temporary folder, or a database
    created on the PostgreSQL server), with its engine; everything disposed of at the end."""
    with tempfile.TemporaryDirectory(prefix="parvis-bench-") as tmp, \
            database(database_url, Path(tmp)) as url:
        app = bench_app(Path(tmp), url)
        try:
            with app.app_context():
                engine = db.engine()
            yield app, engine
        finally:
            with app.app_context():
                db.engine().dispose()
            tenants_api.dispose()


def bench_app(workdir: Path, url: str) -> Flask:
    """The app under measure: a temporary instance, jobs run at once, a fixed secret key, the
    default pool (on SQLite also how many tenant files stay attached to idle connections,
    tenants.db._TenantFilePool, which a first phase of 10 tenants fits in); its control plane
    migrated."""
    app = create_app({
        "INSTANCE_PATH": str(workdir / "instance"),
        "DATABASE_URL": url,
        "TENANT_DATA_DIR": str(workdir / "tenants"),
        "JOBS_BACKEND": "immediate",
        "SECRET_KEY": "bench-secret-key",
        "DB_POOL_SIZE": 10,
    })
    with app.app_context():
        migrate.upgrade_control()
    return app


def uncached(app: Flask) -> WSGIApp:
    """``app`` with its page copies dropped before each request: every page is rendered."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        store = app.extensions.get("parvis_pages")
        if store is not None:
            store.clear()
        return app(environ, start_response)

    return wsgi


# --- the platform under test ---------------------------------------------------------------


@contextmanager
def database(server_url: str | None, workdir: Path) -> Iterator[str]:
    """SQLite in ``workdir``, or a fresh PostgreSQL database dropped at the end."""
    if server_url is None:
        yield f"sqlite:///{workdir / 'control.db'}"
        return
    with factories.throwaway_database(server_url, "parvis_bench") as url:
        log(f"created database {make_url(url).database}")
        yield url


def slug_for(i: int) -> str:
    return f"bench-{i:05d}"


def grow(app: Flask, present: int, target: int) -> list[float]:
    """Provision tenants ``present..target-1`` with a few participants; returns seconds each."""
    timings: list[float] = []
    started = time.perf_counter()
    with app.app_context():
        for i in range(present, target):
            before = time.perf_counter()
            org_services.create(db.session(), slug=slug_for(i), name=f"Organisation {i}",
                                default_language=("fr", "en")[i % 2])
            db.commit()
            timings.append(time.perf_counter() - before)
            for k in range(PARTICIPANTS_PER_TENANT):
                tenants_api.add_participant(slug_for(i), email=f"person{k}@example.org",
                                            first_name=f"Person{k}", last_name="Bench",
                                            city="Lyon")
            done = i + 1 - present
            if done % 100 == 0 or i + 1 == target:
                log(f"  provisioned {done}/{target - present} "
                    f"({time.perf_counter() - started:.0f} s)")
    return timings


def home_page(app: Flask, present: int, requested: int, cookie: str) -> Scenario:
    """The tenant home page, requests spread at random over the first ``requested`` tenants."""
    return Scenario(f"tenant home, {requested:,} tenants requested", present, app,
                    [build_environ(f"/t/{slug_for(i)}/", cookie) for i in range(requested)])


def translations_compiled() -> bool:
    """Pages render untranslated, and cheaper, when the .mo catalogs are missing or stale."""
    catalogs = list((ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))
    return bool(catalogs) and all(
        po.with_suffix(".mo").exists()
        and po.with_suffix(".mo").stat().st_mtime >= po.stat().st_mtime for po in catalogs)


def server_version(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with engine.connect() as conn:
        return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar())


# --- report --------------------------------------------------------------------------------


def goal_verdict(throughput: float, p99: float) -> str:
    met = throughput >= GOAL_TENANT_THROUGHPUT and p99 <= GOAL_TENANT_P99
    return (f"goal ≥ {GOAL_TENANT_THROUGHPUT:.2f} and ≤ {GOAL_TENANT_P99:.1f}x: "
            + ("ok" if met else "MISSED"))


def report(header: str, phases: list[Phase],
           provisioning: dict[tuple[int, int], list[float]]) -> None:
    print(header)
    print(f"{'scenario':<36}{'present':>8}{'req/s':>9}{'vs plain':>9}{'±':>6}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'SQL/req':>8}")
    for phase in phases:
        for s in phase.scenarios:
            sql = s.sql.statements_per_request if s.sql else 0
            print(f"{s.name:<36}{s.tenants:>8,}{s.rate:>9,.0f}{s.ratio_to(phase.plain):>9.3f}"
                  f"{s.spread:>6.0%}{s.p50_ms:>8.2f}{s.p99_ms:>8.2f}"
                  f"{sql:>8g}")
    if any(s.spread > NOISY for phase in phases for s in phase.scenarios):
        print(f"warning: round-to-round variation (±) above {NOISY:.0%}: the machine was busy, "
              "rerun for firm figures")
    print()
    first = phases[0]
    for phase in phases[1:]:
        # Phases run one after the other, so each is read through a baseline of its own: the
        # plaintext route (drift of the machine), or /healthz (also drift of the database's
        # latency, which on a busy machine can move for tens of seconds).
        for base in ("plain", "health"):
            now, then = getattr(phase, base), getattr(first, base)
            throughput = phase.home.ratio_to(now) / first.home.ratio_to(then)
            p99 = (phase.home.p99_ms / now.p99_ms) / (first.home.p99_ms / then.p99_ms)
            print(f"{phase.tenants:,} vs {first.tenants:,} tenants present, through "
                  f"{now.name.split(' (')[0]}: throughput x{throughput:.2f}, p99 x{p99:.2f} — "
                  f"{goal_verdict(throughput, p99)}")
        if phase.hot is not None:
            # The same 10 tenants requested, N present: the tenant count alone, without the
            # spread of traffic that the per-process caches (registry, attached files) see.
            throughput = phase.hot.ratio_to(phase.plain) / first.home.ratio_to(first.plain)
            p99 = (phase.hot.p99_ms / phase.plain.p99_ms) / (first.home.p99_ms / first.plain.p99_ms)
            print(f"{first.tenants:,} tenants requested, {phase.tenants:,} vs {first.tenants:,} "
                  f"present, through plaintext route: throughput x{throughput:.2f}, "
                  f"p99 x{p99:.2f} — {goal_verdict(throughput, p99)}")
            # Measured in the same rounds: no drift between them.
            throughput = phase.home.ratio_to(phase.hot)
            p99 = phase.home.p99_ms / phase.hot.p99_ms
            print(f"{phase.tenants:,} vs {first.tenants:,} tenants requested, "
                  f"{phase.tenants:,} present, interleaved: throughput x{throughput:.2f}, "
                  f"p99 x{p99:.2f} — {goal_verdict(throughput, p99)}")
    for (before, after), timings in provisioning.items():
        ms = [t * 1000 for t in timings]
        print(f"provisioning {len(ms):,} tenants ({before:,} → {after:,} present): "
              f"p50 {percentile(ms, 0.50):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
              f"max {max(ms):.0f} ms, total {sum(ms) / 1000:.1f} s "
              f"(goal: p95 ≤ {GOAL_PROVISION_P95_MS} ms with 10,000 present)")
    for phase in phases:
        assert phase.home.sql is not None
        print(f"per tenant home request, {phase.tenants:,} present: {phase.home.sql.describe()}")


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    command = parser("bench.tenant_home", __doc__, 10.0)
    command.add_argument("--tenants", default="10,1000",
                         help="tenant counts to measure at, ascending (default: 10,1000)")
    args = command.parse_args(argv)
    if args.database_url and not args.database_url.startswith("postgresql"):
        command.error("--database-url must be a postgresql+psycopg:// server URL")
    try:
        args.tenants = sorted({int(n) for n in args.tenants.split(",")})
    except ValueError:
        command.error("--tenants takes comma-separated numbers, e.g. 10,1000")
    if args.tenants[0] < 1:
        command.error("--tenants must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with measured_app(args.database_url) as (app, engine):
        rounds = max(4, round(args.seconds / ROUND_SECONDS))
        catalogs = "catalogs compiled"
        if not translations_compiled():
            catalogs = "catalogs NOT compiled"
            log("translations are not compiled: run .venv/bin/pybabel compile -d "
                "translations for representative figures")
        header = (f"Parvis tenant home benchmark — {datetime.now(UTC):%Y-%m-%d}, "
                  f"{server_version(engine)}, Python {platform.python_version()}, "
                  f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
                  f"{catalogs}, {rounds} rounds of {ROUND_SECONDS:g} s per scenario")
        plain = bare_flask_app()
        phases: list[Phase] = []
        provisioning: dict[tuple[int, int], list[float]] = {}
        present = 0
        for count in args.tenants:
            log(f"provisioning tenants {present} → {count}")
            timings = grow(app, present, count)
            if present:  # the first batch starts from an empty platform: not comparable
                provisioning[(present, count)] = timings
            present = count
            cookie = visitor_cookie(app, f"/t/{slug_for(0)}/")
            phase = Phase(count,
                          Scenario("plaintext route (bare Flask)", count, plain,
                                   [build_environ("/")]),
                          Scenario("health check /healthz (SELECT 1)", count, app,
                                   [build_environ("/healthz", cookie)]),
                          home_page(app, count, count, cookie))
            if not phases:
                phase.landing = Scenario("landing page (template only)", count, app,
                                         [build_environ("/", cookie)])
            else:
                phase.hot = home_page(app, count, phases[0].tenants, cookie)
            log(f"measuring with {count} tenants present")
            phase.measure(rounds, engine)
            phases.append(phase)
        report(header, phases, provisioning)


if __name__ == "__main__":
    main()
