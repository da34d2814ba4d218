"""Forms of the registration form designer: standard field modes and the custom field editor.

The editor's inputs depend on the tenant's languages and on the field's type (fixed at
creation), so its class is built per request by ``field_form``. Choice fields get a list of
option rows: each known option carries its key in a hidden input, blank rows add options, and
a ticked "remove" box removes one. The form checks what it can see; rules that need the
database (keys, duplicates, conditions, the guard) are the services'.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import Length, Optional, ValidationError

from tenants.fields import services
from tenants.fields.answer_form import STANDARD_LABELS
from tenants.fields.models import CHOICE_TYPES, STANDARD_MODES, CustomField
from tenants.participants.models import STANDARD_FIELDS
from tenants.texts import Texts, clean, texts_form

TYPE_LABELS = {
    "text": _l("Short text"), "textarea": _l("Long text"), "number": _l("Number"),
    "date": _l("Date"), "choice": _l("Single choice"), "multichoice": _l("Multiple choice"),
    "checkbox": _l("Checkbox"), "email": _l("E-mail address"), "phone": _l("Phone number"),
    "url": _l("Web address"), "country": _l("Country"),
}
MODE_LABELS = {"off": _l("Not asked"), "optional": _l("Optional"), "required": _l("Required")}
EXTRA_OPTION_ROWS = 3  # blank rows under the options, to add some without JavaScript
# Rows read from a request: enough for every option plus blank rows; more are dropped, and
# more than MAX_OPTIONS filled rows are refused anyway.
MAX_OPTION_ROWS = 2 * services.MAX_OPTIONS
NUMBER_LIMIT = Decimal(10) ** 15
MAX_DECIMALS = 10


# --- standard fields -------------------------------------------------------------------------


def standard_form(modes: Mapping[str, str] | None = None) -> FlaskForm:
    """One select per standard field; ``modes`` are the current ones (None: read the request)."""
    attrs = {key: SelectField(STANDARD_LABELS[key],
                              choices=[SelectChoice(mode, MODE_LABELS[mode])
                                       for mode in STANDARD_MODES])
             for key in STANDARD_FIELDS}
    form_class = type("StandardForm", (FlaskForm,), attrs)
    return form_class(data=dict(modes) if modes is not None else None)


# --- custom field editor ---------------------------------------------------------------------


def parse_number(text: str) -> Decimal:
    """A bound typed by an admin ("2.5" or "2,5"); ValueError if it is not a usable number."""
    try:
        number = Decimal(text.strip().replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise ValueError(text) from None
    if (not number.is_finite() or abs(number) >= NUMBER_LIMIT
            or number.as_tuple().exponent < -MAX_DECIMALS):  # type: ignore[operator]
        raise ValueError(text)
    return number


def number_text(number: Decimal) -> str:
    """How a bound is stored: plain digits, no exponent, no trailing zeros."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _number(form: Form, field: Field) -> None:
    if not field.data or len(field.data) > 40:
        return  # empty is allowed; too long is Length's message
    try:
        parse_number(field.data)
    except ValueError:
        raise ValidationError(_l("Enter a number, e.g. 10 or 2.5 (at most 15 digits before "
                                 "the decimal point and 10 after).")) from None


def _option_form(languages: tuple[str, ...]) -> type:
    return type("OptionForm", (Form,), {
        "key": HiddenField(validators=[Length(max=20)]),
        "label": FormField(texts_form(languages, max_length=services.LABEL_LENGTH),
                           label=_l("Option")),
        "remove": BooleanField(_l("Remove this option")),
    })


def _row_is_blank(row: Form) -> bool:
    return not row.key.data and not any((text or "").strip()
                                        for text in (row.label.data or {}).values())


class FieldForm(FlaskForm):
    """What every type has; ``field_form`` adds texts, bounds and options for the type."""

    required = BooleanField(_l("An answer is required"))
    # The guard's warning categories the admin acknowledged, comma-separated: the template
    # renders it as one checkbox whose value names the warnings shown.
    acknowledge = StringField(validators=[Optional(), Length(max=200)])
    condition = SelectField(
        _l("Show this field"), choices=[SelectChoice("", _l("Always"))], default="",
        description=_l(
            "A condition can use a single choice, multiple choice or checkbox field."))

    def __init__(self, *args: Any, field_type: str, languages: tuple[str, ...],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_type = field_type
        self.languages = languages
        # Refusals from the services that belong to no single input ("" or "options").
        self.problems: dict[str, list[str]] = {}

    @property
    def has_options(self) -> bool:
        return self.field_type in CHOICE_TYPES

    @property
    def bounded(self) -> bool:
        return self.field_type in services.BOUNDED_TYPES

    def option_rows(self) -> list[Form]:
        return [entry.form for entry in self["options"].entries] if self.has_options else []

    def tidy_options(self, extra: int = EXTRA_OPTION_ROWS) -> None:
        """Drop blank rows, then add ``extra`` blank ones at the end (rendering only)."""
        if not self.has_options:
            return
        options = self["options"]
        options.entries = [entry for entry in options.entries if not _row_is_blank(entry.form)]
        for _row in range(extra):
            options.append_entry()

    def add_option_row(self) -> None:
        if self.has_options and len(self["options"].entries) < MAX_OPTION_ROWS:
            self["options"].append_entry()

    def refuse(self, name: str, message: str) -> None:
        """Show a refusal from the services next to the input it concerns."""
        base, _sep, language = name.partition("-")
        if name == "condition":
            self.condition.errors = [*self.condition.errors, message]
        elif base == "purpose" and language in self.languages:  # "purpose-en"
            text = self["purpose"][language]
            text.errors = [*text.errors, message]
        else:
            self.problems.setdefault(name if name == "options" else "", []).append(message)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.bounded:
            valid = self._check_bounds() and valid
        if self.has_options:
            valid = self._check_options() and valid
        return valid

    def _check_bounds(self) -> bool:
        low, high = self["min_value"], self["max_value"]
        if low.errors or high.errors or not low.data or not high.data:
            return True
        if self.field_type == "number":
            in_order = parse_number(low.data) <= parse_number(high.data)
        else:
            in_order = low.data <= high.data
        if not in_order:
            high.errors.append(_l("The maximum must not be smaller than the minimum."))
        return in_order

    def _check_options(self) -> bool:
        default = self.languages[0]
        filled = 0
        valid = True
        for row in self.option_rows():
            if _row_is_blank(row) or row.remove.data:
                continue
            filled += 1
            text = row.label[default]
            if not (text.data or "").strip():
                text.errors = [*text.errors, _l("Give this option a label, or remove it.")]
                valid = False
        if filled > services.MAX_OPTIONS:
            self.problems.setdefault("options", []).append(
                _l("A field has at most %(max)d options.", max=services.MAX_OPTIONS))
            valid = False
        return valid

    def values(self) -> dict[str, Any]:
        """The validated form as arguments for ``services.create_field``/``update_field``."""
        target, _sep, value = (self.condition.data or "").partition(":")
        low = high = None
        if self.bounded:
            low, high = (self._bound(self["min_value"].data), self._bound(self["max_value"].data))
        return {
            **self.texts(),
            "required": bool(self.required.data),
            "min_value": low, "max_value": high,
            "condition_field_id": int(target) if target else None,
            "condition_value": value if target else None,
            "acknowledged": self.acknowledged(),
        }

    def acknowledged(self) -> set[str]:
        """The warning categories whose checkbox was ticked."""
        return {part for part in (self.acknowledge.data or "").split(",") if part}

    def texts(self) -> dict[str, Any]:
        """Every text typed, for the guard, even when the form is not valid."""
        return {"label": self._texts("label"), "help": self._texts("help"),
                "purpose": self._texts("purpose"), "options": self.options_input()}

    def options_input(self) -> list[services.OptionInput]:
        return [{"key": row.key.data or None, "label": self._clean(row.label.data)}
                for row in self.option_rows() if not _row_is_blank(row) and not row.remove.data]

    def _texts(self, name: str) -> Texts:
        return self._clean(self[name].data)

    def _clean(self, data: object) -> Texts:
        return clean(data if isinstance(data, dict) else {}, self.languages)

    def _bound(self, data: object) -> str | None:
        if not data:
            return None
        if isinstance(data, date):
            return data.isoformat()
        return number_text(parse_number(str(data)))


def condition_choices(fields: list[CustomField], field: CustomField | None,
                      tenant_text: Callable[[Texts], str]) -> list[SelectChoice]:
    """The choices of "Show this field": always, or for each other field a condition can use,
    each value it can take ("<field id>:<option key>", or "<field id>:yes" for a checkbox)."""
    choices = [SelectChoice("", _("Always"))]
    for other in fields:
        if other.type not in services.CONDITION_TYPES or (field and other.id == field.id):
            continue
        name = tenant_text(other.label)
        if other.type == "checkbox":
            choices.append(SelectChoice(f"{other.id}:{services.CHECKED}",
                                        _("Only if “%(field)s” is ticked", field=name)))
            continue
        for option in other.active_options():
            words = {"field": name, "option": tenant_text(option["label"])}
            choices.append(SelectChoice(
                f"{other.id}:{option['key']}",
                _("Only if “%(field)s” is “%(option)s”", **words) if other.type == "choice"
                else _("Only if “%(field)s” includes “%(option)s”", **words)))
    return choices


def field_form(languages: tuple[str, ...], field_type: str, *, field: CustomField | None = None,
               conditions: list[SelectChoice]) -> FieldForm:
    """The editor for a new field of ``field_type``, or for ``field``; reads a POST request."""
    default = languages[0]
    attrs: dict[str, Any] = {
        "label": FormField(texts_form(languages, required=default,
                                      max_length=services.LABEL_LENGTH), label=_l("Label")),
        "help": FormField(texts_form(languages, max_length=services.TEXT_LENGTH,
                                     multiline=True), label=_l("Help text")),
        "purpose": FormField(texts_form(languages, required=default,
                                        max_length=services.TEXT_LENGTH, multiline=True),
                             label=_l("Purpose")),
    }
    if field_type == "number":
        attrs["min_value"] = StringField(_l("Smallest number accepted"), filters=[_strip],
                                         validators=[Optional(), Length(max=40), _number])
        attrs["max_value"] = StringField(_l("Largest number accepted"), filters=[_strip],
                                         validators=[Optional(), Length(max=40), _number])
    elif field_type == "date":
        message = _l("Enter a date, e.g. 2031-01-15.")
        attrs["min_value"] = DateField(_l("Earliest date accepted"), validators=[Optional()],
                                       invalid_value_message=message)
        attrs["max_value"] = DateField(_l("Latest date accepted"), validators=[Optional()],
                                       invalid_value_message=message)
    if field_type in CHOICE_TYPES:
        attrs["options"] = FieldList(FormField(_option_form(languages)),
                                     max_entries=MAX_OPTION_ROWS)
    form_class = type("CustomFieldForm", (FieldForm,), attrs)
    data = _initial(field) if field is not None else None
    form = form_class(data=data, field_type=field_type, languages=languages)
    form.condition.choices = conditions
    return form


def _initial(field: CustomField) -> dict[str, Any]:
    data: dict[str, Any] = {
        "label": field.label, "help": field.help or {}, "purpose": field.purpose or {},
        "required": field.required,
        "condition": (f"{field.condition_field_id}:{field.condition_value}"
                      if field.condition_field_id else ""),
        "options": [{"key": o["key"], "label": o["label"]} for o in field.active_options()],
    }
    if field.type == "date":
        data.update({name: date.fromisoformat(value) if value else None
                     for name, value in (("min_value", field.min_value),
                                         ("max_value", field.max_value))})
    else:
        data.update(min_value=field.min_value, max_value=field.max_value)
    return data
