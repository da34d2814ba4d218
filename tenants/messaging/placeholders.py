"""Placeholders in texts the tenant writes (``{first_name}``…): a small whitelist, filled in
without any template language (users never write Jinja), escaped in HTML.

``string.Formatter.parse`` reads the text (``{{`` and ``}}`` stand for braces); a field that is
not a bare allowed name (``{first_name.__class__}``, ``{x[0]}``, ``{x!r}``, ``{x:>9}``) is an
error when the text is saved, and is never evaluated: values are looked up by name only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from string import Formatter

from markupsafe import Markup, escape

_PARAGRAPHS = re.compile(r"\n\s*\n")


def problems(text: str, allowed: Iterable[str]) -> list[str]:
    """What is wrong with ``text``'s placeholders: the fields not allowed, as written (an
    unbalanced brace is reported as ``"{"``). Empty: fine."""
    allowed = set(allowed)
    try:
        parts = list(Formatter().parse(text))
    except ValueError:
        return ["{"]
    return ["{" + field + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "") + "}"
            for _literal, field, spec, conversion in parts
            if field is not None and (field not in allowed or spec or conversion)]


def _pieces(text: str, values: Mapping[str, str]) -> list[tuple[str, str]]:
    try:
        parts = list(Formatter().parse(text))
    except ValueError:  # checked when saved; never fails a sending
        return [(text, "")]
    return [(literal, "" if field is None else str(values.get(field, "")))
            for literal, field, _spec, _conversion in parts]


def render_text(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders filled in (an unknown one stays empty)."""
    return "".join(literal + value for literal, value in _pieces(text, values))


def render_html(text: str, values: Mapping[str, str], *, inline: bool = False) -> Markup:
    """The same as HTML: all of it escaped (the tenant writes plain text), blank lines as
    paragraphs (``inline``: as two line breaks, for a text that goes inside a paragraph), line
    breaks kept."""
    plain = render_text(text, values).replace("\r\n", "\n").strip()
    paragraphs = [Markup("<br>\n").join(escape(line) for line in paragraph.split("\n"))
                  for paragraph in _PARAGRAPHS.split(plain) if paragraph.strip()]
    if inline:
        return Markup("<br>\n<br>\n").join(paragraphs)
    return Markup("\n").join(Markup("<p>{}</p>").format(paragraph) for paragraph in paragraphs)
