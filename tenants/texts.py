"""Texts written by a tenant (event titles, field labels, options) in each of its languages.

They are stored as ``{"fr": "…", "en": "…"}`` mappings. Reading one picks the reader's language,
then the tenant's default, then any non-empty text, so a half-translated form never shows a
blank label.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

Texts = dict[str, str]

# JSON on SQLite, JSONB on PostgreSQL (compact, comparable).
JSONType = JSON().with_variant(JSONB(), "postgresql")


def pick(texts: Mapping[str, str] | None, language: str, default: str = "fr") -> str:
    """The text for ``language``, falling back to ``default`` and then to any language."""
    if not texts:
        return ""
    for lang in (language, default):
        if texts.get(lang):
            return texts[lang]
    return next((value for value in texts.values() if value), "")


def clean(texts: Mapping[str, object], languages: tuple[str, ...]) -> Texts:
    """Keep the enabled languages only, as stripped strings."""
    return {lang: str(texts.get(lang) or "").strip() for lang in languages}
