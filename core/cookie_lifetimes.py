"""Cookie lifetimes: a number and a unit, capped at 13 months (PRODUCT.md, "Cookie consent":
each service lists the cookies it sets and their lifetime; CNIL, délibération 2020-091: a
tracker lasts at most 13 months).

Both planes declare cookies (a tenant's consent services, the operators' catalogue of
third-party services), so the rule lives here, on the ground floor. A cookie is stored as
``{"name": "_pk_id", "duration": 13, "unit": "months"}`` (``duration`` None for "session").
A lifetime that was written as free text before lifetimes were structured and that could not
be read (or that declares more than 13 months) is kept as ``{"name": …, "text": "2 ans"}``
until an admin corrects it: it is shown as written, with a notice asking for the correction.

``parse`` reads the usual French and English ways of writing a lifetime ("13 mois",
"1 year", "30 days", "session", "jusqu'à 24 heures"); the forms and the migrations that
structured the old texts use it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

UNITS = ("session", "minutes", "hours", "days", "months")
MAX_MONTHS = 13
# 13 calendar months last at least 365 + 28 days: a cookie of 393 days never outlives them,
# whatever the day it is set (it is also what Matomo means by "13 months": 33,955,200 s).
MAX_DAYS = 393
_MINUTES = {"minutes": 1, "hours": 60, "days": 24 * 60}
MAX_NUMBER = 1_000_000

# Words of a lifetime, accents removed and lower-cased: unit -> (stored unit, multiplier).
_UNIT_WORDS: dict[str, tuple[str, int]] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds", "seconde", "secondes"),
                    ("seconds", 1)),
    **dict.fromkeys(("min", "mins", "mn", "minute", "minutes"), ("minutes", 1)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "heure", "heures"), ("hours", 1)),
    **dict.fromkeys(("d", "j", "jr", "jrs", "day", "days", "jour", "jours", "journee",
                     "journees"), ("days", 1)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks", "sem", "semaine", "semaines"),
                    ("days", 7)),
    **dict.fromkeys(("mo", "mos", "month", "months", "mois"), ("months", 1)),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years", "an", "ans", "annee", "annees"),
                    ("months", 12)),
}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "two": 2, "deux": 2,
                 "three": 3, "trois": 3, "six": 6, "twelve": 12, "douze": 12,
                 "thirteen": 13, "treize": 13}
# Words before the figure that do not change it: "up to 13 months", "jusqu'à 13 mois".
_LEADING = re.compile(r"^(?:up to|upto|max(?:imum)?\.?|jusqu ?a|au plus|at most|environ|"
                      r"about|approx(?:imately)?\.?|~|<=?|≤)\s*")
_AMOUNT = re.compile(r"^(\d{1,10}|[a-z]+)\s*([a-z]+)$")
_SESSION = re.compile(r"\bsession\b|fermeture du navigateur|navigateur (?:est )?ferme"
                      r"|browser (?:is )?clos|close (?:the|your) browser")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    flat = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(flat.replace("'", " ").replace("\u2019", " ").split())


@dataclass(frozen=True)
class Lifetime:
    """How long a cookie lasts: ``duration`` ``unit`` ("13 months"), or "session" (until the
    browser closes); ``unit`` None: old free ``text`` that still needs correcting."""

    duration: int | None
    unit: str | None
    text: str = ""

    @classmethod
    def of(cls, cookie: dict[str, Any]) -> Lifetime:
        """The lifetime of a stored cookie (see the module's docstring)."""
        if cookie.get("unit") in UNITS:
            return cls(cookie.get("duration"), cookie["unit"])
        return cls(None, None, str(cookie.get("text") or cookie.get("lifetime") or ""))

    @property
    def readable(self) -> bool:
        return self.unit is not None

    @property
    def within_cap(self) -> bool:
        """At most 13 months (393 days, or as many hours or minutes)."""
        if self.unit == "session":
            return True
        if self.unit is None or self.duration is None:
            return False
        if self.unit == "months":
            return self.duration <= MAX_MONTHS
        return self.duration * _MINUTES[self.unit] <= MAX_DAYS * _MINUTES["days"]

    @property
    def needs_fixing(self) -> bool:
        """Old text that could not be read, or a lifetime over the cap (only old data can be
        over it: the forms and services refuse it)."""
        return not self.readable or not self.within_cap

    def plain(self) -> dict[str, Any]:
        """The stored form, without the cookie's name."""
        if self.unit is None:
            return {"text": self.text}
        return {"duration": None if self.unit == "session" else self.duration,
                "unit": self.unit}

    def __str__(self) -> str:
        """"13 months", "session", in the request's language (old text as written)."""
        n = self.duration or 0
        if self.unit == "session":
            return _("session (until the browser closes)")
        if self.unit == "minutes":
            return ngettext("%(num)d minute", "%(num)d minutes", n)
        if self.unit == "hours":
            return ngettext("%(num)d hour", "%(num)d hours", n)
        if self.unit == "days":
            return ngettext("%(num)d day", "%(num)d days", n)
        if self.unit == "months":
            return ngettext("%(num)d month", "%(num)d months", n)
        return self.text


def parse(text: str) -> Lifetime | None:
    """A lifetime written in French or English, or None when it cannot be read for sure.

    "13 mois", "13 months", "1 an" / "1 year" (12 months), "2 semaines" (14 days),
    "30 jours", "24 h", "30 minutes", "session", "jusqu'à la fermeture du navigateur".
    Seconds count when they make whole minutes. Decimals, ranges and two units ("1 year and 1
    month") are not guessed: None.
    """
    plain = _plain(text or "")
    if not plain or len(plain) > 100:
        return None
    if _SESSION.search(plain):
        return None if any(c.isdigit() for c in plain) else Lifetime(None, "session")
    plain = _LEADING.sub("", plain).strip()
    match = _AMOUNT.fullmatch(plain)
    if match is None:
        return None
    figure, word = match.groups()
    number = int(figure) if figure.isdigit() else _NUMBER_WORDS.get(figure)
    unit = _UNIT_WORDS.get(word)
    if number is None or unit is None or number <= 0:
        return None
    name, multiplier = unit
    if name == "seconds":
        if number % 60:
            return None
        name, number, multiplier = "minutes", number // 60, 1
    return Lifetime(number * multiplier, name) if number * multiplier <= MAX_NUMBER else None


class LifetimeError(ValueError):
    """A cookie whose lifetime is not a number and a unit, or is over the 13-month cap."""

    def __init__(self, name: str, over_cap: bool) -> None:
        super().__init__("cookies")
        self.name, self.over_cap = name, over_cap

    def message(self) -> str:
        """Translated, naming the cookie."""
        if self.over_cap:
            return _("The cookie %(name)s lasts longer than 13 months (at most 13 months, or "
                     "393 days): shorten it, or do not use this service.", name=self.name)
        return _("Give the lifetime of the cookie %(name)s as a number and a unit (minutes, "
                 "hours, days, months), or \u201csession\u201d.", name=self.name)


def structured(name: str, lifetime: Lifetime) -> dict[str, Any]:
    return {"name": name, **lifetime.plain()}


def check(cookies: list[dict[str, Any]]) -> None:
    """Raise ``LifetimeError`` for the first cookie whose lifetime is not a number and a unit
    (old text included: it must be corrected first), or is over the cap."""
    for cookie in cookies:
        name = str(cookie.get("name", ""))
        unit, duration = cookie.get("unit"), cookie.get("duration")
        if unit is None and ("text" in cookie or "lifetime" in cookie):
            read = parse(Lifetime.of(cookie).text)  # old text: say what is wrong with it
            raise LifetimeError(name, over_cap=read is not None and not read.within_cap)
        if unit not in UNITS or (unit == "session") != (duration is None) or (
                duration is not None and (type(duration) is not int
                                          or not 0 < duration <= MAX_NUMBER)):
            raise LifetimeError(name, over_cap=False)
        if not Lifetime(duration, unit).within_cap:
            raise LifetimeError(name, over_cap=True)


def parse_lines(text: str, max_cookies: int, name_pattern: re.Pattern[str],
                ) -> tuple[list[dict[str, Any]], list[str]]:
    """``name | lifetime`` lines (as the service forms take them) -> (cookies, errors): each
    error translated and naming its cookie; no cookie is returned with an error."""
    cookies: list[dict[str, Any]] = []
    errors: list[str] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, _sep, written = (part.strip() for part in line.partition("|"))
        if not name_pattern.fullmatch(name):
            errors.append(_("\u201c%(line)s\u201d: write the cookie's name (letters, digits "
                            "and - _ .), a vertical bar, then its lifetime.",
                            line=line.strip()[:60]))
            continue
        lifetime = parse(written)
        if lifetime is None:
            errors.append(LifetimeError(name, over_cap=False).message())
        elif not lifetime.within_cap:
            errors.append(LifetimeError(name, over_cap=True).message())
        else:
            cookies.append(structured(name, lifetime))
    if len(cookies) + len(errors) > max_cookies:
        errors.append(_("At most %(count)d cookies.", count=max_cookies))
    return ([] if errors else cookies), errors


def lines(cookies: list[dict[str, Any]]) -> str:
    """The cookies as the forms show them: ``name | 13 months`` (old text as written)."""
    return "\n".join(f"{c.get('name', '')} | {Lifetime.of(c)}" for c in cookies)


# --- the migrations that structured the old free texts (tenant e7a00000000d, control
# f9b00000000d) --------------------------------------------------------------------------------

_ENGLISH = {"minutes": "minute", "hours": "hour", "days": "day", "months": "month"}


def structure(cookie: dict[str, Any]) -> dict[str, Any]:
    """An old cookie (``{"name", "lifetime": free text}``) structured when its text reads as a
    lifetime within the cap, else kept as text to correct; a structured one as it is."""
    if "lifetime" not in cookie:
        return dict(cookie)
    name, written = str(cookie.get("name", "")), str(cookie.get("lifetime") or "")
    lifetime = parse(written)
    if lifetime is None or not lifetime.within_cap:
        return {"name": name, "text": written}
    return structured(name, lifetime)


def unstructure(cookie: dict[str, Any]) -> dict[str, Any]:
    """Back to the old free text (in English, as the old forms suggested it)."""
    if "lifetime" in cookie:
        return dict(cookie)
    lifetime = Lifetime.of(cookie)
    if lifetime.unit is None:
        text = lifetime.text
    elif lifetime.unit == "session":
        text = "session"
    else:
        n = lifetime.duration or 0
        text = f"{n} {_ENGLISH[lifetime.unit]}{'' if n == 1 else 's'}"
    return {"name": str(cookie.get("name", "")), "lifetime": text}
