"""How a tenant feature declares the personal data it holds (collected by ``tenants.privacy``).

A feature's ``privacy.py`` lists ``PERSONAL_DATA``, one ``PersonalData`` per kind of personal
data: where it lives (the personal columns, which name their tables), how one participant's
share is exported (a section of their export), what erasing their account does to it (``erase``
deletes it, ``anonymise`` keeps the rows without the person), and which kinds of the retention
matrix (``tenants.retention.services.KINDS``) govern it, with the ``Step``s the retention sweep
runs for them. Data no kind governs says what bounds it instead (``kept``).

A column that only looks personal (a third-party service's ``name``) is listed in the
feature's ``NOT_PERSONAL`` as a ``NotPersonal`` with the reason, so that the registry's coverage
check (``tenants.privacy.undeclared``) knows it was looked at. The shape follows pretix's data
shredders (each declares its own export and erasure, registered in one place), with the
retention matrix's steps added.

It imports no feature at run time (only types): every feature's ``privacy.py`` imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Select, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.db import rowcount

if TYPE_CHECKING:
    from tenants.participants.models import Participant
    from tenants.retention.services import Rule

BATCH = 10_000  # rows per transaction at most, for any step
# Data kept with the participant's account: erased with it, inactive or deleted by its owner.
WITH_THE_ACCOUNT = ("inactive_accounts", "deleted_accounts")

# A participant's share of a kind, for their export: (session, participant, language, the
# tenant's default language) -> a JSON-ready section.
Exporter = Callable[["Session", "Participant", str, str], Any]
# What erasing a participant's account does to a kind: (session, participant) -> rows handled.
Eraser = Callable[["Session", "Participant"], int]


@dataclass(frozen=True)
class Step:
    """One thing the retention sweep does to one data kind.

    ``due(rule, now)``: the ids of the rows due at ``now``, in order (a statement);
    ``handle(db, due, rule, now)``: handle the rows ``due`` (limited to a batch) selects,
    returning how many; ``next_at(db, rule)``: when the next row becomes due (None: none).
    Steps run in the matrix's order of their ``kind``, then by ``rank``, then in the registry's
    order."""

    kind: str
    name: str
    label: str
    due: Callable[[Rule, datetime], Select]
    handle: Callable[[Session, Select, Rule, datetime], int]
    next_at: Callable[[Session, Rule], datetime | None]
    batch: int = BATCH
    rank: int = 0


@dataclass(frozen=True)
class PersonalData:
    """One kind of personal data a feature holds, and what Parvis does with it.

    ``key`` names the kind in the registry, and the participant's export section when there is
    an ``export``. ``columns`` are the personal columns (ORM attributes), links to the person
    included. ``retention`` holds the keys of the matrix's kinds that govern it; without one,
    ``kept`` says what bounds it. ``erase`` and ``anonymise`` run when a participant's account
    is erased (at most one of them, None: the kind holds nothing tied to an account)."""

    key: str
    columns: tuple[InstrumentedAttribute, ...]
    retention: tuple[str, ...] = ()
    kept: str = ""
    export: Exporter | None = None
    erase: Eraser | None = None
    anonymise: Eraser | None = None
    steps: tuple[Step, ...] = ()

    def __post_init__(self) -> None:
        if not self.columns:
            raise ValueError(f"{self.key}: no personal column declared")
        if bool(self.retention) == bool(self.kept):
            raise ValueError(f"{self.key}: either retention kinds or what else bounds it")
        if self.erase is not None and self.anonymise is not None:
            raise ValueError(f"{self.key}: erased or anonymised, not both")
        if any(step.kind not in self.retention for step in self.steps):
            raise ValueError(f"{self.key}: a step of a kind that does not govern it")

    @property
    def tables(self) -> Mapping[str, tuple[str, ...]]:
        """Table name -> its personal columns' names, in declaration order."""
        found: dict[str, list[str]] = {}
        for attribute in self.columns:
            column = column_of(attribute)
            found.setdefault(column.table.name, []).append(column.name)
        return {table: tuple(names) for table, names in found.items()}


@dataclass(frozen=True)
class NotPersonal:
    """A column whose name looks personal but holds none, and why."""

    column: InstrumentedAttribute
    why: str


def column_of(attribute: InstrumentedAttribute) -> Column:
    """The table column behind an ORM attribute."""
    columns = attribute.property.columns
    return columns[0]


# --- building retention steps -------------------------------------------------------------------


def after(moment: datetime | None, rule: Rule, extra: timedelta = timedelta(0),
          ) -> datetime | None:
    """When data whose clock started at ``moment`` expires under ``rule`` (None: no data)."""
    return rule.after(moment) + extra if moment is not None else None


def each(apply: Callable[[Session, list, Rule, datetime], None],
         ) -> Callable[[Session, Select, Rule, datetime], int]:
    """A ``handle`` that reads the due ids, then has ``apply`` handle them."""
    def handle(db: Session, due: Select, rule: Rule, now: datetime) -> int:
        ids = list(db.scalars(due))
        if ids:
            apply(db, ids, rule, now)
        return len(ids)
    return handle


def deleting(model: type, column: Any, key: Any, where: Any = None,
             ) -> tuple[Callable[[Rule, datetime], Select],
                        Callable[[Session, Select, Rule, datetime], int],
                        Callable[[Session, Rule], datetime | None]]:
    """``due``, ``handle`` and ``next_at`` of a step deleting the rows of ``model`` whose
    ``column`` is older than the duration (``key``: the rows' identity)."""
    extra = [where] if where is not None else []

    def due(rule: Rule, now: datetime) -> Select:
        # No ORDER BY: any due rows will do, and the index on ``column`` then stops at the
        # batch's size instead of sorting every due row for each batch.
        return select(key).where(column < rule.cutoff(now), *extra)

    def handle(db: Session, due: Select, rule: Rule, now: datetime) -> int:
        # One statement per batch, and no rows back: the ids never travel to Python. (With
        # RETURNING, SQLite's driver hands each of 10,000 rows over one by one, releasing the
        # GIL each time, which made the batch wait on any busy thread of the process.)
        return rowcount(db.execute(delete(model).where(key.in_(due))
                                   .execution_options(synchronize_session=False)))

    def next_at(db: Session, rule: Rule) -> datetime | None:
        return after(db.scalar(select(func.min(column)).where(*extra)), rule)

    return due, handle, next_at


def when(moment: datetime | None) -> str:
    """A moment in an export: ISO 8601, or "" for none."""
    return moment.isoformat() if moment is not None else ""
