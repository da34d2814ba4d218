"""The registration form as participants see it, and their answers.

``build_form_class`` turns the tenant's design (standard field modes and active custom fields,
one query each) into a WTForms class, per request; ``save_answers`` stores what it validated;
``answers_for`` and ``display_value`` read answers back for pages and exports.

Answers are stored as JSON: text as a string, a number as the string of its decimal, a date as
its ISO string, a choice as its option key (a list of keys for multiple choice), a checkbox as a
boolean. Keys, never labels: renaming or archiving an option keeps every answer readable.

Conditions: a field with a condition is asked only when the controlling answer matches (it
equals the option key, contains it for multiple choice, or the box is ticked for "yes"). When
it does not, the field is neither required nor checked, and a value posted for it anyway is
refused: nobody stores an answer to a question that was not asked. Without JavaScript every
field is shown with its condition in words; with htmx the block of fields is rendered again
whenever a controlling answer changes, showing only the fields that apply.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    Field,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, Select, html_params

from tenants.fields import services as fields
from tenants.fields.models import FREE_TEXT_TYPES, Answer, CustomField
from tenants.participants import forms as account_forms
from tenants.participants import services as participants
from tenants.participants.models import Participant
from tenants.settings import services as settings
from tenants.texts import pick

SELECT_ABOVE = 8  # more options than this: a drop-down list rather than radio buttons
TEXT_LENGTHS = {"text": 500, "textarea": 5000, "email": 254, "url": 2000}
CHECKED = "yes"  # a condition on a checkbox: "yes" when ticked
# Numbers as people type them: no exponent, no NaN or infinity, a sensible size.
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

STANDARD_LABELS = {
    "first_name": _l("First name"), "last_name": _l("Last name"),
    "mobile_phone": _l("Mobile phone"), "city": _l("City"), "postal_code": _l("Postal code"),
    "job_function": _l("Job function"),
}
AUTOCOMPLETE = {
    "first_name": "given-name", "last_name": "family-name", "mobile_phone": "tel",
    "city": "address-level2", "postal_code": "postal-code", "job_function": "organization-title",
}

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


# --- the form ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """A custom field as the form asks it: its input's name and what to tell about it."""

    field: CustomField
    name: str  # the form input, ``custom_<id>``
    note: str  # the condition in words ("" when the field is always asked)
    warning: bool  # free text: warn against sensitive data


class AnswersForm(FlaskForm):
    """Base of the classes ``build_form_class`` makes; they set the class attributes."""

    language: ClassVar[str]
    default_language: ClassVar[str]
    standard: ClassVar[tuple[str, ...]]  # standard fields asked, in order
    questions: ClassVar[tuple[Question, ...]]
    by_id: ClassVar[dict[int, CustomField]]

    def standard_fields(self) -> list[Field]:
        return [self[key] for key in self.standard]

    def value_of(self, field: CustomField) -> Any:
        """The answer to ``field`` as it would be stored, or None when there is none."""
        return to_stored(field, self[input_name(field.id)].data)

    def applies(self, field: CustomField) -> bool:
        """Whether ``field`` is asked, given the answers in the form (conditions may chain)."""
        seen: set[int] = set()
        while field.condition_field_id is not None:
            source = self.by_id.get(field.condition_field_id)
            if source is None or field.id in seen:
                return False
            seen.add(field.id)
            if not condition_holds(self.value_of(source), field.condition_value):
                return False
            field = source
        return True

    def answers(self) -> dict[int, Any]:
        """Each question's answer to store, None for a blank one or one that does not apply."""
        return {q.field.id: self.value_of(q.field) if self.applies(q.field) else None
                for q in self.questions}


def input_name(field_id: int) -> str:
    return f"custom_{field_id}"


def build_form_class(db: Session, language: str, *, signup: bool,
                     participant: Participant | None = None) -> type[AnswersForm]:
    """The registration form of this tenant, in ``language``.

    ``signup``: an account is being created, so e-mail and password are asked (a profile shows
    the e-mail without an input, and changes the password elsewhere). ``participant``: fill the
    fields in with their current values and answers.
    """
    default = settings.languages(db)[0]
    modes = fields.standard_modes(db)
    custom = _askable(fields.active_fields(db))
    stored = answers_for(db, [participant.id]).get(participant.id, {}) if participant else {}
    attrs: dict[str, Any] = {}
    if signup:
        attrs["email"] = account_forms.email_field()
        attrs.update(account_forms.new_password_fields())
        attrs["marketing"] = account_forms.marketing_field()
    standard = tuple(key for key, mode in modes.items() if mode != "off")
    for key in standard:
        attrs[key] = _standard_field(key, required=modes[key] == "required",
                                     value=getattr(participant, key) if participant else None)
    by_id = {f.id: f for f in custom}
    controls = {f.condition_field_id for f in custom}
    questions = []
    for field in custom:
        name = input_name(field.id)
        attrs[name] = _custom_field(field, language, default, controls=field.id in controls,
                                    value=stored.get(field.id))
        questions.append(Question(field, name, _condition_note(field, by_id, language, default),
                                  field.type in FREE_TEXT_TYPES))
    attrs.update(language=language, default_language=default, standard=standard,
                 questions=tuple(questions), by_id=by_id)
    return type("RegistrationForm", (AnswersForm,), attrs)


def _askable(custom: list[CustomField]) -> list[CustomField]:
    """Leave out fields whose condition can never hold (it points at a field no longer asked)."""
    by_id = {f.id: f for f in custom}

    def reachable(field: CustomField, depth: int = 0) -> bool:
        if field.condition_field_id is None:
            return True
        source = by_id.get(field.condition_field_id)
        return source is not None and depth < len(custom) and reachable(source, depth + 1)

    return [f for f in custom if reachable(f)]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _standard_field(key: str, *, required: bool, value: str | None) -> Field:
    length = Participant.__table__.c[key].type.length
    checks: list[Any] = [DataRequired(REQUIRED) if required else Optional(),
                         Length(max=length, message=TOO_LONG), _no_control]
    field_class: type[Field] = StringField
    if key == "mobile_phone":
        field_class = TelField
        checks.append(_phone)
    return field_class(STANDARD_LABELS[key], validators=checks, filters=[_strip],
                       default=value or None,
                       render_kw={"autocomplete": AUTOCOMPLETE[key], "maxlength": length})


class MultiCheckboxField(SelectMultipleField):
    """Several options, one checkbox each."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NumberField(DecimalField):
    """A number as people type it (3.5 or 3,5), within a sensible size."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        self.data = None
        if not text:
            return  # blank: whether that is allowed is the form's business
        if not NUMBER.fullmatch(text):
            raise ValueError(str(BAD_NUMBER))
        self.data = Decimal(text.replace(",", "."))


class IsoDateField(DateField):
    """A date as the browser's date input sends it."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        self.data = None
        if not text:
            return
        try:
            if not ISO_DATE.fullmatch(text):
                raise ValueError(text)
            self.data = date.fromisoformat(text)
        except ValueError:
            raise ValueError(str(BAD_DATE)) from None


def _custom_field(field: CustomField, language: str, default: str, *, controls: bool,
                  value: Any) -> Field:
    label = pick(field.label, language, default)
    help_text = pick(field.help, language, default)
    render_kw: dict[str, Any] = {}
    if controls:
        render_kw["class"] = "answer-controls"  # a change re-renders the fields (htmx)
    if field.condition_field_id is not None:
        # Not asked unless the condition holds, which the browser cannot know.
        render_kw["required"] = False
    checks: list[Any] = [_Gate(field)]
    kind = field.type
    common = {"description": help_text, "render_kw": render_kw}
    if kind in ("text", "textarea", "email", "url"):
        length = TEXT_LENGTHS[kind]
        render_kw["maxlength"] = length
        checks += [Length(max=length, message=TOO_LONG),
                   _no_control if kind != "textarea" else _no_control_multiline]
        if kind == "email":
            checks.append(account_forms.EmailAddress())
        elif kind == "url":
            checks.append(_web_address)
        field_class = {"text": StringField, "textarea": TextAreaField, "email": EmailField,
                       "url": URLField}[kind]
        return field_class(label, validators=checks, filters=[_strip], default=value, **common)
    if kind == "phone":
        render_kw["maxlength"] = 30
        return TelField(label, validators=[*checks, _phone], filters=[_strip], default=value,
                        **common)
    if kind == "number":
        low, high = _decimal(field.min_value), _decimal(field.max_value)
        render_kw.update({k: str(v) for k, v in (("min", low), ("max", high)) if v is not None})
        return NumberField(label, validators=[*checks, _Bounds(low, high, language)],
                           places=None, default=_decimal(value), **common)
    if kind == "date":
        low, high = _date(field.min_value), _date(field.max_value)
        render_kw.update({k: v.isoformat() for k, v in (("min", low), ("max", high)) if v})
        return IsoDateField(label, validators=[*checks, _Bounds(low, high, language)],
                            default=_date(value), **common)
    if kind == "checkbox":
        return BooleanField(label, validators=checks, default=bool(value), **common)
    if kind == "country":
        return SelectField(label, choices=[], widget=CountrySelect(language),
                           validators=[*checks, _InOptions(country_codes())],
                           validate_choice=False, default=value, **common)
    options = [SelectChoice(o["key"], pick(o["label"], language, default))
               for o in field.active_options()]
    keys = _InOptions(option.value for option in options)
    if kind == "multichoice":
        render_kw["required"] = False  # "required" on each box would demand every one
        return MultiCheckboxField(label, choices=options, validators=[*checks, keys],
                                  validate_choice=False,
                                  default=value if isinstance(value, list) else [], **common)
    if len(options) > SELECT_ABOVE:
        return SelectField(label, choices=[SelectChoice("", _("Choose…")), *options],
                           validators=[*checks, keys], validate_choice=False, default=value,
                           **common)
    return RadioField(label, choices=options, validators=[*checks, keys],
                      validate_choice=False, default=value, **common)


def _condition_note(field: CustomField, by_id: dict[int, CustomField], language: str,
                    default: str) -> str:
    source = by_id.get(field.condition_field_id) if field.condition_field_id else None
    if source is None:
        return ""
    question = pick(source.label, language, default)
    if source.type == "checkbox":
        if field.condition_value == CHECKED:
            return _("Answer only if you ticked “%(question)s”.", question=question)
        return _("Answer only if you did not tick “%(question)s”.", question=question)
    option = next((o for o in source.options if o["key"] == field.condition_value), None)
    value = pick(option["label"], language, default) if option else field.condition_value
    return _("Answer only if you chose “%(option)s” for “%(question)s”.", option=value,
             question=question)


# --- checks ------------------------------------------------------------------------------------


class _Gate:
    """The first check of a custom field: does it apply, and is it answered?

    A field that does not apply is skipped, refusing a value posted for it anyway; a blank field
    is refused when required and skipped otherwise; an answer that could not even be read (not a
    number, not a date) keeps that one message.
    """

    def __init__(self, field: CustomField) -> None:
        self.field = field
        self.field_flags = {"required": True} if field.required else {}

    def __call__(self, form: AnswersForm, input_field: Field) -> None:
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


class _InOptions:
    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(keys)

    def __call__(self, form: Any, field: Field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(v not in self.keys for v in values if v not in (None, "")):
            raise ValidationError(str(CHOOSE))


class _Bounds:
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


def _no_control(form: Any, field: Field) -> None:
    if isinstance(field.data, str) and CONTROL.search(field.data):
        raise ValidationError(str(NO_CONTROL))


def _no_control_multiline(form: Any, field: Field) -> None:
    if isinstance(field.data, str) and MULTILINE_CONTROL.search(field.data):
        raise ValidationError(str(NO_CONTROL))


def _phone(form: Any, field: Field) -> None:
    if field.data and not PHONE.fullmatch(field.data):
        raise ValidationError(str(BAD_PHONE))


def _web_address(form: Any, field: Field) -> None:
    if not field.data:
        return
    try:
        parts = urlsplit(field.data)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. a malformed port or IPv6 address
        valid = False
    if not valid or " " in field.data:
        raise ValidationError(str(BAD_URL))


def _decimal(text: Any) -> Decimal | None:
    if isinstance(text, str) and NUMBER.fullmatch(text.strip()):
        return Decimal(text.strip().replace(",", "."))
    return None


def _date(text: Any) -> date | None:
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


# --- storing and reading answers ---------------------------------------------------------------


def to_stored(field: CustomField, data: Any) -> Any:
    """What the form's ``data`` for ``field`` is stored as (JSON), None for no answer."""
    kind = field.type
    if kind == "checkbox":
        return bool(data)
    if kind == "multichoice":
        chosen = set(data) if isinstance(data, list) else set()
        keys = [o["key"] for o in field.active_options() if o["key"] in chosen]
        return keys or None
    if kind == "number":
        return format(data, "f") if isinstance(data, Decimal) and data.is_finite() else None
    if kind == "date":
        return data.isoformat() if isinstance(data, date) else None
    if kind == "choice":
        return data if data in {o["key"] for o in field.active_options()} else None
    if kind == "country":
        return data if data in country_codes() else None
    text = data.strip() if isinstance(data, str) else ""
    return text or None


def condition_holds(value: Any, expected: str | None) -> bool:
    """Whether a controlling answer ``value`` meets a condition on ``expected``."""
    if isinstance(value, bool):
        return value == (expected == CHECKED)
    if isinstance(value, list):
        return expected in value
    return value is not None and value == expected


def save_answers(db: Session, participant: Participant, form: AnswersForm, *,
                 new: bool = False) -> None:
    """Store a validated form: the standard fields asked, and one answer per custom field
    (a blank answer, or one to a question that does not apply, removes the stored one).

    ``new``: the account was just created with the form's standard fields and has no answer
    yet, so the answers go in with one INSERT and nothing is read first.
    """
    values = form.answers()
    if new:
        rows = [{"participant_id": participant.id, "field_id": field_id, "value": value}
                for field_id, value in values.items() if value is not None]
        if rows:
            db.execute(insert(Answer), rows)
        return
    participants.update_profile(db, participant,
                                **{key: form[key].data or "" for key in form.standard})
    if not values:
        return
    existing = {answer.field_id: answer for answer in db.scalars(
        select(Answer).where(Answer.participant_id == participant.id,
                             Answer.field_id.in_(values)))}
    for field_id, value in values.items():
        answer = existing.get(field_id)
        if value is None:
            if answer is not None:
                db.delete(answer)
        elif answer is None:
            db.add(Answer(participant_id=participant.id, field_id=field_id, value=value))
        elif answer.value != value:
            answer.value = value
    db.flush()


def answers_for(db: Session, participant_ids: Iterable[int]) -> dict[int, dict[int, Any]]:
    """Every stored answer of these participants, ``{participant: {field: value}}`` (one query,
    archived fields included)."""
    ids = list(participant_ids)
    found: dict[int, dict[int, Any]] = defaultdict(dict)
    if ids:
        rows = db.execute(select(Answer.participant_id, Answer.field_id, Answer.value)
                          .where(Answer.participant_id.in_(ids)))
        for participant_id, field_id, value in rows:
            found[participant_id][field_id] = value
    return dict(found)


def answered_fields(db: Session, participant_id: int) -> list[tuple[CustomField, Any]]:
    """A participant's answers with their fields, in form order, archived fields last."""
    rows = db.execute(
        select(CustomField, Answer.value).join(Answer, Answer.field_id == CustomField.id)
        .where(Answer.participant_id == participant_id)
        .order_by(CustomField.archived_at.is_not(None), CustomField.position, CustomField.id))
    return [(field, value) for field, value in rows]


def display_value(field: CustomField, value: Any, language: str, default: str = "fr") -> str:
    """An answer in words for people: option labels, Yes/No, a date in ``language``."""
    if value is None:
        return ""
    kind = field.type
    if kind == "checkbox":
        return _("Yes") if value else _("No")
    if kind in ("choice", "multichoice"):
        keys = value if isinstance(value, list) else [value]
        return ", ".join(_option_label(field, str(key), language, default) for key in keys)
    if kind == "date" and (day := _date(value)) is not None:
        return format_date(day, "long", locale=language)
    if kind == "number" and (number := _decimal(value)) is not None:
        return format_decimal(number, locale=language, decimal_quantization=False)
    if kind == "country" and isinstance(value, str):
        return Locale.parse(language).territories.get(value, value)
    return str(value)


def _option_label(field: CustomField, key: str, language: str, default: str) -> str:
    option = next((o for o in field.options or [] if o.get("key") == key), None)
    if option is None:
        return _("%(label)s (removed option)", label=key)
    label = pick(option.get("label"), language, default) or key
    if option.get("archived"):
        return _("%(label)s (removed option)", label=label)
    return label
