"""A participant's data export with a million other rows in the tenant, as a ratio of the same
export in a nearly empty tenant.

    .venv/bin/python -m bench.rights [--database-url URL] [--rows 1000000] [--repeat 20]

One tenant; one participant ("me") holding a realistic record: 5 registrations, 5 answers to
custom fields, 3 ratings, 5 consent proofs, 2 rights requests. The export is downloaded as JSON
and as CSV from the privacy page (/t/<slug>/me/privacy/my-data.json|csv: WSGI calls in this
process through Flask's test client, signed in, full request path including the record of the
download as an answered request):

1. baseline: the tenant holds nothing but "me" and the 5 events;
2. loaded: ``--rows`` other rows are added (a quarter each: participants, registrations over
   500 events, answers, consent proofs), then the same downloads again.

Each figure is the median (and worst) of ``--repeat`` downloads. Goal (issue 6): a participant's
export takes at most 2 s with 1 M other rows, i.e. every query is bounded by the participant's
own rows (indexed on ``participant_id``), not by the table sizes; the ratio loaded/baseline
says how close to that it is.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from bench.tenant_home import log, measured_app, parser, server_version
from core.clock import utcnow
from tenants import api as tenants_api
from tenants.consent.models import ConsentEntry
from tenants.events.models import Event
from tenants.fields.models import Answer, CustomField
from tenants.participants import services as participants
from tenants.participants.models import Participant
from tenants.ratings.models import Rating
from tenants.registration.models import Registration
from tenants.rights.models import RightsRequest
from webapp import db
from webapp.organisations import services as org_services

GOAL_SECONDS = 2.0
SLUG = "rights"
BATCH = 25_000
EVENTS = 500
FORMATS = ("json", "csv")


def setup(app: Flask) -> tuple[int, list[int], int]:
    """The tenant, "me" and my record; returns (my id, event ids, field id)."""
    with app.app_context():
        org_services.create(db.session(), slug=SLUG, name="Rights", default_language="fr")
        db.commit()
    now = utcnow().replace(microsecond=0)
    with tenants_api.tenant_context(SLUG) as session:
        me = participants.add(session, email="me@example.org", first_name="Me",
                              last_name="Myself", city="Lyon")
        me.email_confirmed_at = now
        events = [Event(title={"fr": f"Atelier {i}", "en": f"Workshop {i}"},
                        starts_at=now - timedelta(days=EVENTS - i),
                        ends_at=now - timedelta(days=EVENTS - i, hours=-2),
                        status="published") for i in range(EVENTS)]
        fields = [CustomField(type="text", label={"fr": f"Champ {i}", "en": f"Field {i}"},
                              purpose={"fr": "Test", "en": "Test"}, position=i)
                  for i in range(5)]
        session.add_all(events + fields)
        session.flush()
        for i, event in enumerate(events[:5]):
            session.add(Registration(event_id=event.id, participant_id=me.id,
                                     status="confirmed", created_at=now, confirmed_at=now))
            session.add(Answer(participant_id=me.id, field_id=fields[i].id, value=f"=A{i}"))
            session.add(ConsentEntry(consent_id=f"me-{i}".ljust(43, "x"),
                                     chain_id=f"me-{i}".ljust(43, "x"), kind="registration",
                                     choices={"marketing": i % 2 == 0}, version=0,
                                     texts_hash="0" * 64, participant_id=me.id,
                                     created_at=now, expires_at=None))
            if i < 3:
                session.add(Rating(event_id=event.id, participant_id=me.id, stars=4,
                                   comment="Useful.", status="published", created_at=now))
        for kind in ("access", "restriction"):
            session.add(RightsRequest(kind=kind, email=me.email, participant_id=me.id,
                                      source="self-service", status="completed",
                                      created_at=now, received_at=now, due_on=now.date(),
                                      completed_at=now))
        return me.id, [event.id for event in events], fields[0].id


def load(rows: int, events: list[int], field_id: int) -> None:
    """``rows`` rows that are not mine: participants, and as many registrations, answers and
    consent proofs of theirs."""
    quarter = rows // 4
    now = utcnow()
    for start in range(0, quarter, BATCH):
        stop = min(start + BATCH, quarter)
        with tenants_api.tenant_context(SLUG) as session:
            ids = list(session.scalars(insert(Participant).returning(Participant.id), [
                {"email": f"p{i}@example.org", "first_name": f"P{i}", "last_name": "Other",
                 "language": "fr", "visibility": "nobody"} for i in range(start, stop)]))
            session.execute(insert(Registration), [
                {"event_id": events[n % len(events)], "participant_id": pid,
                 "status": "confirmed", "created_at": now} for n, pid in enumerate(ids)])
            session.execute(insert(Answer), [
                {"participant_id": pid, "field_id": field_id, "value": "Other"} for pid in ids])
            session.execute(insert(ConsentEntry), [
                {"consent_id": f"c{pid}".ljust(43, "x"), "chain_id": f"c{pid}".ljust(43, "x"),
                 "kind": "registration", "choices": {"marketing": False}, "version": 0,
                 "texts_hash": "0" * 64, "participant_id": pid, "created_at": now}
                for pid in ids])
        log(f"  {stop * 4:,} rows")


def signed_in(app: Flask, me: int) -> FlaskClient:
    client = app.test_client()
    with tenants_api.tenant_context(SLUG) as session:
        token = participants.issue_token(session, session.get(Participant, me), "session",
                                         timedelta(hours=2))
    with client.session_transaction() as cookie:
        cookie[f"p:{SLUG}"] = token
    return client


def timed(client: FlaskClient, repeat: int) -> dict[str, tuple[float, float]]:
    """(median, worst) seconds per format, downloads interleaved."""
    seconds: dict[str, list[float]] = {kind: [] for kind in FORMATS}
    for _ in range(repeat):
        for kind in FORMATS:
            began = time.perf_counter()
            response = client.get(f"/t/{SLUG}/me/privacy/my-data.{kind}")
            body = response.get_data()
            seconds[kind].append(time.perf_counter() - began)
            assert response.status_code == 200 and b"me@example.org" in body
    return {kind: (statistics.median(s), max(s)) for kind, s in seconds.items()}


def main(argv: list[str] | None = None) -> None:
    command = parser("bench.rights", __doc__, 0)
    command.add_argument("--rows", type=int, default=1_000_000,
                         help="other rows in the tenant (default: 1000000)")
    command.add_argument("--repeat", type=int, default=20,
                         help="downloads per format and phase (default: 20)")
    args = command.parse_args(argv)
    with measured_app(args.database_url) as (app, engine):
        me, events, field_id = setup(app)
        client = signed_in(app, me)
        timed(client, 3)  # warm-up: templates, catalogues, caches
        baseline = timed(client, args.repeat)
        log(f"adding {args.rows:,} other rows")
        began = time.perf_counter()
        load(args.rows, events, field_id)
        log(f"added in {time.perf_counter() - began:.0f} s")
        with tenants_api.tenant_context(SLUG) as session:  # fresh statistics for the planner
            if engine.dialect.name == "postgresql":
                session.connection().exec_driver_sql("ANALYZE")
            present = session.scalar(select(Participant.id).order_by(
                Participant.id.desc()).limit(1))
        timed(client, 1)
        loaded = timed(client, args.repeat)
        print(f"Parvis rights export benchmark — {datetime.now(UTC):%Y-%m-%d}, "
              f"{server_version(engine)}, Python {platform.python_version()}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, "
              f"{args.repeat} downloads per format and phase, "
              f"{args.rows:,} other rows (last participant id {present})")
        print(f"{'export':<8}{'baseline s':>12}{'loaded s':>10}{'worst s':>9}"
              f"{'loaded/base':>13}  verdict")
        for kind in FORMATS:
            (base, _), (median, worst) = baseline[kind], loaded[kind]
            verdict = f"goal ≤ {GOAL_SECONDS:g} s: " + ("ok" if worst <= GOAL_SECONDS
                                                         else "MISSED")
            print(f"{kind:<8}{base:>12.4f}{median:>10.4f}{worst:>9.4f}{median / base:>13.2f}"
                  f"  {verdict}")


if __name__ == "__main__":
    main()
