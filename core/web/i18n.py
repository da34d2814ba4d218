"""Locale selection: the visitor's explicit choice, else the tenant's language, else French."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from babel import Locale
from babel.support import NullTranslations
from flask import Blueprint, current_app, g, has_request_context, redirect, request, session
from flask_babel import format_date, format_datetime, get_locale, get_timezone, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from core.extensions import babel, chosen_locale

bp = Blueprint("i18n", __name__)

# Flask-Babel parses the selector's answer on every request unless it is already a Locale.
_locales: dict[str, Locale] = {}


def _locale(code: str) -> Locale:
    locale = _locales.get(code)
    if locale is None:
        locale = _locales[code] = Locale.parse(code)
    return locale


def select_locale() -> Locale:
    languages = current_app.config["LANGUAGES"]
    # Outside a request (CLI commands, jobs) there is no visitor and so no explicit choice.
    chosen = session.get("lang") if has_request_context() else None
    if chosen is not None and chosen in languages:
        return _locale(chosen)
    tenant = g.get("tenant")
    if tenant is not None and tenant.default_language in languages:
        return _locale(tenant.default_language)
    return _locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def _catalog(context: Context) -> NullTranslations:
    """The catalogue for one template render, fetched from Flask-Babel at its first ``_()``.

    Flask-Babel's own template callables walk its domain, context and locale look-ups again
    for each ``_()``, and a page makes dozens. Catalogues are immutable at run time and a render
    happens under one locale (``force_locale`` wraps whole renders, as for e-mails), so the
    render's evaluation context keeps the one it got.
    """
    # A macro module imported without context keeps its first evaluation context for the life
    # of the process, so the cached catalogue is checked against the current locale.
    eval_ctx = context.eval_ctx
    locale = chosen_locale() or get_locale()  # one look-up once Flask-Babel has chosen
    cached = getattr(eval_ctx, "parvis_catalog", None)
    if cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    eval_ctx.parvis_catalog = (locale, translations)  # type: ignore[attr-defined]
    return translations


# Jinja's "newstyle" gettext functions (jinja2.ext), calling the catalogue directly rather than
# through two more layers of ``Context.call``: autoescaped when the template is, and always
# %-formatted, exactly as Jinja's own.
def _finish(context: Context, text: str, variables: dict[str, Any]) -> str:
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 -- our own catalogue, as in Jinja
    # Formatting a text without a % leaves it as it is: most texts, skipped.
    return text % variables if variables or "%" in text else text


@pass_context
def _gettext(context: Context, string: str, /, **variables: Any) -> str:
    return _finish(context, _catalog(context).ugettext(string), variables)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, num: int, /,
              **variables: Any) -> str:
    variables.setdefault("num", num)
    return _finish(context, _catalog(context).ungettext(singular, plural, num), variables)


@pass_context
def _pgettext(context: Context, string_ctx: str, string: str, /, **variables: Any) -> str:
    variables.setdefault("context", string_ctx)
    return _finish(context, _catalog(context).upgettext(string_ctx, string), variables)


@pass_context
def _npgettext(context: Context, string_ctx: str, singular: str, plural: str, num: int, /,
               **variables: Any) -> str:
    variables.setdefault("context", string_ctx)
    variables.setdefault("num", num)
    return _finish(context, _catalog(context).unpgettext(string_ctx, singular, plural, num),
                   variables)


@functools.cache
def _country_codes() -> dict[str, str]:
    """ISO 3166 codes by country name, in every language of the interface (casefolded)."""
    return {name.casefold(): code for language in ("en", "fr")
            for code, name in _locale(language).territories.items()
            if len(code) == 2 and code.isalpha()}


def country(value: str | None) -> str:
    """A place typed as a country's name (in English or French) or its ISO code, shown in the
    reader's language ("United States" reads "États-Unis"); anything else as it was typed."""
    text = (value or "").strip()
    code = text if len(text) == 2 and text.isupper() else _country_codes().get(text.casefold())
    locale = get_locale()
    return locale.territories.get(code, value or "") if code and locale else value or ""


def text_language() -> str:
    """Which of the two languages Parvis keeps its own texts in (legal texts, sub-processors,
    the service catalogue, the registers) the reader gets: English, or else French."""
    return "en" if str(get_locale()) == "en" else "fr"


def long_date(day: date) -> str:
    return format_date(day, "long")


def moment(at: datetime) -> str:
    """In the unit of work's time zone (the tenant's, else the platform's), with its offset
    ("long"): readers may be elsewhere."""
    return format_datetime(at, "long")


@functools.cache
def _zoned_pattern(locale: Locale) -> str:
    """The locale's medium date and short time, joined as its medium date-time joins them."""
    return (str(locale.datetime_formats["medium"])
            .replace("{1}", locale.date_formats["medium"].pattern)
            .replace("{0}", locale.time_formats["short"].pattern))


def zoned(at: datetime) -> str:
    """A date and time in the unit of work's zone (the tenant's, else the platform's), the zone
    named: "6 déc. 2026, 08:00 (Europe/Paris)"; the ``datetimeformat`` filter."""
    zone, locale = get_timezone(), get_locale() or _locale("fr")
    shown = format_datetime(at if at.tzinfo else at.replace(tzinfo=UTC), _zoned_pattern(locale))
    return f"{shown} ({str(zone).replace('_', ' ')})"


def day(value: datetime | date | str | None) -> str:
    """A day as the rest of the interface shows it (Flask-Babel's ``dateformat``, in the
    reader's language and time zone), also for the ISO strings of exports; "" for none."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value  # not a moment: shown as it is
        if parsed.tzinfo is not None:  # Flask-Babel takes naive moments as UTC
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return format_date(parsed)
    return format_date(value)


def init_app(app, time_zone: Callable[[], str | None] = lambda: None) -> None:
    """``time_zone`` names the zone of the unit of work's times (a tenant's setting), or None
    for the platform's ``BABEL_DEFAULT_TIMEZONE``."""

    def select_timezone() -> str:
        return time_zone() or app.config["BABEL_DEFAULT_TIMEZONE"]

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["country"] = country
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["datetimeformat"] = zoned
    # Flask-Babel installed Jinja's newstyle gettext (``{% trans %}`` compiles for it); these
    # replace its callables, and ``_`` points straight at gettext instead of looking it up.
    app.jinja_env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext,
                                 pgettext=_pgettext, npgettext=_npgettext)
    app.register_blueprint(bp)

    @app.context_processor
    def language_context() -> dict:
        return {"current_language": str(get_locale() or "fr"),
                "languages": app.config["LANGUAGES"], "long_date": long_date, "moment": moment}


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never redirect to another host (open-redirect guard)."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not any(ord(c) < 32 for c in target)):
        return target
    return default


@bp.post("/language")
def switch():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")), code=303)
