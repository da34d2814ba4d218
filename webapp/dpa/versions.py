"""The DPA's versions: text files ``texts/dpa-<version>.<language>.txt``, one per language.

A version is its date (``YYYY-MM-DD``); the newest is current. Texts are files rather than rows
so a new version is reviewed like code, and an acceptance records the SHA-256 of the exact
text the owner read. The format is deliberately small: a ``# `` title line, ``## `` headings,
``- `` list items and paragraphs separated by blank lines.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

TEXTS = Path(__file__).resolve().parent / "texts"
LANGUAGES = ("fr", "en")
_FILE = re.compile(r"dpa-(\d{4}-\d{2}-\d{2})\.(fr|en)\.txt")


@dataclass(frozen=True)
class Block:
    kind: str  # "title", "heading", "paragraph" or "list"
    lines: tuple[str, ...]


@dataclass(frozen=True)
class DpaVersion:
    id: str
    texts: dict[str, str]

    @property
    def published_on(self) -> date:
        return date.fromisoformat(self.id)

    def text(self, language: str) -> str:
        return self.texts[language if language in self.texts else LANGUAGES[0]]

    def sha256(self, language: str) -> str:
        return hashlib.sha256(self.text(language).encode()).hexdigest()

    def blocks(self, language: str) -> list[Block]:
        return parse(self.text(language))


def parse(text: str) -> list[Block]:
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        if lines[0].startswith("# "):
            blocks.append(Block("title", (lines[0][2:],)))
        elif lines[0].startswith("## "):
            blocks.append(Block("heading", (lines[0][3:],)))
        elif all(line.startswith("- ") for line in lines):
            blocks.append(Block("list", tuple(line[2:] for line in lines)))
        else:
            blocks.append(Block("paragraph", (" ".join(lines),)))
    return blocks


@functools.cache
def versions() -> tuple[DpaVersion, ...]:
    """Every version with a text in each language, oldest first (read once per process)."""
    found: dict[str, dict[str, str]] = {}
    for path in TEXTS.glob("dpa-*.txt"):
        match = _FILE.fullmatch(path.name)
        if match:
            found.setdefault(match[1], {})[match[2]] = path.read_text(encoding="utf-8")
    complete = [DpaVersion(v, texts) for v, texts in sorted(found.items())
                if set(texts) == set(LANGUAGES)]
    if not complete:
        raise RuntimeError(f"no DPA text in both languages in {TEXTS}")
    return tuple(complete)


def current() -> DpaVersion:
    return versions()[-1]


def get(version: str) -> DpaVersion | None:
    return next((v for v in versions() if v.id == version), None)
