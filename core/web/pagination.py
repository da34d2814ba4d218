"""Pages of a list that grows with data, for both planes; the pager is the template macro
``pager`` in ``_pager.html`` (webapp/web/templates).

- **One statement per page**: the page's rows carry the total as a window count
  (``count(*) over ()``), so the count always matches the rows whatever is written meanwhile
  and no second query counts them. A page past the end (an old link, a hand-typed number)
  costs one count more and shows the last page; an empty list shows page 1.
- **The page number comes from the query string** (``page``): text, zero, negative or absent
  is page 1, and it is capped (``MAX_PAGE``) so the offset stays within what any database
  accepts. Never a 500.
- The page size is fixed (``PAGE_SIZE``). Exports (CSV) are never paginated: they stream the
  whole statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PAGE_SIZE = 50
MAX_PAGE = 10_000

T = TypeVar("T")


def requested_page(param: str = "page", args: Mapping[str, str] | None = None) -> int:
    """The page asked for in ``args`` (the request's query string by default) under ``param``,
    from 1 to ``MAX_PAGE``: anything that is not a positive whole number is page 1."""
    raw = (request.args if args is None else args).get(param, "")
    text = raw.strip() if isinstance(raw, str) else ""
    if not text.isascii() or not text.isdigit():
        return 1
    return min(max(int(text[:6]), 1), MAX_PAGE)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, which page it is, and how many there are in all."""

    items: list[T]
    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max((self.total + self.size - 1) // self.size, 1)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        """The rank of the page's first item in the whole list (1 = first), 0 when empty."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    def numbers(self, around: int = 2) -> list[int | None]:
        """The page numbers the pager links to: the first, the last and ``around`` on each side
        of this one; None where numbers are left out."""
        shown = sorted({1, self.pages, *range(max(self.number - around, 1),
                                              min(self.number + around, self.pages) + 1)})
        out: list[int | None] = []
        for index, number in enumerate(shown):
            if index and number - shown[index - 1] > 1:
                out.append(None)
            out.append(number)
        return out

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def paginate(db: Session, stmt: Select, number: int, *, size: int = PAGE_SIZE) -> Page[Any]:
    """Page ``number`` of ``stmt`` (which must be ordered, by a unique key last, for pages to
    be stable). A statement of one column or entity gives its values, otherwise rows (tuples
    without the count)."""
    single = len(stmt.column_descriptions) == 1
    counted = stmt.add_columns(func.count().over())

    def rows_of(page: int) -> list[Any]:
        return list(db.execute(counted.offset((page - 1) * size).limit(size)).all())

    number = min(max(number, 1), MAX_PAGE)
    rows = rows_of(number)
    if rows:
        total = int(rows[0][-1])
    elif number > 1:  # past the end: the last page, if there is any
        total = int(db.scalar(select(func.count()).select_from(
            stmt.order_by(None).subquery())) or 0)
        number = max((total + size - 1) // size, 1)
        rows = rows_of(number) if total else []
        total = int(rows[0][-1]) if rows else 0
        if not rows:
            number = 1
    else:
        total = 0
    items = [row[0] if single else tuple(row[:-1]) for row in rows]
    return Page(items=items, number=number, total=total, size=size)

