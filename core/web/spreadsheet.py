"""CSV cells a spreadsheet shows as text, never evaluates (formula injection, CWE-1236).

The same rule as the tenant plane's registration export, for control-plane exports, which may
not import tenant modules.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """A cell a spreadsheet will show as text: a leading formula character gets a quote."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


def csv_line(cells: Iterable[str]) -> str:
    """One CSV line (with its line ending), every cell neutralised."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(cell) for cell in cells])
    return buffer.getvalue()
