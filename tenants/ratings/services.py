"""Rating events, moderating ratings, and the figures shown about them.

Every moderation or edit is one conditional UPDATE on the status and stars it read, so a review
hidden by a moderator stays hidden whatever its author sends meanwhile, and ``rating_counts``
(ratings per event, status and stars) moves with each change, exactly: the pages read their
averages there, and never load more ratings than they list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.db import rowcount
from core.jobs import enqueue
from core.web.pagination import Page, paginate
from tenants.db import current_slug
from tenants.events.models import Event
from tenants.participants.models import Participant
from tenants.ratings import tasks
from tenants.ratings.models import MAX_COMMENT, Rating, RatingCount, RatingReport
from tenants.registration.models import Registration
from tenants.settings import services as settings

# Below this many ratings, no average, count or distribution is shown: it would tell who
# gave which stars.
THRESHOLD = 5
PAGE_SIZE = 10
MAX_PAGE = 1000
REPORTS_PER_HOUR = 5  # per reporter (keyed hash of the client address), across ratings
REPORT_REASONS = ("offensive", "false", "personal_data", "spam", "other")
# Each follows an index of ``ratings`` (forwards or backwards): equal stars, newest first when
# the highest come first, oldest first when the lowest do.
ORDERS = {
    "newest": (Rating.created_at.desc(), Rating.id.desc()),
    "highest": (Rating.stars.desc(), Rating.created_at.desc(), Rating.id.desc()),
    "lowest": (Rating.stars, Rating.created_at, Rating.id),
}
# An HTML tag or comment opener: comments are plain text, and saying so beats a silent mangle.
# Like browsers, a "<" followed by a space ("a < b") is not a tag.
MARKUP = re.compile(r"</?[a-zA-Z!?]")


class RatingError(Exception):
    """A rating that cannot be made or changed; ``code`` names the reason for the UI."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        # not_rateable | not_ended | window_closed | not_attended | not_confirmed |
        # already_rated | edit_closed | hidden | stars | comment | markup | rate_limited
        self.code = code


# --- counts ---------------------------------------------------------------------------------


def _count(db: Session, event_id: int, status: str, stars: int, delta: int) -> None:
    """Add ``delta`` to the event's ratings of this status and stars."""
    key = (RatingCount.event_id == event_id, RatingCount.status == status,
           RatingCount.stars == stars)
    if rowcount(db.execute(update(RatingCount).where(*key)
                           .values(ratings=RatingCount.ratings + delta))):
        return
    try:  # the first of its kind for this event
        with db.begin_nested():
            db.execute(insert(RatingCount).values(event_id=event_id, status=status, stars=stars,
                                                  ratings=delta))
    except IntegrityError:  # another request inserted it meanwhile: add to theirs
        db.execute(update(RatingCount).where(*key).values(ratings=RatingCount.ratings + delta))


def _change(db: Session, rating: Rating, allowed: Sequence[str], **values: object) -> bool:
    """Apply ``values`` if the rating still has the status (one of ``allowed``) and stars this
    request read, moving its count along; re-read and retry after a concurrent change. False
    once its status is not allowed any more."""
    for _attempt in range(3):
        old_status, old_stars = rating.status, rating.stars
        if old_status not in allowed:
            return False
        result = db.execute(
            update(Rating).where(Rating.id == rating.id, Rating.status == old_status,
                                 Rating.stars == old_stars)
            .values(**values).execution_options(synchronize_session=False))
        if rowcount(result) == 1:
            for key, value in values.items():
                set_committed_value(rating, key, value)
            if (rating.status, rating.stars) != (old_status, old_stars):
                _count(db, rating.event_id, old_status, old_stars, -1)
                _count(db, rating.event_id, rating.status, rating.stars, +1)
            return True
        db.refresh(rating, ["status", "stars"])  # changed meanwhile: read it again
    return False


def recount(db: Session, event_id: int) -> None:
    """Rebuild an event's counts from its ratings (data written around the services: imports,
    demo data, tests)."""
    db.execute(delete(RatingCount).where(RatingCount.event_id == event_id))
    rows = db.execute(select(Rating.status, Rating.stars, func.count())
                      .where(Rating.event_id == event_id).group_by(Rating.status, Rating.stars))
    values = [{"event_id": event_id, "status": status, "stars": stars, "ratings": n}
              for status, stars, n in rows]
    if values:
        db.execute(insert(RatingCount), values)


# --- rating ---------------------------------------------------------------------------------


def check_input(stars: object, comment: str) -> str:
    """The comment, trimmed, if ``stars`` and ``comment`` may be stored; RatingError if not."""
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise RatingError("stars")
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise RatingError("comment")
    if MARKUP.search(comment):
        raise RatingError("markup")
    return comment


def for_event(db: Session, event_id: int, participant_id: int) -> Rating | None:
    return db.scalar(select(Rating).where(Rating.event_id == event_id,
                                          Rating.participant_id == participant_id))


def rating_deadline(db: Session, event: Event) -> datetime:
    return event.ends_at + timedelta(days=settings.get(db).ratings_window_days)


def edit_deadline(db: Session, rating: Rating) -> datetime:
    return rating.created_at + timedelta(days=settings.get(db).ratings_edit_days)


def eligibility(db: Session, event: Event, participant: Participant,
                now: datetime | None = None) -> str | None:
    """Why ``participant`` may not rate ``event`` now (a RatingError code), or None."""
    now = now or utcnow()
    if event.status != "published":
        return "not_rateable"
    if now < event.ends_at:
        return "not_ended"
    if now > rating_deadline(db, event):
        return "window_closed"
    registration = db.scalar(select(Registration).where(
        Registration.event_id == event.id, Registration.participant_id == participant.id))
    if registration is None or registration.attended_at is None:
        if settings.get(db).ratings_raters == "attended":
            return "not_attended"
        if registration is None or registration.status != "confirmed":
            return "not_confirmed"
    return None


def _status_for(db: Session, comment: str) -> str:
    """Published at once, or held for a moderator, per the tenant's settings."""
    current = settings.get(db)
    held = current.ratings_premoderate_comments if comment else not (
        current.ratings_autopublish_stars)
    return "pending" if held else "published"


def rate(db: Session, event: Event, participant: Participant, stars: object,
         comment: str) -> Rating:
    """Post ``participant``'s rating of ``event``; RatingError (nothing stored) if refused."""
    comment = check_input(stars, comment)
    refused = eligibility(db, event, participant)
    if refused:
        raise RatingError(refused)
    if for_event(db, event.id, participant.id) is not None:
        raise RatingError("already_rated")
    rating = Rating(event_id=event.id, participant_id=participant.id, stars=stars,
                    comment=comment, status=_status_for(db, comment), created_at=utcnow())
    try:
        with db.begin_nested():  # the same person posting twice at once: one of them wins
            db.add(rating)
            db.flush()
    except IntegrityError:
        raise RatingError("already_rated") from None
    _count(db, event.id, rating.status, stars, +1)  # type: ignore[arg-type]
    return rating


def edit(db: Session, rating: Rating, stars: object, comment: str) -> Rating:
    """The author changes their rating, within the edit window; a hidden one stays hidden."""
    comment = check_input(stars, comment)
    if rating.status == "hidden":
        raise RatingError("hidden")
    now = utcnow()
    if now > edit_deadline(db, rating):
        raise RatingError("edit_closed")
    # A moderator hiding it meanwhile wins, and the edit is refused.
    if not _change(db, rating, ("pending", "published"), stars=stars, comment=comment,
                   status=_status_for(db, comment), edited_at=now):
        raise RatingError("hidden")
    return rating


# --- what pages show ------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Published ratings of an event (or of the tenant): shown only from THRESHOLD ratings."""

    count: int = 0
    total: int = 0
    distribution: dict[int, int] = field(default_factory=dict)  # stars → ratings
    hidden: int = 0  # reviews hidden by moderators

    @property
    def shown(self) -> bool:
        return self.count >= THRESHOLD

    @property
    def average(self) -> float:
        return self.total / self.count if self.count else 0.0


def _summary(rows: Sequence[tuple[str, int, int]]) -> Summary:
    distribution = {stars: 0 for stars in range(1, 6)}
    hidden = 0
    for status, stars, n in rows:
        if status == "published":
            distribution[stars] += n
        elif status == "hidden":
            hidden += n
    return Summary(count=sum(distribution.values()),
                   total=sum(stars * n for stars, n in distribution.items()),
                   distribution=distribution, hidden=hidden)


def summary(db: Session, event_id: int) -> Summary:
    """One statement reading at most 15 rows, whatever the number of ratings."""
    return _summary(list(db.execute(
        select(RatingCount.status, RatingCount.stars, RatingCount.ratings)
        .where(RatingCount.event_id == event_id))))


def tenant_summary(db: Session) -> Summary:
    return _summary(list(db.execute(
        select(RatingCount.status, RatingCount.stars, func.sum(RatingCount.ratings))
        .group_by(RatingCount.status, RatingCount.stars))))


def _counts_of(db: Session, event_ids: list[int]) -> dict[int, list[tuple[str, int, int]]]:
    rows: dict[int, list[tuple[str, int, int]]] = {event_id: [] for event_id in event_ids}
    if event_ids:
        for event_id, status, stars, n in db.execute(
                select(RatingCount.event_id, RatingCount.status, RatingCount.stars,
                       RatingCount.ratings).where(RatingCount.event_id.in_(event_ids))):
            rows[event_id].append((status, stars, n))
    return rows


@dataclass(frozen=True)
class Review:
    rating: Rating
    author: str  # first name and initial; "" once the author's account is erased


def reviews(db: Session, event_id: int, order: str, page: int) -> tuple[list[Review], bool]:
    """One page of an event's listed reviews, and whether there is a next page.

    Listed: published ratings with a comment, and those whose author was erased ("Former
    participant"); other star-only ratings count in the average alone.
    """
    offset = (min(max(page, 1), MAX_PAGE) - 1) * PAGE_SIZE
    rows = db.execute(
        select(Rating, Participant.first_name, Participant.last_name)
        .outerjoin(Participant, Participant.id == Rating.participant_id)
        .where(Rating.event_id == event_id, Rating.status == "published",
               or_(Rating.comment != "", Rating.participant_id.is_(None)))
        .order_by(*ORDERS.get(order, ORDERS["newest"]))
        .limit(PAGE_SIZE + 1).offset(offset)).all()
    found = [Review(rating, _public_name(first, last) if rating.participant_id else "")
             for rating, first, last in rows]
    return found[:PAGE_SIZE], len(found) > PAGE_SIZE


def _public_name(first: str | None, last: str | None) -> str:
    initial = f" {last[:1]}." if last else ""
    return f"{first or ''}{initial}".strip()


def may_read(db: Session, *, staff: bool, participant: Participant | None) -> bool:
    """Whether this reader sees reviews, per the tenant's visibility setting."""
    visibility = settings.get(db).ratings_visibility
    return staff or visibility == "public" or (
        visibility == "participants" and participant is not None)


def events_summaries(db: Session, limit: int, offset: int = 0,
                     ) -> list[tuple[Event, Summary]]:
    """Published events that have ratings, latest first, each with its summary (two
    statements)."""
    rated = (select(RatingCount.event_id).where(RatingCount.status == "published",
                                                RatingCount.ratings > 0).scalar_subquery())
    found = list(db.scalars(select(Event).where(Event.id.in_(rated), Event.status == "published")
                            .order_by(Event.ends_at.desc(), Event.id.desc())
                            .limit(limit).offset(offset)))
    rows = _counts_of(db, [event.id for event in found])
    return [(event, _summary(rows[event.id])) for event in found]


@dataclass(frozen=True)
class EventStats:
    event: Event
    summary: Summary
    attendees: int

    @property
    def response_rate(self) -> float | None:
        """Ratings per attendee, or None when either is below the threshold."""
        if not self.summary.shown or self.attendees < THRESHOLD:
            return None
        return self.summary.count / self.attendees


def statistics(db: Session, limit: int, offset: int = 0) -> list[EventStats]:
    """Ended events, latest first: their rating distribution and response rate (three
    statements)."""
    found = list(db.scalars(select(Event).where(Event.status == "published",
                                                Event.ends_at <= utcnow())
                            .order_by(Event.ends_at.desc(), Event.id.desc())
                            .limit(limit).offset(offset)))
    ids = [event.id for event in found]
    rows = _counts_of(db, ids)
    attendees: dict[int, int] = {}
    if ids:
        attendees = dict(db.execute(
            select(Registration.event_id, func.count())
            .where(Registration.event_id.in_(ids), Registration.attended_at.is_not(None))
            .group_by(Registration.event_id)).all())
    return [EventStats(event, _summary(rows[event.id]), attendees.get(event.id, 0))
            for event in found]


# --- reports and moderation -----------------------------------------------------------------


def report(db: Session, rating: Rating, reporter_key: str, reason: str, details: str) -> bool:
    """Report a rating to the moderators; False if this reporter already reported it.

    RatingError("rate_limited") past REPORTS_PER_HOUR reports by the same reporter.
    """
    if reason not in REPORT_REASONS or len(details) > 500 or MARKUP.search(details):
        raise RatingError("comment")
    since = utcnow() - timedelta(hours=1)
    recent = db.scalar(select(func.count()).select_from(RatingReport).where(
        RatingReport.reporter_key == reporter_key, RatingReport.created_at >= since)) or 0
    if recent >= REPORTS_PER_HOUR:
        raise RatingError("rate_limited")
    try:
        with db.begin_nested():
            db.add(RatingReport(rating_id=rating.id, reporter_key=reporter_key, reason=reason,
                                details=details.strip(), created_at=utcnow()))
            db.flush()
    except IntegrityError:
        return False
    return True


def get(db: Session, rating_id: int) -> Rating | None:
    return db.get(Rating, rating_id)


def with_event(db: Session, rating_id: int) -> Rating | None:
    """A rating with its event and author (one statement): moderation rows."""
    return db.scalar(
        select(Rating).join(Rating.event).outerjoin(Rating.participant)
        .options(contains_eager(Rating.event), contains_eager(Rating.participant))
        .where(Rating.id == rating_id))


@dataclass(frozen=True)
class QueueItem:
    rating: Rating
    reports: dict[str, int]  # reason → open reports


def queue(db: Session, page: int = 1) -> Page[QueueItem]:
    """A page of the ratings awaiting a moderator (held, or reported and still shown), oldest
    first, with their events, authors and open reports, and how many await in all (two
    statements)."""
    reported = (select(RatingReport.rating_id).where(RatingReport.resolved_at.is_(None))
                .scalar_subquery())
    found = paginate(db, (
        select(Rating).join(Rating.event).outerjoin(Rating.participant)
        .options(contains_eager(Rating.event), contains_eager(Rating.participant))
        .where(or_(Rating.status == "pending",
                   (Rating.status == "published") & Rating.id.in_(reported)))
        .order_by(Rating.created_at, Rating.id)), page)
    ratings: list[Rating] = found.items
    reports: dict[int, dict[str, int]] = {rating.id: {} for rating in ratings}
    if ratings:
        for rating_id, reason, n in db.execute(
                select(RatingReport.rating_id, RatingReport.reason, func.count())
                .where(RatingReport.rating_id.in_(list(reports)),
                       RatingReport.resolved_at.is_(None))
                .group_by(RatingReport.rating_id, RatingReport.reason)):
            reports[rating_id][reason] = n
    return replace(found, items=[QueueItem(rating, reports[rating.id]) for rating in ratings])


def queue_item(db: Session, rating_id: int) -> QueueItem | None:
    """One rating that a moderator may still act on (not hidden), with its open reports."""
    rating = with_event(db, rating_id)
    if rating is None or rating.status == "hidden":
        return None
    reports = dict(db.execute(
        select(RatingReport.reason, func.count())
        .where(RatingReport.rating_id == rating_id, RatingReport.resolved_at.is_(None))
        .group_by(RatingReport.reason)).all())
    return QueueItem(rating, reports)


def _resolve_reports(db: Session, rating_id: int) -> None:
    db.execute(update(RatingReport).where(RatingReport.rating_id == rating_id,
                                          RatingReport.resolved_at.is_(None))
               .values(resolved_at=utcnow()))


def _moderate(db: Session, rating: Rating, from_: Sequence[str], **values: object) -> bool:
    if not _change(db, rating, from_, **values):
        return False
    _resolve_reports(db, rating.id)
    db.flush()
    return True


def approve(db: Session, rating: Rating, member_id: int | None) -> bool:
    """Publish a held rating, or keep a reported one (its reports are closed)."""
    return _moderate(db, rating, ("pending", "published"), status="published",
                     moderated_by=member_id)


def hide(db: Session, rating: Rating, reason: str, member_id: int | None) -> bool:
    """Hide a rating for good, with a reason e-mailed to its author (after commit)."""
    reason = reason.strip()
    if not reason or len(reason) > 500 or MARKUP.search(reason):
        raise RatingError("comment")
    if not _moderate(db, rating, ("pending", "published"), status="hidden",
                     hidden_reason=reason, hidden_at=utcnow(), moderated_by=member_id):
        return False
    if rating.participant_id is not None:

        enqueue(tasks.send_hidden_email, current_slug(), rating.id)
    return True


def erase_author(db: Session, participant_id: int) -> int:
    """The author's account is erased: their stars stay in the aggregates, the author is gone
    ("Former participant") and the comment is removed. Returns how many ratings."""
    result = db.execute(update(Rating).where(Rating.participant_id == participant_id)
                        .values(participant_id=None, comment="")
                        .execution_options(synchronize_session=False))
    return rowcount(result)


def rating_links(db: Session, participant_id: int, registrations: Sequence[Registration],
                 now: datetime | None = None) -> dict[int, str]:
    """For "My registrations": per event of these registrations (their events loaded),
    ``rated`` when the participant has rated it, ``rate`` when they may rate it now (the
    rules of ``eligibility``: a published event that ended, within the window, attended, or
    confirmed where the tenant lets confirmed registrants rate). Two statements."""
    now = now or utcnow()
    events = [r for r in registrations if r.event.status == "published" and r.event.ends_at <= now]
    if not events:
        return {}
    rated = set(db.scalars(select(Rating.event_id).where(
        Rating.participant_id == participant_id,
        Rating.event_id.in_([r.event_id for r in events]))))
    tenant = settings.get(db)
    window = timedelta(days=tenant.ratings_window_days)
    links: dict[int, str] = {}
    for registration in events:
        if registration.event_id in rated:
            links[registration.event_id] = "rated"
        elif now <= registration.event.ends_at + window and (
                registration.attended_at is not None
                or (tenant.ratings_raters == "confirmed"
                    and registration.status == "confirmed")):
            links[registration.event_id] = "rate"
    return links
