"""The staff's list of all participants: search, filters, pages, and its CSV export.

- A page reads its rows in the list's order from an index (last name, first name, id), so its
  cost does not grow with the list; the totals come from one count of the filtered people.
- Search is a case-insensitive substring of the first name, last name, "first last" or e-mail;
  ``%`` and ``_`` typed by the user are matched literally.
- The export streams the same filtered statement in batches through core/web/spreadsheet
  (formula injection neutralised) and, like an event's roster export, leaves out everyone who
  restricted processing or objects to it (GDPR Art. 18 / 21: stored only, in no export).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Row, Select, String, bindparam, case, exists, func, or_, select, true
from sqlalchemy.orm import Session

from core.web.spreadsheet import BOM, csv_line, csv_lines
from tenants.consent.models import ConsentEntry
from tenants.db import tenant_context
from tenants.events.models import Event
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tenants.rights.models import restricted_ids

BATCH = 1000
EVENT_CHOICES = 500  # the latest events offered in the filter


@dataclass(frozen=True)
class Filters:
    """What the staff chose (already validated by the form)."""

    q: str = ""
    event: int | None = None
    status: str = ""
    language: str = ""
    restricted: str = ""  # "", "yes", "no"
    opted_in: str = ""  # "", "yes", "no"


def opted_in_ids() -> Select:
    """Participants whose current registration consents include the news opt-in."""
    return select(ConsentEntry.participant_id).where(
        ConsentEntry.kind == "registration", ConsentEntry.replaced_at.is_(None),
        ConsentEntry.participant_id.is_not(None),
        ConsentEntry.choices["marketing"].as_boolean() == true())


# What a list's statement depends on, besides bound values: which filters are set, and the
# restricted and opted-in choices ("", "yes", "no").
Shape = tuple[bool, bool, bool, bool, str, str]


def _shape(filters: Filters) -> Shape:
    return (bool(filters.q), filters.event is not None, bool(filters.status),
            bool(filters.language), filters.restricted, filters.opted_in)


def _values(filters: Filters) -> dict[str, object]:
    """The bound values of the filters (those a statement does not use are ignored)."""
    needle = filters.q.strip().lower()
    for special in ("/", "%", "_"):  # typed by the user: matched literally
        needle = needle.replace(special, f"/{special}")
    return {"pattern": f"%{needle}%", "event": filters.event, "status": filters.status,
            "language": filters.language}


def _filtered(shape: Shape, *columns: Any) -> Select:
    """``columns`` (the whole participant by default) of the participants the filters of
    ``shape`` let through; the filters' values are bound (``_values``)."""
    q, event, status, language, restricted, opted_in = shape
    stmt = select(*(columns or (Participant,)))
    if q:
        pattern = bindparam("pattern", type_=String())
        full_name = Participant.first_name + " " + Participant.last_name
        stmt = stmt.where(or_(*(func.lower(text).like(pattern, escape="/") for text in (
            Participant.first_name, Participant.last_name, full_name, Participant.email))))
    if event or status:
        registered = exists().where(Registration.participant_id == Participant.id)
        if event:
            registered = registered.where(Registration.event_id == bindparam("event"))
        if status:
            registered = registered.where(Registration.status == bindparam("status"))
        stmt = stmt.where(registered)
    if language:
        stmt = stmt.where(Participant.language == bindparam("language"))
    if restricted:
        among = Participant.id.in_(restricted_ids())
        stmt = stmt.where(among if restricted == "yes" else ~among)
    if opted_in:
        opted = Participant.id.in_(opted_in_ids())
        stmt = stmt.where(opted if opted_in == "yes" else ~opted)
    return stmt


def _ordered(stmt: Select) -> Select:
    return stmt.order_by(Participant.last_name, Participant.first_name, Participant.id)


# What a row of the list shows.
LISTED = (Participant.id, Participant.last_name, Participant.first_name, Participant.email,
          Participant.city, Participant.language)


@functools.lru_cache(maxsize=256)  # 144 shapes
def _page_statements(shape: Shape) -> tuple[Select, Select]:
    """A page of the list and its totals, for the filters of ``shape``: built once per process
    (building and keying them cost as much as running them). Parameters: the filters' values,
    ``offset`` and ``limit``."""
    is_restricted = Participant.id.in_(restricted_ids())
    rows = _ordered(_filtered(shape, *LISTED, is_restricted.label("restricted"),
                              Participant.id.in_(opted_in_ids()).label("opted_in")))
    totals = _filtered(shape, func.count(), func.count(case((is_restricted, 1))))
    return (rows.offset(bindparam("offset")).limit(bindparam("limit")),
            totals.select_from(Participant))


@dataclass(frozen=True)
class Page:
    people: list[Row]  # the ``LISTED`` columns
    total: int
    restricted: set[int]  # ids on this page who restricted processing (marked in the list)
    opted_in: set[int]
    left_out: int  # how many of all the filtered people the export leaves out (restricted)


def page(db: Session, filters: Filters, *, offset: int, limit: int) -> Page:
    """One page of the filtered list, each row with its marks, then the totals: two statements.
    The page reads its rows in the list's order from the name index and marks those rows only,
    so its cost does not grow with the list; the totals count the filtered people once. A
    page and its totals read apart may differ by a sign-up made between them (PostgreSQL)."""
    rows_statement, totals_statement = _page_statements(_shape(filters))
    values = _values(filters)
    rows = db.execute(rows_statement, {**values, "offset": offset, "limit": limit}).all()
    total, left_out = db.execute(totals_statement, values).one()
    return Page(people=list(rows), total=total,
                restricted={row.id for row in rows if row.restricted},
                opted_in={row.id for row in rows if row.opted_in}, left_out=left_out or 0)


# The latest events, for the filter (built once: read on every page of the list).
_EVENT_CHOICES = (select(Event.id, Event.title, Event.starts_at)
                  .order_by(Event.starts_at.desc(), Event.id.desc()).limit(EVENT_CHOICES))


def event_choices(db: Session) -> list[tuple[int, dict, object]]:
    """(id, title texts, start) of the latest events, for the filter."""
    return [(row.id, row.title, row.starts_at) for row in db.execute(_EVENT_CHOICES)]


def stream(slug: str, filters: Filters) -> Iterator[str]:
    """The CSV text, header first, then one chunk per batch; read in a unit of work of its own
    (a streamed body is read after the request's unit of work has ended)."""
    with tenant_context(slug) as db:
        yield from _rows(db, filters)


def _rows(db: Session, filters: Filters) -> Iterator[str]:
    yield BOM + csv_line([_("Last name"), _("First name"), _("E-mail"), _("City"),
                          _("Language"), _("News opt-in"), _("E-mail confirmed"),
                          _("Account created (UTC)")])
    opted = Participant.id.in_(opted_in_ids())
    result = db.execute(
        _ordered(_filtered(_shape(filters), Participant, opted)
                 # Art. 18: a participant who restricted processing is in no export.
                 .where(Participant.id.not_in(restricted_ids())))
        .execution_options(yield_per=BATCH), _values(filters))
    yes, no = _("Yes"), _("No")
    for batch in result.partitions():
        yield csv_lines([
            [p.last_name, p.first_name, p.email, p.city, p.language,
             yes if is_opted else no, yes if p.email_confirmed_at else no,
             p.created_at.strftime("%Y-%m-%d %H:%M") if p.created_at else ""]
            for p, is_opted in batch])
