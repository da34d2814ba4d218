"""What an event's dashboard shows, read in a handful of statements whatever the numbers.

- Statuses, attendance and ratings come from grouped counts (registrations by status, the
  ratings' counter table); registrations over time from the registrations' creation times,
  bucketed per day in the event's time zone; answers to choice fields from one grouped read of
  the answers of the event's registrants.
- People who restricted processing (GDPR Art. 18/21) are left out of the answers' statistics:
  their answers may only be stored. Counts of seats include them (seats are theirs).
- Every count of 1 to 4 people is suppressed where it is shown (``charts.shown``), and no
  total is shown beside suppressed cells that would give them away by subtraction (how many
  answered a field). Ratings follow the rule of every ratings page: the distribution is shown
  whole from 5 published ratings, not at all below.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from tenants.dashboard import charts
from tenants.events.models import Event
from tenants.fields.answers import display_value
from tenants.fields.models import CHOICE_TYPES, Answer, CustomField
from tenants.ratings import services as ratings
from tenants.registration.models import Registration
from tenants.rights.models import restricted_ids
from tenants.texts import pick

MAX_DAYS = 120  # a longer registration period is drawn per week
# Registrants whose answers count: the live ones (not cancelled, not refused).
COUNTED = ("pending", "awaiting", "confirmed", "waitlisted")


@dataclass(frozen=True)
class Figures:
    confirmed: int | None
    waiting: int | None
    attended: int | None
    rated: int | None
    attendance_rate: float | None  # None: not started, or a count below 5 behind it


@dataclass(frozen=True)
class ChoiceChart:
    field_id: int
    label: str
    chart: charts.BarChart


@dataclass(frozen=True)
class Dashboard:
    figures: Figures
    over_time: charts.LineChart
    per_week: bool
    ratings: charts.BarChart | None  # None: fewer than 5 published ratings
    ratings_count: int
    choices: list[ChoiceChart]


def _figures(db: Session, event: Event, summary: ratings.Summary) -> Figures:
    rows = db.execute(select(Registration.status, func.count(),
                             func.count(Registration.attended_at))
                      .where(Registration.event_id == event.id)
                      .group_by(Registration.status)).all()
    by_status = {status: n for status, n, _attended in rows}
    attended = sum(n for _status, _n, n in rows)
    confirmed = by_status.get("confirmed", 0)
    rate = None
    started = event.starts_at <= utcnow()
    if (started and confirmed >= charts.THRESHOLD
            and charts.shown(attended) is not None):
        rate = attended / confirmed
    return Figures(confirmed=charts.shown(confirmed),
                   waiting=charts.shown(by_status.get("waitlisted", 0)),
                   attended=charts.shown(attended), rated=charts.shown(summary.count),
                   attendance_rate=rate)


def _over_time(db: Session, event: Event) -> tuple[charts.LineChart, bool]:
    zone = ZoneInfo(event.timezone)
    per_day: Counter[date] = Counter()
    result = db.execute(select(Registration.created_at)
                        .where(Registration.event_id == event.id)
                        .execution_options(yield_per=1000))
    for (created,) in result:
        per_day[created.astimezone(zone).date()] += 1
    if not per_day:
        return charts.line_chart([]), False
    first = min(per_day)
    last = max(max(per_day), min(utcnow().astimezone(zone).date(),
                                 event.starts_at.astimezone(zone).date()))
    per_week = (last - first).days > MAX_DAYS
    step = timedelta(days=7 if per_week else 1)
    if per_week:
        first -= timedelta(days=first.weekday())  # weeks start on Monday
    days, total, day = [], 0, first
    while day <= last:
        total += sum(per_day[day + timedelta(days=i)] for i in range(step.days))
        days.append((day, total))
        day += step
    return charts.line_chart(days), per_week


def _choices(db: Session, event: Event, language: str, default: str) -> list[ChoiceChart]:
    fields = list(db.scalars(
        select(CustomField).where(CustomField.archived_at.is_(None),
                                  CustomField.type.in_((*CHOICE_TYPES, "checkbox")))
        .order_by(CustomField.position, CustomField.id)))
    if not fields:
        return []
    registrants = (select(Registration.participant_id)
                   .where(Registration.event_id == event.id,
                          Registration.status.in_(COUNTED)))
    counts: dict[int, Counter[Any]] = {field.id: Counter() for field in fields}
    rows = db.execute(select(Answer.field_id, Answer.value).where(
        Answer.field_id.in_(list(counts)), Answer.participant_id.in_(registrants),
        Answer.participant_id.not_in(restricted_ids())).execution_options(yield_per=1000))
    for field_id, value in rows:
        keys = value if isinstance(value, list) else [value]
        if value in (None, "", []):
            continue
        counts[field_id].update(str(key) if not isinstance(key, bool) else key for key in keys)
    found = []
    for field in fields:
        if field.type == "checkbox":
            items = [(display_value(field, True, language, default), counts[field.id][True]),
                     (display_value(field, False, language, default),
                      counts[field.id][False])]
        else:
            items = [(pick(option.get("label"), language, default) or option["key"],
                      counts[field.id][option["key"]]) for option in field.active_options()]
        found.append(ChoiceChart(field_id=field.id, label=pick(field.label, language, default),
                                 chart=charts.bar_chart(items)))
    return found


def dashboard(db: Session, event: Event, language: str, default: str) -> Dashboard:
    """Everything the page shows; ``language`` and ``default`` pick the tenant's texts."""
    summary = ratings.summary(db, event.id)
    over_time, per_week = _over_time(db, event)
    stars = (charts.bar_chart([(ngettext("%(num)d star", "%(num)d stars", n),
                                summary.distribution.get(n, 0)) for n in range(5, 0, -1)],
                              suppress=False)
             if summary.count >= charts.THRESHOLD else None)
    return Dashboard(figures=_figures(db, event, summary), over_time=over_time,
                     per_week=per_week, ratings=stars, ratings_count=summary.count,
                     choices=_choices(db, event, language, default))
