"""Parvis's terms of service: versioned texts ``terms/terms-<version>.<language>.txt``.

Same format and rules as the DPA's texts (``webapp.dpa.versions``): a version is its date, the
newest is current, and an acceptance records the SHA-256 of the exact text that was shown.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from webapp.dpa.versions import LANGUAGES, DpaVersion

TEXTS = Path(__file__).resolve().parent / "terms"
_FILE = re.compile(r"terms-(\d{4}-\d{2}-\d{2})\.(fr|en)\.txt")

TermsVersion = DpaVersion  # a dated text in each language: the same shape as the DPA's


@functools.cache
def versions() -> tuple[TermsVersion, ...]:
    """Every version with a text in each language, oldest first (read once per process)."""
    found: dict[str, dict[str, str]] = {}
    for path in TEXTS.glob("terms-*.txt"):
        match = _FILE.fullmatch(path.name)
        if match:
            found.setdefault(match[1], {})[match[2]] = path.read_text(encoding="utf-8")
    complete = [TermsVersion(v, texts) for v, texts in sorted(found.items())
                if set(texts) == set(LANGUAGES)]
    if not complete:
        raise RuntimeError(f"no terms text in both languages in {TEXTS}")
    return tuple(complete)


def current() -> TermsVersion:
    return versions()[-1]
