"""The staff's list of all participants: search, filters, pages, and its CSV export.

- One statement per page: the rows and the total (a window count), so the count always matches
  the rows whatever is written meanwhile.
- Search is a case-insensitive substring of the first name, last name, "first last" or e-mail;
  ``%`` and ``_`` typed by the user are matched literally.
- The export streams the same filtered statement in batches through core/web/spreadsheet
  (formula injection neutralised) and, like an event's roster export, leaves out everyone who
  restricted processing or objects to it (GDPR Art. 18 / 21: stored only, in no export).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, case, exists, func, select, true
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


def _filtered(filters: Filters) -> Select:
    stmt = select(Participant)
    if filters.q:
        needle = filters.q.strip().lower()
        full_name = func.lower(Participant.first_name + " " + Participant.last_name)
        stmt = stmt.where(
            func.lower(Participant.first_name).contains(needle, autoescape=True)
            | func.lower(Participant.last_name).contains(needle, autoescape=True)
            | full_name.contains(needle, autoescape=True)
            | func.lower(Participant.email).contains(needle, autoescape=True))
    if filters.event is not None or filters.status:
        registered = exists().where(Registration.participant_id == Participant.id)
        if filters.event is not None:
            registered = registered.where(Registration.event_id == filters.event)
        if filters.status:
            registered = registered.where(Registration.status == filters.status)
        stmt = stmt.where(registered)
    if filters.language:
        stmt = stmt.where(Participant.language == filters.language)
    if filters.restricted:
        restricted = Participant.id.in_(restricted_ids())
        stmt = stmt.where(restricted if filters.restricted == "yes" else ~restricted)
    if filters.opted_in:
        opted = Participant.id.in_(opted_in_ids())
        stmt = stmt.where(opted if filters.opted_in == "yes" else ~opted)
    return stmt


def _ordered(stmt: Select) -> Select:
    return stmt.order_by(Participant.last_name, Participant.first_name, Participant.id)


@dataclass(frozen=True)
class Page:
    people: list[Participant]
    total: int
    restricted: set[int]  # ids on this page who restricted processing (marked in the list)
    opted_in: set[int]
    left_out: int  # how many of all the filtered people the export leaves out (restricted)


def page(db: Session, filters: Filters, *, offset: int, limit: int) -> Page:
    """One page of the filtered list, each row with its marks, and the totals: one statement
    (window counts), so the counts always match the rows."""
    is_restricted = Participant.id.in_(restricted_ids())
    stmt = _filtered(filters)
    rows = db.execute(_ordered(stmt.add_columns(
        is_restricted, Participant.id.in_(opted_in_ids()), func.count().over(),
        func.count(case((is_restricted, 1))).over())).offset(offset).limit(limit)).all()
    if rows:
        total, left_out = rows[0][3], rows[0][4]
    elif offset:  # past the last page: the totals still say how many there are
        counted = stmt.with_only_columns(func.count(), func.count(case((is_restricted, 1))),
                                          maintain_column_froms=True)
        total, left_out = db.execute(counted).one()
    else:
        total = left_out = 0
    return Page(people=[row[0] for row in rows], total=total,
                restricted={row[0].id for row in rows if row[1]},
                opted_in={row[0].id for row in rows if row[2]}, left_out=left_out or 0)


def event_choices(db: Session) -> list[tuple[int, dict, object]]:
    """(id, title texts, start) of the latest events, for the filter."""
    return [(row.id, row.title, row.starts_at) for row in db.execute(
        select(Event.id, Event.title, Event.starts_at)
        .order_by(Event.starts_at.desc(), Event.id.desc()).limit(EVENT_CHOICES))]


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
        _ordered(_filtered(filters).add_columns(opted)
                 # Art. 18: a participant who restricted processing is in no export.
                 .where(Participant.id.not_in(restricted_ids())))
        .execution_options(yield_per=BATCH))
    yes, no = _("Yes"), _("No")
    for batch in result.partitions():
        yield csv_lines([
            [p.last_name, p.first_name, p.email, p.city, p.language,
             yes if is_opted else no, yes if p.email_confirmed_at else no,
             p.created_at.strftime("%Y-%m-%d %H:%M") if p.created_at else ""]
            for p, is_opted in batch])
