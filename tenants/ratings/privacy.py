"""The personal data of reviews: a participant's ratings and comments, and the reports made
about reviews (declared for ``tenants.privacy``; see ``tenants.personal_data``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from tenants.events.models import Event
from tenants.participants.models import Participant
from tenants.personal_data import PersonalData, Step, after, each, when
from tenants.ratings import services as ratings
from tenants.ratings.models import Rating, RatingReport
from tenants.retention.services import Rule
from tenants.texts import pick


def _export(db: Session, participant: Participant, language: str, default: str,
            ) -> list[dict[str, Any]]:
    return [{"event": pick(event.title, language, default), "stars": rating.stars,
             "comment": rating.comment, "status": rating.status,
             "posted_at": when(rating.created_at)}
            for rating, event in db.execute(
                select(Rating, Event).join(Event, Event.id == Rating.event_id)
                .where(Rating.participant_id == participant.id).order_by(Rating.created_at))]


def _anonymise(db: Session, participant: Participant) -> int:
    # The stars stay in the averages as "Former participant"; the comment goes.
    return ratings.erase_author(db, participant.id)


# Anonymised by the sweep: the comment goes and the author is unlinked; stars and status stay,
# so the maintained counts (rating_counts) and every average are unchanged.
_named = or_(Rating.comment != "", Rating.participant_id.is_not(None))


def _due(rule: Rule, now: datetime) -> Select:
    return (select(Rating.id).where(_named, Rating.created_at < rule.cutoff(now))
            .order_by(Rating.id))


def _strip(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    db.execute(update(Rating).where(Rating.id.in_(ids)).values(comment="", participant_id=None)
               .execution_options(synchronize_session=False))


def _next(db: Session, rule: Rule) -> datetime | None:
    return after(db.scalar(select(func.min(Rating.created_at)).where(_named)), rule)


PERSONAL_DATA = (
    PersonalData(
        "ratings",
        (Rating.participant_id, Rating.comment, Rating.created_at, Rating.edited_at,
         Rating.moderated_by),
        retention=("rating_comments",), export=_export, anonymise=_anonymise,
        steps=(Step("rating_comments", "anonymised", _l("anonymised"),
                    _due, each(_strip), _next),)),
    PersonalData(
        "rating_reports",
        (RatingReport.rating_id, RatingReport.reporter_key, RatingReport.details),
        kept="with the review reported (reviews are anonymised, never deleted: for the life "
             "of the space); the reporter is a keyed hash of their address, tied to no "
             "account"),
)
