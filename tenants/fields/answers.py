"""A participant's answers to the registration form: stored, and read back for pages and
exports (``answers_for``, ``answered_fields``, ``display_value``).

Answers are stored as JSON: text as a string, a number as the string of its decimal, a date as
its ISO string, a choice as its option key (a list of keys for multiple choice), a checkbox as a
boolean. Keys, never labels: renaming or archiving an option keeps every answer readable.

A condition holds when the controlling answer equals the option key, contains it for multiple
choice, or the box is ticked for "yes" (``fields.services.CHECKED``). The form that asks the
questions is ``answer_form``; the checks on each answer are ``checks``; which registration
each answer belongs to, and so when it goes, is ``belonging``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.db import table_of
from tenants.fields import belonging
from tenants.fields.checks import country_codes, parse_date, parse_decimal
from tenants.fields.models import Answer, CustomField
from tenants.fields.services import CHECKED
from tenants.participants import services as participants
from tenants.participants.models import Participant
from tenants.texts import pick


class FilledForm(Protocol):
    """What ``save_answers`` reads of a validated form (``answer_form.AnswersForm``, which
    imports this module)."""

    @property
    def standard(self) -> tuple[str, ...]: ...

    def answers(self) -> dict[int, Any]: ...

    def __getitem__(self, name: str) -> Any: ...


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


def add_answers(db: Session, participant_id: int, form: FilledForm,
                registration_id: int | None) -> None:
    """Store a validated form's answers for an account just created with the form's standard
    fields, which has no answer yet: one INSERT of every given answer, nothing read first,
    given for ``registration_id`` (the registration made with the form, if any:
    ``fields.belonging``)."""
    rows = [{"participant_id": participant_id, "field_id": field_id, "value": value,
             "registration_id": registration_id}
            for field_id, value in form.answers().items() if value is not None]
    if rows:
        db.execute(insert(table_of(Answer)), rows)


def save_answers(db: Session, participant: Participant, form: FilledForm) -> None:
    """Store a validated form: the standard fields asked, and one answer per custom field
    (a blank answer, or one to a question that does not apply, removes the stored one)."""
    values = form.answers()
    participants.update_profile(db, participant,
                                **{key: form[key].data or "" for key in form.standard})
    if not values:
        return
    existing = {answer.field_id: answer for answer in db.scalars(
        select(Answer).where(Answer.participant_id == participant.id,
                             Answer.field_id.in_(values)))}
    serving: list[int | None] = []  # read once, if an answer is given now

    def given_for() -> int | None:
        if not serving:
            serving.append(belonging.coming_registration(db, participant.id))
        return serving[0]

    for field_id, value in values.items():
        answer = existing.get(field_id)
        if value is None:
            if answer is not None:
                db.delete(answer)
        elif answer is None:
            db.add(Answer(participant_id=participant.id, field_id=field_id, value=value,
                          registration_id=given_for()))
        elif answer.value != value:
            answer.value, answer.registration_id = value, given_for()
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
    if kind == "date" and (day := parse_date(value)) is not None:
        return format_date(day, "long", locale=language)
    if kind == "number" and (number := parse_decimal(value)) is not None:
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
