"""The one CSV writer of both planes: cells a spreadsheet shows as text, never evaluates
(formula injection, CWE-1236). Every export (registrations, consent ledger, rights export, the
contract-end bundle, breach log) writes through it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # first in a download: spreadsheet programs then read the file as UTF-8


def neutralise(value: str) -> str:
    """A cell a spreadsheet will show as text: a leading formula character gets a quote."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


def csv_line(cells: Iterable[str]) -> str:
    """One CSV line (with its line ending), every cell neutralised."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(cell) for cell in cells])
    return buffer.getvalue()


def csv_lines(rows: Iterable[Iterable[str]]) -> str:
    """Several CSV lines at once (a batch of a streamed export), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue()
