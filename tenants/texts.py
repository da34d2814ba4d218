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


def texts_form(languages: tuple[str, ...], *, required: str | None = None, max_length: int = 200,
               multiline: bool = False) -> type:
    """A WTForms sub-form with one input per enabled language, for use in a ``FormField``.

    ``required`` names the language that must be filled (usually the tenant's default); its
    data is a ``{language: text}`` mapping ready for ``clean``.
    """
    from flask_babel import lazy_gettext as _l
    from wtforms import Form, StringField, TextAreaField
    from wtforms.validators import DataRequired, Length, Optional

    names = {"fr": _l("in French"), "en": _l("in English")}
    field_class = TextAreaField if multiline else StringField
    attrs = {
        lang: field_class(names.get(lang, lang), render_kw={"lang": lang},
                          validators=[DataRequired() if lang == required else Optional(),
                                      Length(max=max_length)])
        for lang in languages
    }
    return type("TextsForm", (Form,), attrs)
