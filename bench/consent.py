"""What cookie consent costs a tenant page: the banner, the visitor's consent check, the
consented scripts and the per-response CSP, as ratios to the same page of a tenant without
services.

    .venv/bin/python -m bench.consent [--database-url URL] [--seconds N]

Same method as bench/tenant_home.py (whose helpers it imports): WSGI calls in this process,
interleaved rounds of 0.5 s, every figure read as a ratio measured in the same rounds. Two
tenants with the same three published events: ``plain`` has no consent service (no banner,
nothing to check), ``consent`` has an analytics script and an embedded video. The home page is
measured for:

- a visitor of ``plain`` (the baseline of the ratios);
- a first visitor of ``consent``: the banner is rendered, no script;
- a visitor of ``consent`` who accepted everything: their consent cookie is looked up, the
  script and the video frame are rendered, the response gets its own CSP.

Each twice: as served (public pages are kept whole per consent state by tenants/pagecache.py,
so a hit costs the consent check and the CSP only), and rendered each time (the page cache is
emptied before every request, in all three alike), which adds the banner's templates.
Goal (issue 5): every consent scenario ≥ 0.90 of its baseline.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from flask import Flask

from bench.tenant_home import (
    NOISY,
    ROUND_SECONDS,
    SQL_SAMPLE,
    Scenario,
    build_environ,
    interleaved,
    measured_app,
    parser,
    server_version,
    translations_compiled,
    uncached,
    visitor_cookie,
)
from tenants import api as tenants_api
from tenants.consent import banner as consent_banner
from tenants.consent import ledger as consent_ledger
from tenants.consent import visitor as consent_visitor
from tests import factories
from webapp import db
from webapp.organisations import services as org_services

GOAL = 0.90


def setup(app: Flask) -> str:
    """Both tenants, their events, and the services of ``consent``; returns a consent id of a
    visitor who accepted everything."""
    with app.app_context():
        for slug in ("plain", "consent"):
            org_services.create(db.session(), slug=slug, name=f"Organisation {slug}",
                                default_language="fr")
            db.commit()
            for i in range(3):
                factories.event(slug, title={"fr": f"Atelier {i}", "en": f"Workshop {i}"})
        with tenants_api.tenant_context("consent") as session:
            consent_banner.save_service(
                session, None, name="Matomo", provider="InnoCraft", purpose="audience",
                cookies=[{"name": "_pk_id", "duration": 13, "unit": "months"}], location="France",
                load_kind="script", load_url="https://stats.example.org/matomo.js")
            consent_banner.save_service(
                session, None, name="VideoHost", provider="Video Inc.", purpose="embedded",
                cookies=[{"name": "vh", "duration": 6, "unit": "months"}], location="United States",
                load_kind="embed", load_url="https://video.example.net/embed/42")
        with tenants_api.tenant_context("consent") as session:
            config = consent_banner.config(session)
            state = consent_visitor.VisitorState(config, None, False, frozenset())
            return consent_ledger.record_choice(session, state, config.optional_ids).consent_id


def home(name: str, app: Flask, slug: str, cookie: str, *, rendered: bool) -> Scenario:
    return Scenario(name, 2, uncached(app) if rendered else app,
                    [build_environ(f"/t/{slug}/", cookie)])


def main(argv: list[str] | None = None) -> None:
    command = parser("bench.consent", __doc__, 8.0)
    args = command.parse_args(argv)
    with measured_app(args.database_url) as (app, engine):
        consent_id = setup(app)
        session_cookie = visitor_cookie(app, "/t/plain/")
        consented = f"{session_cookie}; {consent_visitor.COOKIE}={consent_id}"
        rounds = max(4, round(args.seconds / ROUND_SECONDS))
        pairs = []
        for rendered in (False, True):
            how = "rendered" if rendered else "as served"
            base = home(f"no services, {how}", app, "plain", session_cookie,
                        rendered=rendered)
            pairs.append((base, [
                home(f"banner, {how}", app, "consent", session_cookie, rendered=rendered),
                home(f"consented, {how}", app, "consent", consented, rendered=rendered)]))
        scenarios = [s for base, others in pairs for s in (base, *others)]
        interleaved(scenarios, rounds, engine)
        catalogs = "catalogs compiled" if translations_compiled() else "catalogs NOT compiled"
        print(f"Parvis consent benchmark — {datetime.now(UTC):%Y-%m-%d}, "
              f"{server_version(engine)}, Python {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {catalogs}, "
              f"{rounds} rounds of {ROUND_SECONDS:g} s per scenario")
        print(f"{'scenario':<28}{'req/s':>9}{'vs base':>9}{'±':>6}{'p50 ms':>8}"
              f"{'p99 ms':>8}{'SQL/req':>8}  verdict")
        for base, others in pairs:
            for s in (base, *others):
                ratio = s.ratio_to(base)
                verdict = "" if s is base else (
                    f"goal ≥ {GOAL:.2f}: " + ("ok" if ratio >= GOAL else "MISSED"))
                sql = s.sql.statements_per_request if s.sql else 0
                print(f"{s.name:<28}{s.rate:>9,.0f}{ratio:>9.3f}{s.spread:>6.0%}"
                      f"{s.p50_ms:>8.2f}{s.p99_ms:>8.2f}{sql:>8g}  {verdict}")
        if any(s.spread > NOISY for s in scenarios):
            print(f"warning: round-to-round variation (±) above {NOISY:.0%}: the machine "
                  "was busy, rerun for firm figures")
        print(f"(SQL/req counted on {SQL_SAMPLE} requests outside the timed rounds)")


if __name__ == "__main__":
    main()
