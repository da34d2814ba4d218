"""The personal data of the registration form: a participant's answers (declared for
``tenants.privacy``; see ``tenants.personal_data``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from core.db import rowcount
from tenants.fields.answers import answered_fields, display_value
from tenants.fields.belonging import clock
from tenants.fields.models import Answer
from tenants.participants.models import Participant
from tenants.personal_data import PersonalData, Step, after, each
from tenants.retention.services import Rule
from tenants.texts import pick


def _export(db: Session, participant: Participant, language: str, default: str,
            ) -> list[dict[str, Any]]:
    return [{"field": pick(field.label, language, default),
             "value": display_value(field, value, language, default)}
            for field, value in answered_fields(db, participant.id)]


def _erase(db: Session, participant: Participant) -> int:
    return rowcount(db.execute(delete(Answer).where(Answer.participant_id == participant.id)))


# PRODUCT.md, "Retention and deletion": answers go ``form_answers`` months after the end of
# the event of the registration they belong to (``belonging.clock``; an answer given for no
# registration counts from its last change), or with that registration if it goes first.
def _due(rule: Rule, now: datetime) -> Select:
    return select(Answer.id).where(clock() < rule.cutoff(now)).order_by(Answer.id)


def _delete(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    db.execute(delete(Answer).where(Answer.id.in_(ids)))


def _next(db: Session, rule: Rule) -> datetime | None:
    return after(db.scalar(select(func.min(clock()))), rule)


PERSONAL_DATA = (
    PersonalData(
        "answers", (Answer.participant_id, Answer.registration_id, Answer.value,
                    Answer.updated_at),
        retention=("form_answers",), export=_export, erase=_erase,
        steps=(Step("form_answers", "deleted", _l("form answers deleted"),
                    _due, each(_delete), _next),)),
)
