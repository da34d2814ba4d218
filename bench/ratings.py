"""The event page with 10,000 ratings as a ratio of the same page with 10 ratings.

    .venv/bin/python -m bench.ratings [--database-url URL] [--seconds N] [--ratings 10000]

Same method as bench/tenant_home.py (whose helpers it imports): WSGI calls in this process,
interleaved rounds of 0.5 s, every figure read as a ratio measured in the same rounds. One
tenant, two events that ended yesterday, alike but for their ratings: ``few`` has 10, ``many``
has ``--ratings`` (published, stars 1 to 5, with a comment but one in ten of ``many``'s; so both
pages list 10 reviews, and only the number of ratings differs). The event page
(average, count, hidden notice, first page of reviews) is measured for an anonymous visitor:

- rendered each time (the page cache is emptied before every request), in the default order
  (newest first) and with the lowest rated first (a list sorted on another column);
- as served (public pages are kept whole by tenants/pagecache.py).

Goal (issue 4): each ``many`` scenario ≥ 0.80 of its ``few`` twin, with the same SQL statements
per page (those every request runs; SQL/req also counts the caches' periodic refreshes): the
counts are kept per event, status and stars (``rating_counts``), and a page of reviews is read
in index order.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from bench.tenant_home import (
    NOISY,
    ROUND_SECONDS,
    SQL_SAMPLE,
    Scenario,
    build_environ,
    interleaved,
    log,
    measured_app,
    parser,
    server_version,
    translations_compiled,
    uncached,
    visitor_cookie,
)
from core.clock import utcnow
from tenants import api as tenants_api
from tenants.participants.models import Participant
from tenants.ratings import services
from tenants.ratings.models import Rating
from tests import factories
from webapp import db
from webapp.organisations import services as org_services

GOAL = 0.80
SLUG = "reviews"
COMMENT = "Clear, well paced, and the exercises matched what we do at work."


def setup(app: Flask, many: int) -> tuple[int, int]:
    """The tenant, its two events and their ratings; returns (few, many) event ids."""
    with app.app_context():
        org_services.create(db.session(), slug=SLUG, name="Reviews", default_language="fr")
        db.commit()
        end = utcnow().replace(microsecond=0) - timedelta(days=1)
        ids = [factories.event(SLUG, starts_at=end - timedelta(hours=2), ends_at=end)
               for _ in range(2)]
        with tenants_api.tenant_context(SLUG) as session:
            session.execute(insert(Participant), [
                {"email": f"p{i}@example.org", "first_name": f"Person{i}",
                 "last_name": "Example", "language": "fr", "visibility": "nobody"}
                for i in range(many)])
            people = list(session.scalars(select(Participant.id).order_by(Participant.id)))
        for event_id, count in zip(ids, (10, many), strict=True):
            with tenants_api.tenant_context(SLUG) as session:
                session.execute(insert(Rating), [
                    {"event_id": event_id, "participant_id": pid, "stars": 1 + i * 7 % 5,
                     "comment": COMMENT if i < 10 or i % 10 else "", "status": "published",
                     "hidden_reason": "", "created_at": end + timedelta(minutes=i)}
                    for i, pid in enumerate(people[:count])])
                services.recount(session, event_id)
    return ids[0], ids[1]


def per_page(scenario: Scenario) -> dict[str, int]:
    """The statements every request runs, and how many times: the caches' refreshes (tenant
    registry, consent configuration: every 5 s whatever the page) land in a sample or not,
    and are left out."""
    seen = scenario.sql
    if seen is None:
        return {}
    return {sql: round(seen.per_request(n)) for sql, n in seen.statements.items()
            if seen.per_request(n) >= 0.5}


def page(name: str, app: Flask, path: str, cookie: str, *, rendered: bool) -> Scenario:
    return Scenario(name, 1, uncached(app) if rendered else app, [build_environ(path, cookie)])


def main(argv: list[str] | None = None) -> None:
    command = parser("bench.ratings", __doc__, 8.0)
    command.add_argument("--ratings", type=int, default=10_000,
                        help="ratings of the big event (default: 10000)")
    args = command.parse_args(argv)
    with measured_app(args.database_url) as (app, engine):
        log(f"creating {args.ratings:,} ratings")
        few, many = setup(app, args.ratings)
        cookie = visitor_cookie(app, f"/t/{SLUG}/events/{few}")
        rounds = max(4, round(args.seconds / ROUND_SECONDS))
        pairs = []
        for query, label in (("", "rendered"), ("?order=lowest", "lowest first"),
                             ("", "as served")):
            rendered = label != "as served"
            pairs.append((
                page(f"10 ratings, {label}", app, f"/t/{SLUG}/events/{few}{query}", cookie,
                     rendered=rendered),
                page(f"{args.ratings:,} ratings, {label}", app,
                     f"/t/{SLUG}/events/{many}{query}", cookie, rendered=rendered)))
        scenarios = [s for pair in pairs for s in pair]
        interleaved(scenarios, rounds, engine)
        catalogs = "catalogs compiled" if translations_compiled() else "catalogs NOT compiled"
        print(f"Parvis ratings benchmark — {datetime.now(UTC):%Y-%m-%d}, "
              f"{server_version(engine)}, Python {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {catalogs}, "
              f"{rounds} rounds of {ROUND_SECONDS:g} s per scenario")
        print(f"{'scenario':<30}{'req/s':>9}{'vs 10':>8}{'±':>6}{'p50 ms':>8}"
              f"{'p99 ms':>8}{'SQL/req':>8}  verdict")
        for base, big in pairs:
            for s in (base, big):
                ratio = s.ratio_to(base)
                sql = s.sql.statements_per_request if s.sql else 0
                verdict = ""
                if s is big:
                    same_sql = per_page(base) == per_page(big)
                    verdict = (f"goal ≥ {GOAL:.2f}: "
                               + ("ok" if ratio >= GOAL else "MISSED")
                               + ("; same SQL" if same_sql else "; SQL DIFFERS"))
                print(f"{s.name:<30}{s.rate:>9,.0f}{ratio:>8.3f}{s.spread:>6.0%}"
                      f"{s.p50_ms:>8.2f}{s.p99_ms:>8.2f}{sql:>8g}  {verdict}")
        for base, big in pairs:  # say which statements differ, if any
            if base.sql and big.sql and per_page(base) != per_page(big):
                print(f"SQL of '{base.name}': {base.sql.describe()}")
                print(f"SQL of '{big.name}': {big.sql.describe()}")
        if any(s.spread > NOISY for s in scenarios):
            print(f"warning: round-to-round variation (±) above {NOISY:.0%}: the machine "
                  "was busy, rerun for firm figures")
        print(f"(SQL/req counted on {SQL_SAMPLE} requests outside the timed rounds)")


if __name__ == "__main__":
    main()
