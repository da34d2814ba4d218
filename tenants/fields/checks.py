"""Checks on a participant's answers to the registration form, and the values they read.

Each custom field's input gets ``Gate`` first (does the question apply, is it answered?), then
the checks of its type; ``parse_decimal`` and ``parse_date`` read a stored or bound value back.
Countries are ISO 3166-1 codes, named in the reader's language.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import Field
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import Select, html_params

from tenants.fields.models import CustomField

NUMBER = re.compile(r"-?\d{1,15}(?:[.,]\d{1,10})?")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PHONE = re.compile(r"[0-9 +().\-]{5,30}")
# Control characters (and Unicode line breaks): never in a one-line answer; a long answer may
# hold tabs and line breaks.
CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Codes Babel names that are not ISO 3166-1 countries: groupings, reserved and pseudo regions.
NOT_COUNTRIES = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA",
                           "XB", "ZZ"})


NOT_APPLICABLE = _l("This question does not apply to your previous answers.")
REQUIRED = _l("This field is required.")
MUST_TICK = _l("Tick this box to continue.")
CHOOSE = _l("Choose one of the options offered.")
TOO_LONG = _l("At most %(max)d characters.")
NO_CONTROL = _l("Remove the control characters (such as line breaks) from this answer.")
BAD_NUMBER = _l("Enter a number, such as 12 or 3.5.")
BAD_DATE = _l("Enter a date (year-month-day).")
BAD_PHONE = _l("Enter a phone number: 5 to 30 digits, spaces and + - ( ) . characters.")
BAD_URL = _l("Enter a web address starting with http:// or https://.")


class AnsweredForm(Protocol):
    """What ``Gate`` asks of the form (``answer_form.AnswersForm``, which imports this module)."""

    def applies(self, field: CustomField) -> bool: ...

    def value_of(self, field: CustomField) -> Any: ...


class Gate:
    """The first check of a custom field: does it apply, and is it answered?

    A field that does not apply is skipped, refusing a value posted for it anyway; a blank field
    is refused when required and skipped otherwise; an answer that could not even be read (not a
    number, not a date) keeps that one message.
    """

    def __init__(self, field: CustomField) -> None:
        self.field = field
        self.field_flags = {"required": True} if field.required else {}

    def __call__(self, form: AnsweredForm, input_field: Field) -> None:
        posted = any(isinstance(v, str) and v.strip() for v in input_field.raw_data or ())
        if not form.applies(self.field):
            input_field.errors[:] = []
            raise StopValidation(str(NOT_APPLICABLE) if posted else None)
        value = form.value_of(self.field)
        if self.field.type == "checkbox":
            raise StopValidation(str(MUST_TICK) if self.field.required and not value else None)
        if not posted and value is None:
            input_field.errors[:] = []
            raise StopValidation(str(REQUIRED) if self.field.required else None)
        if input_field.errors:
            raise StopValidation()


class InOptions:
    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(keys)

    def __call__(self, form: Any, field: Field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(v not in self.keys for v in values if v not in (None, "")):
            raise ValidationError(str(CHOOSE))


class Bounds:
    """A number or a date within the field's bounds (either may be absent)."""

    def __init__(self, low: Any, high: Any, language: str) -> None:
        self.low, self.high, self.language = low, high, language

    def _show(self, value: Any) -> str:
        if isinstance(value, date):
            return format_date(value, "long", locale=self.language)
        return format_decimal(value, locale=self.language, decimal_quantization=False)

    def __call__(self, form: Any, field: Field) -> None:
        value = field.data
        if value is None:
            return
        low, high = self.low, self.high
        if low is not None and high is not None and not low <= value <= high:
            raise ValidationError(_("Enter a value from %(low)s to %(high)s.",
                                    low=self._show(low), high=self._show(high)))
        if low is not None and value < low:
            raise ValidationError(_("Enter %(low)s or more.", low=self._show(low)))
        if high is not None and value > high:
            raise ValidationError(_("Enter %(high)s or less.", high=self._show(high)))


def no_control(form: Any, field: Field) -> None:
    if isinstance(field.data, str) and CONTROL.search(field.data):
        raise ValidationError(str(NO_CONTROL))


def no_control_multiline(form: Any, field: Field) -> None:
    if isinstance(field.data, str) and MULTILINE_CONTROL.search(field.data):
        raise ValidationError(str(NO_CONTROL))


def phone(form: Any, field: Field) -> None:
    if field.data and not PHONE.fullmatch(field.data):
        raise ValidationError(str(BAD_PHONE))


def web_address(form: Any, field: Field) -> None:
    if not field.data:
        return
    try:
        parts = urlsplit(field.data)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a malformed port or IPv6 address
        valid = False
    if not valid or " " in field.data:
        raise ValidationError(str(BAD_URL))


def parse_decimal(text: Any) -> Decimal | None:
    if isinstance(text, str) and NUMBER.fullmatch(text.strip()):
        return Decimal(text.strip().replace(",", "."))
    return None


def parse_date(text: Any) -> date | None:
    if isinstance(text, str) and ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return None


@functools.cache
def countries(language: str) -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 alpha-2 codes and their names in ``language``, sorted by name."""
    names = Locale.parse(language).territories
    pairs = [(code, name) for code, name in names.items()
             if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES]
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


@functools.cache
def _country_options(language: str) -> dict[str, str]:
    """Each country's ``<option>``, rendered once per language: a page shows about 250, and
    rendering them one by one through WTForms was a third of the registration page's time."""
    return {code: str(Markup('<option value="{}">{}</option>').format(code, name))
            for code, name in countries(language)}


class CountrySelect(Select):
    """A ``<select>`` of countries in ``language`` from the pre-rendered options."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def __call__(self, field: Field, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        parts = [Markup("<select %s>") % html_params(name=field.name, **kwargs),
                 Markup('<option value="">{}</option>').format(_("Choose a country"))]
        for code, option in _country_options(self.language).items():
            parts.append(option.replace("<option ", "<option selected ", 1)
                         if code == field.data else option)
        parts.append("</select>")
        return Markup("".join(parts))  # noqa: S704 -- escaped when each option was built


@functools.cache
def country_codes() -> frozenset[str]:
    return frozenset(code for code, _name in countries("en"))


def _sort_key(name: str) -> str:
    # "Égypte" among the E's: accents do not count when sorting.
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
