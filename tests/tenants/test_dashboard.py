"""An event's dashboard (issue 19, item 7): SVG charts drawn on the server, each with its data
table, and every count of 1 to 4 people suppressed."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.dashboard import charts
from tenants.fields.models import Answer
from tenants.registration.models import Registration
from tenants.rights.models import PrivacyChoices
from tests import factories
from tests.fixtures.people import sign_in_member
from tests.tenants.ratings_helpers import attendee, past_event, people, ratings

FEWER = "fewer than 5"


class Figures(HTMLParser):
    """The page's figures: each one's SVG attributes, the ids inside it, its tables' cells."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict] = []
        self.ids: set[str] = set()
        self.styled = False
        self.scripts: list[dict] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        found = dict(attrs)
        if "style" in found:
            self.styled = True
        if tag == "script":
            self.scripts.append(found)
        if "id" in found:
            self.ids.add(found["id"])
        if tag == "figure":
            self.figures.append({"id": found.get("id"), "svg": None, "tables": 0, "cells": [],
                                 "inner_ids": set()})
        elif self.figures and self.figures[-1].get("open", True):
            figure = self.figures[-1]
            if "id" in found:
                figure["inner_ids"].add(found["id"])
            if tag == "svg":
                figure["svg"] = found
            elif tag == "table":
                figure["tables"] += 1
            elif tag in ("td", "th"):
                self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure" and self.figures:
            self.figures[-1]["open"] = False
        if tag in ("td", "th") and self._cell is not None and self.figures:
            self.figures[-1]["cells"].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Figures:
    parser = Figures()
    parser.feed(html)
    return parser


def url(event_id: int) -> str:
    return f"/t/acme/admin/events/{event_id}/dashboard"


def _registrants(event_id: int, count: int, *, start: int, attended: bool = True,
                 status: str = "confirmed") -> list[int]:
    ids = people("acme", count, start=start)
    for pid in ids:
        attendee("acme", event_id, pid, attended=attended, status=status)
    return ids


def _answer(field_id: int, participant_ids: list[int], value: object) -> None:
    with tenants_api.tenant_context("acme") as session:
        session.add_all(Answer(participant_id=pid, field_id=field_id, value=value)
                        for pid in participant_ids)


@pytest.fixture
def event(app) -> int:  # type: ignore[no-untyped-def]
    """An ended event: 9 confirmed (5 attended, 4 not), 4 on the waiting list, 5 ratings
    (five stars: 5, one star: 0), a choice field answered "a" by 5, "b" by 4."""
    with app.app_context():
        event_id = past_event("acme")
        came = _registrants(event_id, 5, start=0)
        _registrants(event_id, 4, start=100, attended=False)
        _registrants(event_id, 4, start=200, attended=False, status="waitlisted")
        ratings("acme", event_id, [5, 5, 5, 5, 5], participant_ids=came)
        field = factories.custom_field(
            "acme", "choice", label={"fr": "Niveau", "en": "Level"},
            options=[{"key": "a", "label": {"fr": "Débutant", "en": "Beginner"}},
                     {"key": "b", "label": {"fr": "Expert", "en": "Expert"}},
                     {"key": "c", "label": {"fr": "Autre", "en": "Other"}}])
        with tenants_api.tenant_context("acme") as session:
            ids = list(session.scalars(
                Registration.__table__.select().with_only_columns(Registration.participant_id)
                .where(Registration.event_id == event_id)
                .order_by(Registration.participant_id)))
        _answer(field, ids[:5], "a")
        _answer(field, ids[5:9], "b")
    return event_id


def test_every_chart_is_an_svg_image_with_its_data_table_and_no_script(app, client, event):
    sign_in_member(client, "acme", "viewer", in_english=True)
    response = client.get(url(event))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = parse(html)
    assert {f["id"] for f in page.figures} == {
        "chart-time", "chart-ratings", f"chart-field-{page.figures[-1]['id'].split('-')[-1]}"}
    assert len(page.figures) == 3
    for figure in page.figures:
        svg = figure["svg"]
        assert svg is not None and svg["role"] == "img", figure["id"]
        title, desc = svg["aria-labelledby"].split()
        assert {title, desc} <= figure["inner_ids"]  # <title> and <desc> of the image
        assert figure["tables"] == 1, figure["id"]
    assert not page.styled  # no style attribute: the CSP allows none
    # Nothing the page needs comes from a script: the charts are in the HTML as sent.
    assert "<polyline" in html and "<rect" in html


def test_counts_below_five_are_suppressed(app, client, event):
    sign_in_member(client, "acme", "viewer", in_english=True)
    html = client.get(url(event)).get_data(as_text=True)
    page = parse(html)
    figures = {f["id"]: f for f in page.figures}
    level = next(f for key, f in figures.items() if key.startswith("chart-field-"))
    # Beginner 5 shown, Expert 4 suppressed, Other 0 shown (zero identifies nobody).
    assert level["cells"][level["cells"].index("Beginner") + 1] == "5"
    assert level["cells"][level["cells"].index("Expert") + 1] == FEWER
    assert level["cells"][level["cells"].index("Other") + 1] == "0"
    stars = figures["chart-ratings"]["cells"]
    assert stars[stars.index("5 stars") + 1] == "5"
    # At a glance: 9 confirmed, 4 waiting (hidden), 5 attended, 5 rated; rate 5/9.
    assert "<dt>Confirmed</dt><dd>9</dd>" in html
    assert f"<dt>Waiting list</dt><dd>{FEWER}</dd>" in html
    assert "<dt>Attended</dt><dd>5</dd>" in html
    assert "<dt>Attendance rate</dt><dd>56" in html
    # The bar of a suppressed count is not drawn: one bar (Beginner) in the field's chart.
    section = html[html.index(f'id="{level["id"]}"'):]
    assert section[:section.index("</svg>")].count("<rect") == 1


def test_four_ratings_and_four_attendees_are_not_shown(app, client):
    with app.app_context():
        event_id = past_event("acme")
        came = _registrants(event_id, 4, start=300)
        _registrants(event_id, 5, start=400, attended=False)
        ratings("acme", event_id, [4, 4, 4, 4], participant_ids=came)
    sign_in_member(client, "acme", "viewer", in_english=True)
    html = client.get(url(event_id)).get_data(as_text=True)
    assert "Fewer than 5 ratings: not shown." in html
    assert 'id="chart-ratings"' not in html
    assert f"<dt>Attended</dt><dd>{FEWER}</dd>" in html
    assert f"<dt>Rated</dt><dd>{FEWER}</dd>" in html
    assert "<dt>Attendance rate</dt><dd>not shown</dd>" in html
    # One more rating and attendee: shown.
    with app.app_context():
        extra = _registrants(event_id, 1, start=500)
        ratings("acme", event_id, [2], participant_ids=extra)
    html = client.get(url(event_id)).get_data(as_text=True)
    assert 'id="chart-ratings"' in html
    # From 5 ratings the distribution is shown whole, as on every ratings page.
    stars = next(f for f in parse(html).figures if f["id"] == "chart-ratings")["cells"]
    assert stars[stars.index("4 stars") + 1] == "4" and stars[stars.index("2 stars") + 1] == "1"
    assert "<dt>Attended</dt><dd>5</dd>" in html and "<dt>Rated</dt><dd>5</dd>" in html
    assert "<dt>Attendance rate</dt><dd>50" in html  # 5 of 10


def test_registrations_over_time_per_day_in_the_event_zone(app, client, clock):
    # Noon in the event's zone (Europe/Paris), so that "today" is the same day there and in
    # UTC whenever the test runs (from 23:00 UTC Paris is a day ahead).
    now = utcnow()
    noon = now.astimezone(ZoneInfo("Europe/Paris")).replace(hour=12, minute=0, second=0,
                                                            microsecond=0)
    clock.advance(seconds=(noon - now).total_seconds())
    with app.app_context():
        start = utcnow().replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=5)
        event_id = factories.event("acme", starts_at=start, ends_at=start + timedelta(hours=1))
        ids = people("acme", 7, start=600)
        for pid in ids:
            attendee("acme", event_id, pid, attended=False)
        with tenants_api.tenant_context("acme") as session:
            first = utcnow().replace(hour=10, minute=0, second=0, microsecond=0)
            session.execute(update(Registration).where(
                Registration.participant_id.in_(ids[:3])).values(
                created_at=first - timedelta(days=2)))
            session.execute(update(Registration).where(
                Registration.participant_id.in_(ids[3:])).values(created_at=first))
    sign_in_member(client, "acme", "viewer", in_english=True)
    figure = next(f for f in parse(client.get(url(event_id)).get_data(as_text=True)).figures
                  if f["id"] == "chart-time")
    totals = figure["cells"][3::2]  # after the two headers: day, total, day, total…
    # 3 two days ago (hidden), none yesterday (still 3 in total, hidden), 4 more today; the
    # chart stops today (the event is to come: later days have no data yet).
    assert totals == [FEWER, FEWER, "7"]


def test_restricted_people_are_left_out_of_the_answers(app, client, event):
    with app.app_context(), tenants_api.tenant_context("acme") as session:
        first = session.scalar(Registration.__table__.select().with_only_columns(
            Registration.participant_id).where(Registration.event_id == event)
            .order_by(Registration.participant_id).limit(1))
        session.add(PrivacyChoices(participant_id=first, restricted_at=utcnow()))
    sign_in_member(client, "acme", "viewer", in_english=True)
    level = next(f for f in parse(client.get(url(event)).get_data(as_text=True)).figures
                 if f["id"].startswith("chart-field-"))
    assert level["cells"][level["cells"].index("Beginner") + 1] == FEWER  # 4 left


def test_who_may_see_it(app, client, event):
    assert client.get(url(event)).status_code in (302, 303)
    sign_in_member(client, "globex", "owner")
    assert client.get(url(event)).status_code == 403
    sign_in_member(client, "acme", "viewer", in_english=True)
    assert client.get(url(999999)).status_code == 404
    assert client.get("/t/acme/admin/events/99999999999/dashboard").status_code == 404
    french = client.get(url(event))
    assert french.status_code == 200


def test_chart_geometry():
    assert [charts.shown(n) for n in (0, 1, 4, 5, 12)] == [0, None, None, 5, 12]
    chart = charts.bar_chart([("a", 10), ("b", 4), ("c", 5)])
    assert [row.value for row in chart.rows] == [10, None, 5]
    assert chart.rows[1].width == 0 and chart.rows[0].width == 2 * chart.rows[2].width
    from datetime import date
    line = charts.line_chart([(date(2026, 1, d), n) for d, n in ((1, 2), (2, 5), (3, 8))])
    assert [p.total for p in line.points] == [None, 5, 8]
    assert len(line.polyline.split()) == 2  # the suppressed point is not drawn
