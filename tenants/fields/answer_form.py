"""The registration form as participants see it.

``build_form_class`` turns the tenant's design (standard field modes and active custom fields,
one query each) into a WTForms class; ``answers.save_answers`` stores what it validated. The
blank form's class (sign-up, preview) is built once per process and configuration version
(tenants/settings/version.py), from copies of the fields that belong to no session; a
participant's own form (filled in with their answers) is built per request.

Conditions: a field with a condition is asked only when the controlling answer matches
(``answers.condition_holds``). When it does not, the field is neither required nor checked, and
a value posted for it anyway is refused: nobody stores an answer to a question that was not
asked. Without JavaScript every field is shown with its condition in words; with htmx the block
of fields is rendered again whenever a controlling answer changes, showing only the fields that
apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, cast

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import String
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
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from tenants.fields import services as fields
from tenants.fields.answers import answers_for, condition_holds, to_stored
from tenants.fields.checks import (
    BAD_DATE,
    BAD_NUMBER,
    ISO_DATE,
    NUMBER,
    REQUIRED,
    TOO_LONG,
    Bounds,
    CountrySelect,
    Gate,
    InOptions,
    country_codes,
    no_control,
    no_control_multiline,
    parse_date,
    parse_decimal,
    phone,
    web_address,
)
from tenants.fields.models import FREE_TEXT_TYPES, CustomField
from tenants.participants import forms as account_forms
from tenants.participants.models import Participant
from tenants.settings import services as settings
from tenants.settings import version
from tenants.texts import pick

SELECT_ABOVE = 8  # more options than this: a drop-down list rather than radio buttons
TEXT_LENGTHS = {"text": 500, "textarea": 5000, "email": 254, "url": 2000}
STANDARD_LABELS = {
    "first_name": _l("First name"), "last_name": _l("Last name"),
    "mobile_phone": _l("Mobile phone"), "city": _l("City"), "postal_code": _l("Postal code"),
    "job_function": _l("Job function"),
}
AUTOCOMPLETE = {
    "first_name": "given-name", "last_name": "family-name", "mobile_phone": "tel",
    "city": "address-level2", "postal_code": "postal-code", "job_function": "organization-title",
}


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

    ``signup``: an account is being created, so e-mail and an optional password are asked (a
    profile shows the e-mail without an input, and changes the password elsewhere).
    ``participant``: fill the fields in with their current values and answers.
    """
    if participant is None:
        return version.kept(db, "answer_form", (language, signup),
                            lambda: _form_class(db, language, signup=signup, participant=None))
    return _form_class(db, language, signup=signup, participant=participant)


def _detached(field: CustomField) -> CustomField:
    """A copy of ``field`` in no session: a class kept by the process outlives the session
    that read it (whose rollback would expire the originals)."""
    return CustomField(**{column.key: getattr(field, column.key)
                          for column in CustomField.__mapper__.column_attrs})


def _form_class(db: Session, language: str, *, signup: bool,
                participant: Participant | None) -> type[AnswersForm]:
    default = settings.languages(db)[0]
    modes = fields.standard_modes(db)
    custom = _askable(fields.active_fields(db))
    if participant is None:
        custom = [_detached(field) for field in custom]
    stored = answers_for(db, [participant.id]).get(participant.id, {}) if participant else {}
    attrs: dict[str, Any] = {}
    if signup:
        attrs["email"] = account_forms.email_field()
        attrs.update(account_forms.optional_password_fields())
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
    length = cast(String, Participant.__table__.c[key].type).length
    checks: list[Any] = [DataRequired(REQUIRED) if required else Optional(),
                         Length(max=length, message=TOO_LONG), no_control]
    field_class: type[Field] = StringField
    if key == "mobile_phone":
        field_class = TelField
        checks.append(phone)
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
    checks: list[Any] = [Gate(field)]
    kind = field.type
    common = {"description": help_text, "render_kw": render_kw}
    if kind in ("text", "textarea", "email", "url"):
        length = TEXT_LENGTHS[kind]
        render_kw["maxlength"] = length
        checks += [Length(max=length, message=TOO_LONG),
                   no_control if kind != "textarea" else no_control_multiline]
        if kind == "email":
            checks.append(account_forms.EmailAddress())
        elif kind == "url":
            checks.append(web_address)
        field_class = {"text": StringField, "textarea": TextAreaField, "email": EmailField,
                       "url": URLField}[kind]
        return field_class(label, validators=checks, filters=[_strip], default=value, **common)
    if kind == "phone":
        render_kw["maxlength"] = 30
        return TelField(label, validators=[*checks, phone], filters=[_strip], default=value,
                        **common)
    if kind == "number":
        low, high = parse_decimal(field.min_value), parse_decimal(field.max_value)
        render_kw.update({k: str(v) for k, v in (("min", low), ("max", high)) if v is not None})
        return NumberField(label, validators=[*checks, Bounds(low, high, language)],
                           places=None, default=parse_decimal(value), **common)
    if kind == "date":
        earliest, latest = parse_date(field.min_value), parse_date(field.max_value)
        render_kw.update({k: v.isoformat() for k, v in (("min", earliest), ("max", latest))
                          if v})
        return IsoDateField(label, validators=[*checks, Bounds(earliest, latest, language)],
                            default=parse_date(value), **common)
    if kind == "checkbox":
        return BooleanField(label, validators=checks, default=bool(value), **common)
    if kind == "country":
        return SelectField(label, choices=[], widget=CountrySelect(language),
                           validators=[*checks, InOptions(country_codes())],
                           validate_choice=False, default=value, **common)
    options = [SelectChoice(o["key"], pick(o["label"], language, default))
               for o in field.active_options()]
    keys = InOptions(option.value for option in options)
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
        if field.condition_value == fields.CHECKED:
            return _("Answer only if you ticked “%(question)s”.", question=question)
        return _("Answer only if you did not tick “%(question)s”.", question=question)
    option = next((o for o in source.options if o["key"] == field.condition_value), None)
    value = pick(option["label"], language, default) if option else field.condition_value
    return _("Answer only if you chose “%(option)s” for “%(question)s”.", option=value,
             question=question)
