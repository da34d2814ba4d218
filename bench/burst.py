"""A burst of sign-ups on one event, then of confirmations, through HTTP; then an overload.

    .venv/bin/python -m bench.burst [--database postgresql+psycopg://…] [--signups 300]
                                    [--capacity 100] [--workers 4] [--overload 4]
                                    [--overload-seconds 15] [--sustained-clients N]
                                    [--password]
                                    [--set NAME=VALUE]…

The database is SQLite in a temporary folder unless ``--database`` (or ``PARVIS_BENCH_DATABASE``)
names a PostgreSQL server, on which a database ``parvis_bench_<random>`` is made and dropped.

1. Set-up, in this process: the control plane migrated, a tenant provisioned, one published
   event of capacity C with a waiting list. Then ``gunicorn wsgi:app`` with ``--workers`` sync
   workers on a free loopback port, and the job worker (``flask jobs worker``) beside it, both
   child processes on the same database; e-mails are ``.eml`` files in the instance's outbox.
2. **Sign-ups**: N clients (one thread and one cookie jar each) load the event's sign-up form
   (its CSRF token and session cookie, as a browser does), wait at a barrier, then all post
   the form at once (an account, a pending registration). Measured: sign-ups/s
   (over the whole burst), latency p50/p99, status codes.
3. **Confirmations**: once the worker has e-mailed every confirmation link (read from the
   outbox), all N links are followed at once (GET, each in its client's cookie jar).
4. **Counted in the database**: each client that got a success is stored exactly once (one
   account, one registration), confirmed == C, waitlisted == N - C, seats taken == C.
5. **Unloaded, then sustainable**: 300 sign-ups one after the other (the unloaded latency),
   then as many clients as the server runs requests at once (its CPU slots) signing up back
   to back (form, then post) for 8 s
   (closed loop: the rate the server sustains without queueing; a client shed with 503 goes
   on at once, so the rate is the server's goodput).
6. **Overload**: open-loop arrivals (each sign-up sent at its time, whether or not earlier ones
   were answered) at ``--overload`` times the sustainable rate, for ``--overload-seconds``:
   statuses (503 = shed, with Retry-After), latency, and that every success is stored. Goals:
   every 503 within 1 s, the accepted sign-ups' p99 within 3x the unloaded p99.

Phases 5 and 6 send pre-built HTTP/1.1 requests over asyncio sockets (``bench.http_load``,
``exchange``) so that the load generator costs little beside the server; each latency runs
from the moment the client starts connecting to the answer's last byte. The job worker runs
under ``nice -n 10`` (``--jobs-nice``), as docs/architecture.md ("Operations") recommends.
``--set NAME=VALUE`` sets a ``PARVIS_NAME`` of the served app (the ``PARVIS_`` variables of
the shell are not passed on).

Sign-ups send the form alone, as most registrants do since issue 19 (no password: nothing to
hash); ``--password`` sets one on every sign-up (argon2id at its production cost), as before.
``signup_form`` is the one place that knows the form's fields. The report goes to stdout,
progress to stderr; the exit code is 1 if an acceptance check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import func, select

from bench.http_load import (
    RawAnswer,
    Served,
    app_env,
    exchange,
    form_token,
    free_port,
    gunicorn,
    job_worker,
    raw_request,
    wait_for_links,
)
from core.clock import utcnow
from core.web import admission

PASSWORD = "burst-password-42"
CLIENT_TIMEOUT = 120.0  # seconds a client waits for an answer
UNLOADED = 300  # sign-ups one after the other: the unloaded latency (a p99 of 300, not a max)
RETRIES = 100  # times a client of the burst sends its request again after a 503


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- set-up -----------------------------------------------------------------------------------


@dataclass
class Site:
    """The platform under load: folder, database, tenant and event, and the child processes'
    environment."""

    instance: Path
    database_url: str
    slug: str
    event_id: int
    capacity: int
    env: dict[str, str]
    app: object = None  # the set-up Flask app, reused to count rows


def prepare(workdir: Path, database_url: str, *, capacity: int, slug: str = "burst",
            port: int, settings: dict[str, str] | None = None) -> Site:
    """Migrate, provision ``slug`` with one open event of ``capacity`` seats and a waiting
    list; returns the site (the app stays usable to count rows)."""
    from tenants import api as tenants_api
    from tenants.events.models import Event
    from webapp import db, migrate
    from webapp.app import create_app
    from webapp.organisations import services as organisations

    instance = workdir / "instance"
    env = app_env(instance, database_url, base_url=f"http://127.0.0.1:{port}",
                  **{"DB_POOL_SIZE": "5", **(settings or {})})
    app = create_app({"INSTANCE_PATH": str(instance), "DATABASE_URL": database_url,
                      "TENANT_DATA_DIR": str(instance / "tenants"),
                      "SECRET_KEY": env["PARVIS_SECRET_KEY"], "JOBS_BACKEND": "immediate",
                      "MAIL_URL": "outbox", "DB_POOL_SIZE": 2})
    with app.app_context():
        migrate.upgrade_control()
        organisations.create(db.session(), slug=slug, name="Burst")
        db.commit()
        start = utcnow().replace(microsecond=0) + timedelta(days=7)
        with tenants_api.tenant_context(slug, writer=True) as session:
            event = Event(title={"fr": "Atelier", "en": "Workshop"}, starts_at=start,
                          ends_at=start + timedelta(hours=2), status="published",
                          capacity=capacity, waitlist=True,
                          join_url="https://video.example.test/room/1")
            session.add(event)
            session.flush()
            event_id = event.id
    return Site(instance, database_url, slug, event_id, capacity, env, app)


@contextmanager
def served(site: Site, workdir: Path, *, workers: int, port: int,
           jobs_nice: int = 10) -> Iterator[Served]:
    """gunicorn and the job worker on the site, logs in ``workdir``; the job worker at
    ``jobs_nice``, as docs/architecture.md ("Operations") recommends."""
    with gunicorn(site.env, workdir / "gunicorn.log", workers=workers, port=port) as server, \
            job_worker(site.env, workdir / "worker.log", nice=jobs_nice):
        yield server


# --- clients ----------------------------------------------------------------------------------


@dataclass
class Client:
    """One person in a browser: a cookie jar, an address, the form's token."""

    email: str
    http: requests.Session = field(default_factory=requests.Session)
    token: str = ""


@dataclass
class Answer:
    client: Client
    status: int  # the last answer's; 0: no answer (connection error or time-out)
    seconds: float  # from the first send to the last answer
    location: str = ""
    retry_after: str = ""
    statuses: list[int] = field(default_factory=list)  # every attempt's, 503s included


def signup_url(server: Served, site: Site) -> str:
    return f"{server.url}/t/{site.slug}/events/{site.event_id}/signup"


signup_password = ""  # what the sign-up password fields hold: left blank, unless --password


def signup_form(client: Client) -> dict[str, str]:
    """What the sign-up form posts (the one place that knows its fields)."""
    return {"csrf_token": client.token, "email": client.email, "password": signup_password,
            "password_confirm": signup_password, "first_name": "Burst", "last_name": "Tester"}


def load_forms(clients: list[Client], url: str, threads: int = 8) -> None:
    """Each client loads the sign-up page and keeps its token (not measured)."""
    queue = list(clients)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                client = queue.pop()
            page = client.http.get(url, timeout=CLIENT_TIMEOUT)
            while page.status_code == 503:  # shed: reload after a while, as a person would
                time.sleep(float(page.headers.get("Retry-After", "1")) * random.random())
                page = client.http.get(url, timeout=CLIENT_TIMEOUT)
            page.raise_for_status()
            client.token = form_token(page.text)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()


def send(client: Client, method: str, url: str, data: dict | None, *,
         retries: int = 0) -> Answer:
    """One request; a 503 is sent again after its Retry-After (and up to a second more, so
    that shed clients do not all come back at once), at most ``retries`` times, as a person
    or a browser extension would."""
    began = time.perf_counter()
    statuses: list[int] = []
    while True:
        try:
            response = client.http.request(method, url, data=data, allow_redirects=False,
                                           timeout=CLIENT_TIMEOUT)
        except requests.RequestException:
            statuses.append(0)
            return Answer(client, 0, time.perf_counter() - began, statuses=statuses)
        statuses.append(response.status_code)
        retry_after = response.headers.get("Retry-After", "")
        if response.status_code != 503 or len(statuses) > retries:
            return Answer(client, response.status_code, time.perf_counter() - began,
                          response.headers.get("Location", ""), retry_after, statuses)
        wait = float(retry_after) if retry_after.isdigit() else 1.0
        time.sleep(wait + random.random())


def at_once(requests_: list[tuple[Client, str, str, dict | None]], *,
            retries: int = RETRIES) -> tuple[list[Answer], float]:
    """Send all requests at the same moment (one thread each, released by a barrier), each
    sent again after a 503 up to ``retries`` times; the answers and the wall time from the
    release to the last answer."""
    barrier = threading.Barrier(len(requests_) + 1)
    answers: list[Answer | None] = [None] * len(requests_)

    def work(i: int) -> None:
        client, method, url, data = requests_[i]
        barrier.wait()
        answers[i] = send(client, method, url, data, retries=retries)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(requests_))]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return [a for a in answers if a is not None], time.perf_counter() - began


def _answer(client: Client, raw: RawAnswer) -> Answer:
    return Answer(client, raw.status, raw.seconds, raw.headers.get("location", ""),
                  raw.headers.get("retry-after", ""), [raw.status])


def posted(client: Client, url: str) -> bytes:
    """The bytes of ``client``'s sign-up: its form, with the cookies of the page it loaded."""
    return raw_request("POST", url, cookies=client.http.cookies.get_dict(),
                       form=signup_form(client))


def _address(url: str) -> tuple[str, int]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def one_by_one(clients: list[Client], url: str) -> list[Answer]:
    """Each client's sign-up (its form already loaded) sent after the previous one's answer."""
    host, port = _address(url)

    async def run() -> list[Answer]:
        return [_answer(c, await exchange(host, port, posted(c, url), timeout=CLIENT_TIMEOUT))
                for c in clients]

    return asyncio.run(run())


def open_loop(clients: list[Client], url: str, rate: float) -> tuple[list[Answer], float]:
    """Send client i's sign-up at ``i / rate`` seconds, whatever became of the earlier ones;
    the requests are built beforehand, so the generator only writes and reads sockets."""
    host, port = _address(url)
    requests_ = [posted(c, url) for c in clients]

    async def run() -> tuple[list[Answer], float]:
        loop = asyncio.get_running_loop()
        began = loop.time()
        tasks = []
        for i, request in enumerate(requests_):
            delay = began + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(
                exchange(host, port, request, timeout=CLIENT_TIMEOUT)))
        answers = await asyncio.gather(*tasks)
        return ([_answer(c, a) for c, a in zip(clients, answers, strict=True)],
                loop.time() - began)

    return asyncio.run(run())


def closed_loop(url: str, *, clients: int, seconds: float) -> tuple[list[Answer], float]:
    """``clients`` clients each signing up new accounts back to back (form, then post) for
    ``seconds``: what the server sustains; the sign-ups' answers and the time taken."""
    host, port = _address(url)
    answers: list[Answer] = []

    async def person(k: int, began: float) -> None:
        n = 0
        while time.perf_counter() - began < seconds:
            client = Client(f"steady{k:02d}-{n:05d}@example.org")
            page = await exchange(host, port, raw_request("GET", url), timeout=CLIENT_TIMEOUT)
            if page.status != 200:  # shed: load it again (the server's goodput is measured)
                continue
            client.token = form_token(page.body.decode())
            request = raw_request("POST", url, cookies=page.cookies, form=signup_form(client))
            answers.append(_answer(client, await exchange(host, port, request,
                                                          timeout=CLIENT_TIMEOUT)))
            n += 1

    async def run() -> float:
        began = time.perf_counter()
        await asyncio.gather(*(person(k, began) for k in range(clients)))
        return time.perf_counter() - began

    took = asyncio.run(run())
    return answers, took


# --- phases -----------------------------------------------------------------------------------


def signups(server: Served, site: Site, clients: list[Client]) -> tuple[list[Answer], float]:
    url = signup_url(server, site)
    load_forms(clients, url)
    return at_once([(c, "POST", url, signup_form(c)) for c in clients])


def signed_up(answer: Answer) -> bool:
    return answer.status == 303 and answer.location.endswith("/signup/check-inbox")


def confirmations(server: Served, site: Site, answers: list[Answer],
                  timeout: float = 180.0) -> tuple[list[Answer], float, int]:
    """Follow every confirmation link e-mailed to a client that signed up, all at once;
    returns the answers, the wall time and how many links never arrived."""
    wanted = {a.client.email: a.client for a in answers if signed_up(a)}
    links = wait_for_links(site.instance, "/confirm/", set(wanted), timeout)
    missing = len(wanted) - len(links)
    base = server.url
    sent = [(wanted[to], "GET", base + link[link.index("/t/"):], None)
            for to, link in links.items()]
    found, seconds = at_once(sent)
    return found, seconds, missing


def confirmed_ok(answer: Answer) -> bool:
    return answer.status == 303 and answer.location.endswith("/me/registrations")


@dataclass
class Stored:
    accounts: Counter  # e-mail -> accounts with it
    registrations: Counter  # e-mail -> registrations to the event
    statuses: Counter  # status -> registrations
    seats_taken: int


def stored(site: Site) -> Stored:
    from tenants import api as tenants_api
    from tenants.events.models import Event
    from tenants.participants.models import Participant
    from tenants.registration.models import Registration

    with site.app.app_context(), tenants_api.tenant_context(site.slug) as session:  # type: ignore[attr-defined]
        accounts = Counter(dict(session.execute(
            select(Participant.email, func.count()).group_by(Participant.email)).all()))
        registrations = Counter(dict(session.execute(
            select(Participant.email, func.count()).join(
                Registration, Registration.participant_id == Participant.id)
            .where(Registration.event_id == site.event_id)
            .group_by(Participant.email)).all()))
        statuses = Counter(dict(session.execute(
            select(Registration.status, func.count()).where(
                Registration.event_id == site.event_id)
            .group_by(Registration.status)).all()))
        seats = session.get(Event, site.event_id).seats_taken
    return Stored(accounts, registrations, statuses, seats)


def lost(answers: list[Answer], ok: object, found: Stored) -> list[str]:
    """Clients told "done" whose account or registration is not stored exactly once."""
    return [a.client.email for a in answers if ok(a)  # type: ignore[operator]
            and (found.accounts[a.client.email] != 1
                 or found.registrations[a.client.email] != 1)]


# --- report -----------------------------------------------------------------------------------


def ms(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def statuses(answers: list[Answer]) -> str:
    """Final statuses, then every attempt's when some were sent again after a 503."""
    final = Counter(a.status for a in answers)
    text = ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(final.items()))
    tried = Counter(status for a in answers for status in a.statuses)
    if sum(tried.values()) > len(answers):
        text += "; all attempts: " + ", ".join(
            f"{status or 'no answer'}: {n}" for status, n in sorted(tried.items()))
    return text


def describe(name: str, answers: list[Answer], seconds: float, ok: object) -> str:
    good = [a for a in answers if ok(a)]  # type: ignore[operator]
    rate = len(good) / seconds if seconds else 0.0
    times = [a.seconds for a in answers]
    return (f"{name:<16} {len(answers):>5} sent  {len(good):>5} ok  {rate:7.1f}/s  "
            f"p50 {ms(times, 0.5):7.0f} ms  p99 {ms(times, 0.99):7.0f} ms  "
            f"[{statuses(answers)}]")


@dataclass
class Result:
    signup: list[Answer]
    signup_seconds: float
    confirm: list[Answer]
    confirm_seconds: float
    missing_links: int
    after_confirm: Stored
    unloaded: list[Answer] = field(default_factory=list)
    sustained: list[Answer] = field(default_factory=list)
    sustained_seconds: float = 0.0
    overload: list[Answer] = field(default_factory=list)
    overload_seconds: float = 0.0
    overload_rate: float = 0.0
    after_overload: Stored | None = None
    failures: list[str] = field(default_factory=list)


def check(result: Result, site: Site, n: int) -> list[str]:
    """The acceptance checks; a list of what failed."""
    failed = []
    found = result.after_confirm
    for name, answers in (("sign-up", result.signup), ("confirmation", result.confirm)):
        errors = sum(1 for a in answers for status in a.statuses
                     if status >= 500 and status != 503)
        if errors:
            failed.append(f"{errors} {name} answers were 5xx other than 503")
        if any(a.status == 0 for a in answers):
            failed.append(f"{name}: some clients got no answer")
    if lost(result.signup, signed_up, found):
        failed.append("a client told it signed up is not stored exactly once")
    if sum(1 for a in result.signup if signed_up(a)) != n:
        failed.append("not every sign-up succeeded")
    if result.missing_links:
        failed.append(f"{result.missing_links} confirmation links never arrived")
    confirmed, waiting = found.statuses["confirmed"], found.statuses["waitlisted"]
    if confirmed != min(site.capacity, n) or found.seats_taken != confirmed:
        failed.append(f"confirmed {confirmed}, seats taken {found.seats_taken}, "
                      f"capacity {site.capacity}")
    if waiting != n - confirmed:
        failed.append(f"waitlisted {waiting}, expected {n - confirmed}")
    if result.after_overload is not None:
        overload_errors = sum(1 for a in result.overload if a.status >= 500 and a.status != 503)
        if overload_errors:
            failed.append(f"overload: {overload_errors} answers were 5xx other than 503")
        if lost(result.overload, signed_up, result.after_overload):
            failed.append("overload: a client told it signed up is not stored exactly once")
        slowest_shed = max((a.seconds for a in result.overload if a.status == 503), default=0)
        if slowest_shed > 1.0:
            failed.append(f"overload: a 503 took {slowest_shed:.1f} s (goal: within 1 s)")
        accepted = ms([a.seconds for a in result.overload if signed_up(a)], 0.99)
        unloaded = ms([a.seconds for a in result.unloaded], 0.99)
        if accepted > 3 * unloaded:
            failed.append(f"overload: accepted p99 {accepted:.0f} ms is over 3x the unloaded "
                          f"p99 {unloaded:.0f} ms")
    return failed


def report(site: Site, args: argparse.Namespace, result: Result, load: tuple) -> str:
    found = result.after_confirm
    lines = [
        f"# burst: {args.signups} sign-ups then their confirmations, one event of capacity "
        f"{args.capacity} with a waiting list, "
        f"{'with a password' if args.password else 'without a password'}",
        f"database {site.database_url.split('@')[-1] if '@' in site.database_url else 'sqlite'}"
        f"; gunicorn {args.workers} sync workers + job worker; {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}",
        f"load average before / after: {load[0]:.2f} / {load[1]:.2f}",
        "",
        describe("sign-ups", result.signup, result.signup_seconds, signed_up),
        describe("confirmations", result.confirm, result.confirm_seconds, confirmed_ok),
        f"stored: {sum(found.accounts.values())} accounts "
        f"({sum(1 for n in found.accounts.values() if n > 1)} duplicated), registrations "
        f"{dict(sorted(found.statuses.items()))}, seats taken {found.seats_taken}",
    ]
    if result.after_overload is not None:
        shed = [a.seconds for a in result.overload if a.status == 503]
        accepted = [a.seconds for a in result.overload if signed_up(a)]
        missing = lost(result.overload, signed_up, result.after_overload)
        unloaded_p99 = ms([a.seconds for a in result.unloaded], 0.99)
        lines += [
            "",
            describe("unloaded", result.unloaded, sum(a.seconds for a in result.unloaded),
                     signed_up),
            describe("sustained", result.sustained, result.sustained_seconds, signed_up),
            f"overload: open-loop arrivals at {args.overload}x the sustainable rate "
            f"({result.overload_rate:.1f}/s) for {args.overload_seconds} s",
            describe("sign-ups", result.overload, result.overload_seconds, signed_up),
            f"shed with 503: {len(shed)} of {len(result.overload)} "
            f"({len(shed) / max(len(result.overload), 1):.0%}), the slowest in "
            f"{ms(shed, 1.0):.0f} ms (goal <= 1000); accepted {len(accepted)}, p99 "
            f"{ms(accepted, 0.99):.0f} ms = {ms(accepted, 0.99) / max(unloaded_p99, 1):.2f}x "
            f"the unloaded p99 {unloaded_p99:.0f} ms (goal <= 3); "
            f"succeeded but not stored exactly once: {len(missing)}",
        ]
    lines += ["", "PASS" if not result.failures else "FAIL: " + "; ".join(result.failures)]
    return "\n".join(lines)


def run(site: Site, server: Served, args: argparse.Namespace) -> Result:
    n = args.signups
    clients = [Client(f"burst{i:05d}@example.org") for i in range(n)]
    log(f"{n} sign-ups at once…")
    signup, signup_seconds = signups(server, site, clients)
    log(f"  {statuses(signup)} in {signup_seconds:.1f} s; waiting for the e-mails…")
    confirm, confirm_seconds, missing = confirmations(server, site, signup)
    log(f"  confirmations: {statuses(confirm)} in {confirm_seconds:.1f} s")
    result = Result(signup, signup_seconds, confirm, confirm_seconds, missing, stored(site))
    if args.overload:
        url = signup_url(server, site)
        log(f"unloaded: {UNLOADED} sign-ups one after the other…")
        alone = [Client(f"alone{i:05d}@example.org") for i in range(UNLOADED)]
        load_forms(alone, url)
        result.unloaded = one_by_one(alone, url)
        clients = args.sustained_clients or running_at_once(args)
        log(f"sustained: {clients} clients back to back for 8 s…")
        result.sustained, result.sustained_seconds = closed_loop(url, clients=clients,
                                                                 seconds=8.0)
        rate = sum(1 for a in result.sustained if signed_up(a)) / result.sustained_seconds
        result.overload_rate = args.overload * rate
        count = max(int(result.overload_rate * args.overload_seconds), 1)
        more = [Client(f"over{i:05d}@example.org") for i in range(count)]
        log(f"overload: {count} sign-ups at {result.overload_rate:.1f}/s (loading forms)…")
        load_forms(more, url)
        result.overload, result.overload_seconds = open_loop(more, url, result.overload_rate)
        log(f"  {statuses(result.overload)} in {result.overload_seconds:.1f} s")
        result.after_overload = stored(site)
    result.failures = check(result, site, n)
    return result


@contextmanager
def database(server_url: str | None, workdir: Path) -> Iterator[str]:
    if not server_url:
        yield f"sqlite:///{workdir / 'instance' / 'control.db'}"
        return
    from tests import factories

    with factories.throwaway_database(server_url, "parvis_bench") as url:
        yield url


def running_at_once(args: argparse.Namespace) -> int:
    """How many sign-ups the served app runs at once: its CPU slots (``--set CPU_SLOTS``, by
    default as the app counts them), at most its workers. A closed loop of that many clients
    keeps the server busy without a queue; more would wait for a slot, and past the queue
    target be shed, so the loop would measure the shedding rather than the capacity."""
    setting = dict(item.split("=", 1) for item in args.set).get("CPU_SLOTS", "")
    count = admission.cpu_slots_count(setting, args.database or "")
    return min(count, args.workers) if count > 0 else args.workers


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.burst", description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=os.environ.get("PARVIS_BENCH_DATABASE"),
                        help="a PostgreSQL server URL (default: SQLite in a temporary folder)")
    parser.add_argument("--signups", type=int, default=300)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sustained-clients", type=int, default=0,
                        help="clients of the closed loop that measures the sustainable rate "
                             "(default: as many as requests the server runs at once, its CPU "
                             "slots, so that none waits in the queue)")
    parser.add_argument("--overload", type=float, default=4.0,
                        help="arrival rate of the overload phase, times the burst's (0: none)")
    parser.add_argument("--overload-seconds", type=float, default=15.0)
    parser.add_argument("--jobs-nice", type=int, default=10,
                        help="the job worker's niceness (0: the server's priority)")
    parser.add_argument("--password", action="store_true",
                        help="sign up with a password (argon2id at its production cost); "
                             "by default the password fields are left blank, as most send them")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting of the served app, without PARVIS_ (QUEUE_TIMEOUT=0.2); "
                             "the PARVIS_ variables of this shell are not passed on")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    global signup_password
    args = parse_args(argv)
    signup_password = PASSWORD if args.password else ""
    workdir = Path(tempfile.mkdtemp(prefix="parvis-burst-"))
    port = free_port()
    before = os.getloadavg()[0]
    try:
        with database(args.database, workdir) as url:
            settings = dict(item.split("=", 1) for item in args.set)
            site = prepare(workdir, url, capacity=args.capacity, port=port, settings=settings)
            with served(site, workdir, workers=args.workers, port=port,
                        jobs_nice=args.jobs_nice) as server:
                result = run(site, server, args)
            from tenants import api as tenants_api

            tenants_api.dispose()
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    print(report(site, args, result, (before, os.getloadavg()[0])))
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main())

