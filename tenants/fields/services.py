"""Designing the registration form: which standard fields are asked, and the custom fields.

Rules kept here, whoever calls (views only parse what an admin typed):
- a field's type never changes, an option's key never changes;
- removing a field or an option that has answers archives it, so every stored answer keeps its
  meaning; only what nobody answered is deleted outright;
- a condition points at another active choice, multiple-choice or checkbox field, never at the
  field itself nor round in a circle, and a field others depend on cannot be removed;
- nothing the sensitive-data guard refuses is ever saved; what it warns about is saved only
  once the admin acknowledges the warning, and accessibility needs (health-adjacent) only
  with a purpose in every language of the label.
Every check runs before the first change, so a refused call has written nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, TypedDict

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from tenants import limits
from tenants.fields import guard
from tenants.fields.models import (
    CHOICE_TYPES,
    FIELD_TYPES,
    STANDARD_MODES,
    Answer,
    CustomField,
    StandardField,
)
from tenants.participants.models import STANDARD_FIELDS
from tenants.settings import services as settings
from tenants.settings import version  # noqa: F401 -- its listeners version every design change
from tenants.texts import Texts, pick

MAX_FIELDS = 100  # active custom fields in a form
MAX_OPTIONS = 100  # active options in a choice field
LABEL_LENGTH = 200
TEXT_LENGTH = 1000  # help texts and purposes
BOUNDED_TYPES = ("number", "date")
CONDITION_TYPES = ("choice", "multichoice", "checkbox")
CHECKED = "yes"  # the condition value meaning "the checkbox is ticked"
DIRECTIONS = ("up", "down")
# First and last names are asked unless the tenant says otherwise; the rest is opt-in.
STANDARD_DEFAULTS: dict[str, str] = {
    key: "required" if key in ("first_name", "last_name") else "off" for key in STANDARD_FIELDS}
MAX_FIELD_ID = 2**31 - 1  # larger ids do not exist, and SQLite cannot even bind some of them


class FieldError(ValueError):
    """A change refused for a reason the form cannot see; ``field_name`` is the form input
    the message belongs to ("" for the form as a whole)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.message = message


class SensitiveData(ValueError):
    """The guard refused the field's texts, or warned and the warning was not acknowledged:
    nothing is saved. ``findings`` are the refusals and the unacknowledged warnings."""

    def __init__(self, findings: list[guard.Finding]) -> None:
        super().__init__(", ".join(f.category for f in findings))
        self.findings = findings


class OptionInput(TypedDict):
    key: str | None  # None for a new option
    label: Texts


# --- standard fields -------------------------------------------------------------------------


def standard_modes(db: Session) -> dict[str, str]:
    """Each standard field's mode (off | optional | required), in form order."""
    modes = dict(STANDARD_DEFAULTS)
    for row in db.scalars(select(StandardField)):
        if row.key in modes and row.mode in STANDARD_MODES:
            modes[row.key] = row.mode
    return modes


def set_standard_modes(db: Session, modes: Mapping[str, str]) -> None:
    if any(key not in STANDARD_DEFAULTS or mode not in STANDARD_MODES
           for key, mode in modes.items()):
        raise ValueError("unknown standard field or mode")
    rows = {row.key: row for row in db.scalars(select(StandardField))}
    for key, mode in modes.items():
        if key in rows:
            rows[key].mode = mode
        else:
            db.add(StandardField(key=key, mode=mode))
    db.flush()


# --- reading custom fields -------------------------------------------------------------------


def active_fields(db: Session) -> list[CustomField]:
    """The form's custom fields in order (one query)."""
    return list(db.scalars(select(CustomField).where(CustomField.archived_at.is_(None))
                           .order_by(CustomField.position, CustomField.id)))


def get(db: Session, field_id: int) -> CustomField | None:
    """An active field of this tenant, or None."""
    if not 0 < field_id <= MAX_FIELD_ID:
        return None
    return db.scalar(select(CustomField).where(CustomField.id == field_id,
                                               CustomField.archived_at.is_(None)))


def has_answers(db: Session, field: CustomField) -> bool:
    return bool(db.scalar(select(exists().where(Answer.field_id == field.id))))


def findings(*, label: Texts, help: Texts, purpose: Texts,
             options: Iterable[OptionInput] = ()) -> list[guard.Finding]:
    """What the guard finds in every text of a field, in every language."""
    texts = [*label.values(), *help.values(), *purpose.values()]
    for option in options:
        texts.extend(option["label"].values())
    return guard.scan(texts)


def blocking(found: Iterable[guard.Finding], acknowledged: Collection[str]) -> list[guard.Finding]:
    """What stops a field from being saved: refusals, and warnings whose category the admin
    did not acknowledge."""
    return [f for f in found if f.verdict == guard.REFUSE or f.category not in acknowledged]


# --- changing custom fields ------------------------------------------------------------------


def create_field(db: Session, type: str, *, label: Texts, help: Texts | None = None,
                 purpose: Texts | None = None, required: bool = False,
                 options: Sequence[OptionInput] = (), min_value: str | None = None,
                 max_value: str | None = None, condition_field_id: int | None = None,
                 condition_value: str | None = None,
                 acknowledged: Collection[str] = ()) -> CustomField:
    """Add a field at the end of the form; raises FieldError or SensitiveData.

    ``acknowledged``: the guard's warning categories the admin acknowledged ("meal"…)."""
    if type not in FIELD_TYPES:
        raise FieldError("type", _("Choose a field type from the list."))
    fields = active_fields(db)
    limits.check("custom_fields", lambda: len(fields))
    if len(fields) >= MAX_FIELDS:
        raise FieldError("", _("A form holds at most %(max)d fields: remove one before adding "
                               "another.", max=MAX_FIELDS))
    field = CustomField(type=type, options=[], archived_at=None,
                        position=max((f.position for f in fields), default=0) + 1)
    values = _checked_values(db, field, fields, label=label, help=help or {},
                             purpose=purpose or {}, required=required, options=options,
                             min_value=min_value, max_value=max_value,
                             condition_field_id=condition_field_id,
                             condition_value=condition_value, acknowledged=acknowledged)
    for name, value in values.items():
        setattr(field, name, value)
    db.add(field)
    db.flush()
    return field


def update_field(db: Session, field: CustomField, *, label: Texts, help: Texts | None = None,
                 purpose: Texts | None = None, required: bool = False,
                 options: Sequence[OptionInput] = (), min_value: str | None = None,
                 max_value: str | None = None, condition_field_id: int | None = None,
                 condition_value: str | None = None,
                 acknowledged: Collection[str] = ()) -> CustomField:
    """Change everything but the type; raises FieldError or SensitiveData (``acknowledged``
    as for ``create_field``).

    ``options`` are the active options in their new order: a known key keeps its option (with
    new labels), no key adds one, and an active option left out is removed (archived when
    answers use it). Bounds apply to new answers only: stored answers are left as they are.
    """
    values = _checked_values(db, field, active_fields(db), label=label, help=help or {},
                             purpose=purpose or {}, required=required, options=options,
                             min_value=min_value, max_value=max_value,
                             condition_field_id=condition_field_id,
                             condition_value=condition_value, acknowledged=acknowledged)
    for name, value in values.items():
        if getattr(field, name) != value:
            setattr(field, name, value)
    db.flush()
    return field


def archive(db: Session, field: CustomField) -> bool:
    """Remove a field from the form: archived when it has answers (True), else deleted."""
    dependents = [f for f in active_fields(db) if f.condition_field_id == field.id]
    if dependents:
        raise FieldError("condition", _(
            "Other fields are shown depending on this one: %(fields)s. Change or remove their "
            "condition first.", fields=", ".join(f"“{_name(db, f)}”" for f in dependents)))
    if has_answers(db, field):
        field.archived_at = utcnow()
        db.flush()
        return True
    db.delete(field)
    db.flush()
    return False


def move(db: Session, field: CustomField, direction: str) -> None:
    """Swap the field with its neighbour among the active fields (first/last: no change)."""
    if direction not in DIRECTIONS:
        raise ValueError(direction)
    fields = active_fields(db)
    index = next(i for i, f in enumerate(fields) if f.id == field.id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(fields):
        return
    fields[index], fields[other] = fields[other], fields[index]
    # Renumbering (rather than swapping two numbers) also mends equal positions.
    for position, f in enumerate(fields, start=1):
        if f.position != position:
            f.position = position
    db.flush()


# --- checks ----------------------------------------------------------------------------------


def _name(db: Session, field: CustomField) -> str:
    return pick(field.label, str(get_locale() or "fr"), settings.languages(db)[0])


def _checked_values(db: Session, field: CustomField, fields: list[CustomField], *,
                    label: Texts, help: Texts, purpose: Texts, required: bool,
                    options: Sequence[OptionInput], min_value: str | None,
                    max_value: str | None, condition_field_id: int | None,
                    condition_value: str | None, acknowledged: Collection[str]
                    ) -> dict[str, Any]:
    """The new column values, once every rule holds (nothing is changed here)."""
    choice = field.type in CHOICE_TYPES
    found = findings(label=label, help=help, purpose=purpose, options=options if choice else ())
    if stopped := blocking(found, acknowledged):
        raise SensitiveData(stopped)
    if not any(label.values()):
        raise FieldError("label", _("Give the field a label."))
    if any(f.category in guard.NEEDS_PURPOSE for f in found):
        _check_purpose(label, purpose)
    bounded = field.type in BOUNDED_TYPES
    condition = _checked_condition(db, field, fields, condition_field_id, condition_value)
    return {
        "label": dict(label), "help": dict(help), "purpose": dict(purpose),
        "required": bool(required),
        "options": _merged_options(db, field, fields, options) if choice else [],
        "min_value": min_value if bounded else None,
        "max_value": max_value if bounded else None,
        "condition_field_id": condition[0], "condition_value": condition[1],
    }


def _check_purpose(label: Texts, purpose: Texts) -> None:
    """A health-adjacent field says why it asks in every language its label is written in."""
    for lang, text in label.items():
        if text and not (purpose.get(lang) or "").strip():
            raise FieldError(f"purpose-{lang}", _(
                "This field asks about accessibility needs, which may reveal health data: "
                "state its purpose in every language of its label (why you ask, and how the "
                "answer is used)."))


def _merged_options(db: Session, field: CustomField, fields: list[CustomField],
                    options: Sequence[OptionInput]) -> list[dict[str, Any]]:
    existing = {o["key"]: o for o in field.options or []}
    kept: list[dict[str, Any]] = []
    labels: set[tuple[str, str]] = set()
    for option in options:
        key = option["key"]
        if key is not None and (key not in existing or existing[key].get("archived")
                                or any(k["key"] == key for k in kept)):
            raise FieldError("options", _("The options of this field were changed meanwhile: "
                                          "reload the page and try again."))
        for lang, text in option["label"].items():
            if text and (lang, text.casefold()) in labels:
                raise FieldError("options", _("Two options are called “%(label)s”: give each "
                                              "option its own label.", label=text))
            labels.add((lang, text.casefold()))
        kept.append({"key": key or _new_key(existing, kept), "label": dict(option["label"]),
                     "archived": False})
    if not kept:
        raise FieldError("options", _("Add at least one option."))
    if len(kept) > MAX_OPTIONS:
        raise FieldError("options", _("A field has at most %(max)d options.", max=MAX_OPTIONS))
    kept_keys = {o["key"] for o in kept}
    removed = [o for key, o in existing.items() if not o.get("archived") and key not in kept_keys]
    if not removed:
        return kept + [o for o in field.options or [] if o.get("archived")]
    removed_keys = {o["key"] for o in removed}
    dependents = [f for f in fields if f.condition_field_id == field.id
                  and f.condition_value in removed_keys]
    if dependents:
        raise FieldError("options", _(
            "Other fields are shown depending on an option you removed: %(fields)s. Change "
            "their condition first.", fields=", ".join(f"“{_name(db, f)}”" for f in dependents)))
    answered = _answered_keys(db, field) & removed_keys
    # Options someone chose stay, archived, so their answers can still be read.
    return kept + [{**o, "archived": True} for o in field.options or []
                   if o.get("archived") or o["key"] in answered]


def _new_key(existing: Mapping[str, Any], kept: list[dict[str, Any]]) -> str:
    taken = set(existing) | {o["key"] for o in kept}
    while (key := secrets.token_hex(3)) in taken:
        continue
    return key


def _answered_keys(db: Session, field: CustomField) -> set[str]:
    """Option keys stored in this field's answers (a key, or a list of keys)."""
    keys: set[str] = set()
    for value in db.scalars(select(Answer.value).where(Answer.field_id == field.id)):
        if isinstance(value, str):
            keys.add(value)
        elif isinstance(value, list):
            keys.update(v for v in value if isinstance(v, str))
    return keys


def _checked_condition(db: Session, field: CustomField, fields: list[CustomField],
                       target_id: int | None, value: str | None
                       ) -> tuple[int | None, str | None]:
    if target_id is None:
        return None, None
    if field.id is not None and target_id == field.id:
        raise FieldError("condition", _("A field cannot depend on itself."))
    by_id = {f.id: f for f in fields}
    target = by_id.get(target_id)
    if target is None or target.type not in CONDITION_TYPES:
        raise FieldError("condition", _("Choose a field from the list."))
    values = {CHECKED} if target.type == "checkbox" else {
        o["key"] for o in target.active_options()}
    if value not in values:
        raise FieldError("condition", _("Choose a value from the list."))
    # Follow the target's own condition, and its target's…: meeting this field is a circle.
    seen: set[int] = set()
    current: CustomField | None = target
    while current is not None and current.condition_field_id is not None:
        if field.id is not None and current.condition_field_id == field.id:
            raise FieldError("condition", _(
                "“%(other)s” is itself shown depending on this field (directly or through other "
                "fields): the conditions would wait for each other.", other=_name(db, target)))
        seen.add(current.id)
        current = by_id.get(current.condition_field_id)
        if current is not None and current.id in seen:
            break
    return target_id, value
