"""Rendered pages and the sign-up POST through HTTP, as ratios of a bare Flask plaintext app
served the same way; then registrations per second on one event.

    .venv/bin/python -m bench.render [--database-url URL] [--seconds 12] [--clients 8]
                                     [--workers 2] [--rate-workers 4] [--rate-seconds 10]
                                     [--capacity 300] [--copies] [--jobs auto] [--keep]

Set-up (in this process, as bench/registration.py makes it): one tenant whose form has first
and last name (required), city (optional) and 10 custom fields of mixed types, one conditional;
one published event; an owner of the tenant; 30 participants. The job queue is the one an
operator pairs with the database (``--jobs auto``): the SQLite file with SQLite, a throw-away
``redis-server`` with PostgreSQL (README, "Production"); a sign-up queues its e-mail there.

1. **Pages**, through real sockets: ``gunicorn wsgi:app`` with ``--workers`` sync workers (2, as
   issue 18 measured) and ``gunicorn bench.plaintext:app`` the same way, both started once;
   the load generator is bench/http_load.py's (pre-built HTTP/1.1 requests over asyncio
   sockets, one connection per request, ``--clients`` requests in flight: a closed loop).
   Rounds of ``ROUND_SECONDS`` go to each scenario in turn, the order rotating; every figure is
   the median over rounds of the scenario's rate over the plaintext app's in the same round
   (ratios survive a busy machine, absolute figures do not). The page copies of
   tenants/pagecache.py are off (``PARVIS_PAGE_COPIES=0``) unless ``--copies``: every page is
   rendered. Scenarios: the registration page, the tenant home, the event page (anonymous
   visitor holding a session cookie, as a browser does after its first page); the admin's
   event list and participant list (the owner signed in); the password-free sign-up POST
   (a new address each time, every field answered; must answer 303).
2. **Registrations per second**: gunicorn again with ``--rate-workers`` workers (4), with the
   production settings (admission control on) and as many clients as workers: the rate
   sustained without a standing queue. First ``--rate-seconds`` of password-free sign-ups to
   one event: each 303 must have stored one account and one registration. Then the Register
   race: 2 x ``--capacity`` signed-in participants press Register on an event of
   ``--capacity`` seats: as many confirmed as ``seats_taken``, never more than the capacity,
   the rest waitlisted. Every answer must be a 303 or a 503 (refused by admission control on a
   busy machine: nothing done; counted, and left out of the rates, which count 303s only); a
   person refused tries again, as a browser's user would (``RACE_ATTEMPTS``), so the event
   fills up and its last seats are raced for.
   The pages' phase turns the queue check off (``PARVIS_QUEUE_TIMEOUT=0``) so that, like the
   plaintext app, Parvis queues ``--clients`` requests rather than shedding them, and gives it
   as many CPU slots as workers (by default one CPU is left to a local PostgreSQL, see
   docs/architecture.md, "Admission control"); rates count only the expected answers (200, or
   303 for the POST) all the same.

The report goes to stdout (with the machine's load before and after), progress to stderr; the
exit code is 0 whatever the verdicts. See bench/README.md and bench/REGISTRATION.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from flask import Flask
from sqlalchemy import func, select

from bench import registration as reg
from bench.http_load import (
    RawAnswer,
    Served,
    app_env,
    exchange,
    form_token,
    gunicorn,
    raw_request,
    redis_server,
)
from bench.tenant_home import RoundStats, database, log, percentile, server_version
from tenants import api as tenants_api
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tests import factories
from webapp import db, migrate
from webapp.app import create_app

ROUND_SECONDS = 1.0
WARMUP_REQUESTS = 40
USER_AGENT = "parvis-bench"  # raw_request's: a signed-in session keeps its identifier
OWNER = "owner@bench.example"
GOAL_PAGE = reg.GOAL_PAGE  # a rendered page / plaintext
GOAL_POST = reg.GOAL_POST  # password-free sign-up POST / rendered registration page
GOAL_RATE = reg.GOAL_RATE  # registrations/s on one event
# The race: a person whose Register is refused by admission control (503) tries again, up to
# this many times, this long apart, so that the event fills up and the seats are raced for.
RACE_ATTEMPTS, RACE_PAUSE = 50, 0.05


# --- set-up ------------------------------------------------------------------------------------


@dataclass
class Site:
    workdir: Path
    url: str  # database URL
    env: dict[str, str]  # of the gunicorn processes
    app: Flask  # the set-up app (same database, same secret key)
    event_id: int
    form: list[tuple[str, str]]  # a password-free sign-up, e-mail aside


def prepare(workdir: Path, url: str, *, copies: bool, jobs: str = "sqlite") -> Site:
    instance = workdir / "instance"
    env = app_env(instance, url, DB_POOL_SIZE="5", PAGE_COPIES="1" if copies else "0",
                  JOBS_BACKEND=jobs)
    app = create_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": url,
                      "TENANT_DATA_DIR": env["PARVIS_TENANT_DATA_DIR"],
                      "SECRET_KEY": env["PARVIS_SECRET_KEY"], "JOBS_BACKEND": "immediate",
                      "MAIL_URL": "outbox", "DB_POOL_SIZE": 2})
    with app.app_context():
        migrate.upgrade_control()
    setup = reg.set_up(app)
    with app.app_context():
        factories.member(reg.SLUG, OWNER, "owner")
    for i in range(30):
        tenants_api.add_participant(reg.SLUG, email=f"person{i}@example.org",
                                    first_name=f"Person{i}", last_name="Bench", city="Lyon")
    return Site(workdir, url, env, app, setup.event_id, setup.form_without_password)


def browser(server: Served, path: str, *, login: bool = False) -> dict[str, str]:
    """The cookies of a browser that has seen ``path`` a few times (signed in as the owner
    first if ``login``): measured requests then carry a session that no longer changes."""
    http = requests.Session()
    http.headers["User-Agent"] = USER_AGENT
    if login:
        page = http.get(f"{server.url}/login", timeout=30)
        answer = http.post(f"{server.url}/login", allow_redirects=False, timeout=30, data={
            "email": OWNER, "password": factories.PASSWORD, "csrf_token": form_token(page.text)})
        assert answer.status_code == 303, f"owner sign-in answered {answer.status_code}"
    for _ in range(4):
        answer = http.get(f"{server.url}{path}", timeout=30)
        assert answer.status_code == 200, (path, answer.status_code)
    return {name: value for name, value in http.cookies.get_dict().items() if value}


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Scenario(RoundStats):
    """Requests made over and over in rounds: ``make`` builds the next one's bytes."""

    name: str
    address: tuple[str, int]
    make: Callable[[], bytes]
    expect: int = 200
    rates: list[float] = field(default_factory=list)
    percentiles_ms: list[tuple[float, float]] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def run(self, seconds: float, clients: int, *, keep: bool = True) -> None:
        _count, latencies, seen, took = asyncio.run(
            closed_loop(self.address, self.make, seconds=seconds, clients=clients))
        self.statuses.update(seen)
        if keep:  # goodput: only the expected answers count
            self.rates.append(seen[self.expect] / took)
            self.percentiles_ms.append((percentile(latencies, 0.5) * 1e3,
                                        percentile(latencies, 0.99) * 1e3))

    @property
    def unexpected(self) -> dict[int, int]:
        return {status: n for status, n in self.statuses.items() if status != self.expect}


async def closed_loop(address: tuple[str, int], make: Callable[[], bytes], *, seconds: float,
                      clients: int) -> tuple[int, list[float], Counter[int], float]:
    """``clients`` connections each sending the next request as soon as the last is answered,
    for ``seconds``: requests answered, their latencies (s), statuses, the time taken."""
    host, port = address
    latencies: list[float] = []
    seen: Counter[int] = Counter()
    began = time.perf_counter()
    deadline = began + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            answer = await exchange(host, port, make(), timeout=60)
            latencies.append(answer.seconds)
            seen[answer.status] += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    return len(latencies), latencies, seen, time.perf_counter() - began


def measure(scenarios: list[Scenario], rounds: int, clients: int) -> None:
    for scenario in scenarios:  # warm every worker (templates compiled, caches filled)
        asyncio.run(warm(scenario))
    for r in range(rounds):
        k = r % len(scenarios)
        for scenario in scenarios[k:] + scenarios[:k]:
            scenario.run(ROUND_SECONDS, clients)
        log(f"  round {r + 1}/{rounds}: "
            + ", ".join(f"{s.rates[-1]:,.0f}" for s in scenarios) + " /s")


async def warm(scenario: Scenario) -> None:
    host, port = scenario.address
    for _ in range(WARMUP_REQUESTS):
        answer = await exchange(host, port, scenario.make(), timeout=60)
        assert answer.status == scenario.expect, (scenario.name, answer.status,
                                                  answer.body[:300])


def address(server: Served) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def get(server: Served, path: str, cookies: dict[str, str]) -> Callable[[], bytes]:
    request = raw_request("GET", f"{server.url}{path}", cookies=cookies)
    return lambda: request


def signups(server: Served, path: str, cookies: dict[str, str], form: list[tuple[str, str]],
            prefix: str) -> Callable[[], bytes]:
    """A password-free sign-up POST with a new e-mail address each time."""
    page = requests.get(f"{server.url}{path}", cookies=cookies, timeout=30,
                        headers={"User-Agent": USER_AGENT})
    tail = urlencode([*form, ("csrf_token", form_token(page.text))]).encode()
    numbers = itertools.count()
    url = f"{server.url}{path}"

    def make() -> bytes:
        body = b"email=%s%d%%40example.org&%s" % (prefix.encode(), next(numbers), tail)
        return raw_request("POST", url, cookies=cookies, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body))}) + body

    return make


# --- registrations per second ------------------------------------------------------------------


@dataclass
class Rate:
    seconds: float
    statuses: Counter[int]
    stored_people: int
    stored_registrations: int

    @property
    def per_second(self) -> float:
        return self.statuses.get(303, 0) / self.seconds


@dataclass
class Race:
    capacity: int
    seconds: float
    statuses: Counter[int]
    registrations: Counter[str]
    seats_taken: int

    @property
    def per_second(self) -> float:
        return self.statuses.get(303, 0) / self.seconds

    @property
    def oversell(self) -> int:
        """Seats confirmed beyond the capacity (0 when the event did not fill up)."""
        return max(0, max(self.registrations.get("confirmed", 0), self.seats_taken)
                   - self.capacity)

    def failures(self) -> list[str]:
        """Anything but a 303 or a 503 (refused by admission control: nothing done, the
        browser may try again), or seats that do not add up."""
        found = []
        if set(self.statuses) - {303, 503}:
            found.append(f"answers {dict(self.statuses)}: a Register answers 303 (or 503)")
        accepted = self.statuses.get(303, 0)
        confirmed = self.registrations.get("confirmed", 0)
        if sum(self.registrations.values()) != accepted or confirmed != self.seats_taken or \
                confirmed != min(accepted, self.capacity):
            found.append(f"{dict(self.registrations)}, seats_taken {self.seats_taken} for "
                         f"{accepted} accepted, capacity {self.capacity}")
        return found


def stored(event_id: int, prefix: str) -> tuple[int, int]:
    """Accounts whose address starts with ``prefix``, and their registrations to the event."""
    with tenants_api.tenant_context(reg.SLUG) as session:
        people = session.scalar(select(func.count()).select_from(Participant)
                                .where(Participant.email.like(f"{prefix}%")))
        registered = session.scalar(
            select(func.count()).select_from(Registration)
            .join(Participant, Participant.id == Registration.participant_id)
            .where(Registration.event_id == event_id, Participant.email.like(f"{prefix}%")))
        return people or 0, registered or 0


def sustained(site: Site, server: Served, seconds: float, clients: int) -> Rate:
    path = f"/t/{reg.SLUG}/events/{site.event_id}/signup"
    make = signups(server, path, browser(server, path), site.form, "rate")
    _count, _latencies, seen, took = asyncio.run(
        closed_loop(address(server), make, seconds=seconds, clients=clients))
    people, registered = stored(site.event_id, "rate")
    return Rate(took, seen, people, registered)


def race(site: Site, server: Served, capacity: int, clients: int) -> Race:
    with tenants_api.tenant_context(reg.SLUG) as session:
        event_id = reg.make_event(session, capacity=capacity).id
    environs = reg.signed_in_registrations(site.app, event_id, 2 * capacity)
    url = f"{server.url}/t/{reg.SLUG}/events/{event_id}/register"
    requests_: list[bytes] = []
    for environ in environs:  # the same browsers, as raw HTTP
        body = environ["wsgi.input"].read()
        cookies = dict(part.split("=", 1) for part in environ["HTTP_COOKIE"].split("; "))
        requests_.append(raw_request("POST", url, cookies=cookies, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body))}) + body)
    host, port = address(server)
    pending = iter(requests_)
    seen: Counter[int] = Counter()

    async def client() -> None:
        for request in pending:  # shared: each person is one client's
            for _attempt in range(RACE_ATTEMPTS):  # refused (503): tries again, as a person
                answer: RawAnswer = await exchange(host, port, request, timeout=60)
                seen[answer.status] += 1
                if answer.status != 503:
                    break
                await asyncio.sleep(RACE_PAUSE)

    async def run() -> float:
        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - began

    took = asyncio.run(run())
    _people, _answers, statuses, seats = reg.counts(event_id)
    return Race(capacity, took, seen, statuses, seats)


# --- report ------------------------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def report(header: str, scenarios: list[Scenario], rate: Rate | None, raced: Race | None,
           load: tuple[float, float], args: argparse.Namespace) -> str:
    plain, *pages = scenarios
    lines = [header, f"load average (1 min): {load[0]:.2f} before, {load[1]:.2f} after",
             "", f"{'scenario (HTTP, ' + str(args.workers) + ' sync workers)':<48} "
             f"{'per s':>7} {'vs plain':>8} {'±':>5} {'p50 ms':>7} {'p99 ms':>7}"]
    for s in scenarios:
        lines.append(f"{s.name:<48} {s.rate:>7,.0f} {s.ratio_to(plain):>8.3f} "
                     f"{s.spread:>5.0%} {s.p50_ms:>7.1f} {s.p99_ms:>7.1f}")
    bad = [f"{s.name}: {s.unexpected}" for s in scenarios if s.unexpected]
    lines += [f"FAIL unexpected answers: {b}" for b in bad]
    lines += ["", f"{'goal':<52} {'value':>7} {'goal':>8}  verdict"]
    by_name = {s.name: s for s in scenarios}
    for s in pages:
        if s.expect == 200:
            ratio = s.ratio_to(plain)
            lines.append(f"{s.name + ' / plaintext':<52} {ratio:>7.3f} {'≥ 0.20':>8}  "
                         f"{verdict(ratio >= GOAL_PAGE)}")
    post = by_name.get("sign-up POST, no password")
    page = by_name.get("registration page GET")
    if post is not None and page is not None:
        ratio = post.ratio_to(page)
        lines.append(f"{'password-free sign-up POST / registration page GET':<52} "
                     f"{ratio:>7.3f} {'≥ 0.75':>8}  {verdict(ratio >= GOAL_POST)}")
    if rate is not None:
        ok = (not set(rate.statuses) - {303, 503}
              and rate.stored_people == rate.statuses[303] == rate.stored_registrations)
        lines.append(f"{f'sign-ups/s on one event, {args.rate_workers} workers':<52} "
                     f"{rate.per_second:>7.1f} {'≥ 50':>8}  "
                     f"{verdict(rate.per_second >= GOAL_RATE and ok)}")
        lines.append(f"  {sum(rate.statuses.values())} answers {dict(rate.statuses)} in "
                     f"{rate.seconds:.1f} s; stored {rate.stored_people} accounts, "
                     f"{rate.stored_registrations} registrations"
                     + ("" if ok else "  FAIL: every answer a 303 (or 503), each stored once"))
    if raced is not None:
        lines.append(f"{f'Register race/s, one event, {args.rate_workers} workers':<52} "
                     f"{raced.per_second:>7.1f} {'≥ 50':>8}  "
                     f"{verdict(raced.per_second >= GOAL_RATE and not raced.failures())}")
        lines.append(f"{'oversell (' + str(2 * raced.capacity) + ' attempts)':<52} "
                     f"{raced.oversell:>7} {'= 0':>8}  "
                     f"{'PASS' if raced.oversell <= 0 and not raced.failures() else 'FAIL'}")
        lines.append(f"  race: {sum(raced.statuses.values())} Register POSTs in "
                     f"{raced.seconds:.2f} s, answers {dict(raced.statuses)} → "
                     f"{dict(raced.registrations)}, seats_taken {raced.seats_taken}")
        lines += [f"FAIL race: {f}" for f in raced.failures()]
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.render", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server URL (default: SQLite in a temporary folder)")
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="measured seconds per scenario, in rounds of 1 s")
    parser.add_argument("--clients", type=int, default=8, help="requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for the pages")
    parser.add_argument("--rate-workers", type=int, default=4,
                        help="gunicorn workers for the registrations per second (0: skip)")
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--capacity", type=int, default=300, help="seats of the race's event")
    parser.add_argument("--copies", action="store_true",
                        help="serve anonymous pages from their copies (tenants/pagecache.py)")
    parser.add_argument("--jobs", choices=("auto", "sqlite", "redis"), default="auto",
                        help="the job queue: the SQLite file (the embedded default) or a "
                        "throw-away redis-server (production's); auto: Redis with PostgreSQL")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    return parser.parse_args(argv)


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="parvis-render-"))
    try:
        yield path
    finally:
        if keep:
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rounds = max(4, round(args.seconds / ROUND_SECONDS))
    before = os.getloadavg()[0]
    with workdir(args.keep) as tmp, database(args.database_url, tmp) as url, \
            ExitStack() as queues, ExitStack() as stack:
        if url.startswith("sqlite"):
            url = f"sqlite:///{tmp / 'instance' / 'control.db'}"
            (tmp / "instance").mkdir(parents=True, exist_ok=True)
        jobs = args.jobs if args.jobs != "auto" else (
            "sqlite" if url.startswith("sqlite") else "redis")
        queue = queues.enter_context(redis_server(tmp)) if jobs == "redis" else "sqlite"
        log("setting up the tenant, its form, the event, the owner")
        site = prepare(tmp, url, copies=args.copies, jobs=queue)
        with site.app.app_context():
            version = server_version(db.engine())
        header = (f"Parvis HTTP benchmark (bench.render) — {datetime.now(UTC):%Y-%m-%d %H:%M} "
                  f"UTC, {version}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
                  f"{rounds} rounds of {ROUND_SECONDS:g} s per scenario, {args.clients} "
                  f"requests in flight, page copies {'on' if args.copies else 'off'}, "
                  f"job queue {jobs}")
        try:
            log(f"starting gunicorn ({args.workers} workers): Parvis and the plaintext app")
            # Like the plaintext app, Parvis queues rather than sheds here (no 503 for a
            # request queued over QUEUE_TARGET) and runs as many requests at once as it has
            # workers (no CPU slot left to a local database): the pages' throughput, not the
            # overload policy.
            parvis = stack.enter_context(gunicorn(
                {**site.env, "PARVIS_QUEUE_TIMEOUT": "0", "PARVIS_CPU_SLOTS": str(args.workers)},
                tmp / "parvis.log", workers=args.workers))
            plain = stack.enter_context(gunicorn(site.env, tmp / "plain.log",
                                                 workers=args.workers,
                                                 app="bench.plaintext:app"))
            signup = f"/t/{reg.SLUG}/events/{site.event_id}/signup"
            anonymous = browser(parvis, signup)
            owner = browser(parvis, f"/t/{reg.SLUG}/admin/events", login=True)
            here = address(parvis)
            scenarios = [
                Scenario("plaintext (bare Flask)", address(plain), get(plain, "/", {})),
                Scenario("registration page GET", here, get(parvis, signup, anonymous)),
                Scenario("tenant home GET", here, get(parvis, f"/t/{reg.SLUG}/", anonymous)),
                Scenario("event page GET", here,
                         get(parvis, f"/t/{reg.SLUG}/events/{site.event_id}", anonymous)),
                Scenario("admin event list GET", here,
                         get(parvis, f"/t/{reg.SLUG}/admin/events", owner)),
                Scenario("admin participant list GET", here,
                         get(parvis, f"/t/{reg.SLUG}/admin/participants", owner)),
                Scenario("sign-up POST, no password", here,
                         signups(parvis, signup, anonymous, site.form, "page"), expect=303),
            ]
            log(f"measuring {len(scenarios)} scenarios, {rounds} rounds")
            measure(scenarios, rounds, args.clients)
            stack.close()
            rate = raced = None
            if args.rate_workers:
                log(f"registrations per second: gunicorn with {args.rate_workers} workers")
                with gunicorn(site.env, tmp / "rate.log", workers=args.rate_workers) as server:
                    # As many clients as workers (production settings, admission control on):
                    # the rate sustained without a standing queue, as bench/burst.py measures.
                    rate = sustained(site, server, args.rate_seconds, args.rate_workers)
                    log(f"  {rate.per_second:.1f} sign-ups/s; race, capacity {args.capacity}")
                    raced = race(site, server, args.capacity, args.rate_workers)
        finally:
            stack.close()
            with site.app.app_context():
                db.engine().dispose()
            tenants_api.dispose()
    print(report(header, scenarios, rate, raced, (before, os.getloadavg()[0]), args))


if __name__ == "__main__":
    main()
