"""One tenant's retention sweep: every step of the matrix, in batches, with a receipt.

Each step selects at most ``batch`` rows that are due *now* and handles them in one
transaction together with its receipt count, then commits. A row handled no longer matches its
step's selection (deleted, anonymised, marked), so a sweep interrupted at any batch loses only
that batch's transaction, and the next sweep carries on with the same receipt: the end state
is that of an uninterrupted sweep, nothing is handled twice and nothing is missed. Every
statement goes through the tenant's own session: no other tenant is reachable from here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from tenants.consent.models import ConsentEntry
from tenants.db import committed, current_slug, utcnow
from tenants.events.models import Event
from tenants.fields.models import Answer
from tenants.participants.models import Participant, ParticipantLoginFailure, ParticipantToken
from tenants.ratings.models import Rating
from tenants.registration.models import Registration, SentReminder
from tenants.retention import services
from tenants.retention.models import RetentionCount, RetentionRun
from tenants.retention.services import WARNING, Rule
from tenants.rights import services as rights
from tenants.rights.models import restricted_ids

BATCH = 10_000  # rows per transaction at most
PAUSE = 0.5  # rest after a full batch, as a share of the time it took
ERASE_BATCH = 200  # accounts erased per transaction: each erasure touches every feature
# Sweeping a tenant more often than this is never needed: it bounds how late data may go.
MIN_INTERVAL = timedelta(hours=1)

log = logging.getLogger(__name__)
_last_activity = func.coalesce(Participant.last_active_at, Participant.created_at)


@dataclass(frozen=True)
class Step:
    """One thing a sweep does to one data kind.

    ``due(rule, now)``: the ids of the rows due at ``now``, in order (a statement);
    ``handle(db, due, rule, now)``: handle the rows ``due`` (limited to a batch) selects,
    returning how many; ``next_at(db, rule)``: when the next row becomes due (None: none)."""

    kind: str
    name: str
    label: str
    due: Callable[[Rule, datetime], Select]
    handle: Callable[[Session, Select, Rule, datetime], int]
    next_at: Callable[[Session, Rule], datetime | None]
    batch: int = BATCH


def _after(moment: datetime | None, rule: Rule, extra: timedelta = timedelta(0),
           ) -> datetime | None:
    return rule.after(moment) + extra if moment is not None else None


def _each(apply: Callable[[Session, list, Rule, datetime], None],
          ) -> Callable[[Session, Select, Rule, datetime], int]:
    """A ``handle`` that reads the due ids, then has ``apply`` handle them."""
    def handle(db: Session, due: Select, rule: Rule, now: datetime) -> int:
        ids = list(db.scalars(due))
        if ids:
            apply(db, ids, rule, now)
        return len(ids)
    return handle


# --- inactive accounts: warned, deactivated, erased ---------------------------------------------

# A participant who restricted processing (or objects while the tenant decides) is held out of
# the inactivity cycle: restriction is what a person asks for instead of erasure (GDPR
# Art. 18(1)(b)), and they could not be sent the warning anyway.
_held = Participant.id.not_in(restricted_ids())
_active = and_(Participant.deactivated_at.is_(None), Participant.inactivity_warned_at.is_(None),
               _held)


def _warn_due(rule: Rule, now: datetime) -> Select:
    # Warned 30 days before the account would be deactivated.
    return select(Participant.id).where(
        _active, _last_activity <= rule.cutoff(now + WARNING)).order_by(Participant.id)


WARNED = "retention.warned"  # in ``Session.info``: accounts warned by the batch not yet committed


def _warn(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    db.execute(update(Participant).where(Participant.id.in_(ids))
               .values(inactivity_warned_at=now).execution_options(synchronize_session=False))
    db.info[WARNED] = ids  # e-mailed once the batch has committed (``run``)


def _warn_next(db: Session, rule: Rule) -> datetime | None:
    return _after(db.scalar(select(func.min(_last_activity)).where(_active)), rule, -WARNING)


_warned = and_(Participant.deactivated_at.is_(None),
               Participant.inactivity_warning_sent_at.is_not(None), _held)
# Marked warned by a batch, but its e-mail never went out (every try of its job failed, or it
# was given up): queued again by the next sweep, an hour on.
_unsent = and_(Participant.deactivated_at.is_(None), Participant.inactivity_warned_at.is_not(None),
               Participant.inactivity_warning_sent_at.is_(None), _held)
RESEND_AFTER = timedelta(hours=1)


def _deactivate_due(rule: Rule, now: datetime) -> Select:
    # 30 days after the e-mail went out, the date it gave, even if the duration changed since.
    return select(Participant.id).where(
        _warned, Participant.inactivity_warning_sent_at <= now - WARNING).order_by(Participant.id)


def _deactivate(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    db.execute(update(Participant).where(Participant.id.in_(ids))
               .values(deactivated_at=now, deactivation_reason="inactive")
               .execution_options(synchronize_session=False))
    db.execute(update(ParticipantToken).where(
        ParticipantToken.participant_id.in_(ids), ParticipantToken.purpose == "session",
        ParticipantToken.used_at.is_(None)).values(used_at=now))


def _deactivate_next(db: Session, rule: Rule) -> datetime | None:
    sent = db.scalar(select(func.min(Participant.inactivity_warning_sent_at)).where(_warned))
    unsent = db.scalar(select(func.min(Participant.inactivity_warned_at)).where(_unsent))
    return min([moment for moment in (sent and sent + WARNING, unsent and unsent + RESEND_AFTER)
                if moment is not None], default=None)


def _deactivated(reason: str):  # type: ignore[no-untyped-def]
    return and_(Participant.deactivation_reason == reason,
                Participant.deactivated_at.is_not(None))


def _grace(reason: str, rule: Rule, moment: datetime) -> datetime:
    """When an account deactivated at ``moment`` is erased."""
    return rule.after(moment) if reason == "deleted" else moment + services.REACTIVATION


def _erase_due(reason: str):  # type: ignore[no-untyped-def]
    def due(rule: Rule, now: datetime) -> Select:
        cutoff = rule.cutoff(now) if reason == "deleted" else now - services.REACTIVATION
        return select(Participant.id).where(
            _deactivated(reason), Participant.deactivated_at <= cutoff).order_by(Participant.id)
    return due


def _erase(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    for participant in db.scalars(select(Participant).where(Participant.id.in_(ids))):
        rights.erase(db, participant)


def _erase_next(reason: str):  # type: ignore[no-untyped-def]
    def next_at(db: Session, rule: Rule) -> datetime | None:
        first = db.scalar(select(func.min(Participant.deactivated_at)).where(
            _deactivated(reason)))
        return _grace(reason, rule, first) if first else None
    return next_at


# --- registrations and answers -----------------------------------------------------------------


def _registrations_due(rule: Rule, now: datetime) -> Select:
    return (select(Registration.id).join(Event, Event.id == Registration.event_id)
            .where(Event.ends_at < rule.cutoff(now)).order_by(Registration.id))


def _delete_registrations(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    db.execute(delete(SentReminder).where(SentReminder.registration_id.in_(ids)))
    db.execute(delete(Registration).where(Registration.id.in_(ids)))


def _registrations_next(db: Session, rule: Rule) -> datetime | None:
    return _after(db.scalar(select(func.min(Event.ends_at)).where(
        exists().where(Registration.event_id == Event.id))), rule)


# Answers are kept while their author holds a registration; once the last one is gone, they
# follow the same duration from their last change.
_unregistered = ~exists().where(Registration.participant_id == Answer.participant_id)


def _answers_due(rule: Rule, now: datetime) -> Select:
    return (select(Answer.id).where(_unregistered, Answer.updated_at < rule.cutoff(now))
            .order_by(Answer.id))


def _delete_answers(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    db.execute(delete(Answer).where(Answer.id.in_(ids)))


def _answers_next(db: Session, rule: Rule) -> datetime | None:
    return _after(db.scalar(select(func.min(Answer.updated_at)).where(_unregistered)), rule)


# --- review comments ---------------------------------------------------------------------------

# Anonymised: the comment goes and the author is unlinked; stars and status stay, so the
# maintained counts (rating_counts) and every average are unchanged.
_named = or_(Rating.comment != "", Rating.participant_id.is_not(None))


def _comments_due(rule: Rule, now: datetime) -> Select:
    return (select(Rating.id).where(_named, Rating.created_at < rule.cutoff(now))
            .order_by(Rating.id))


def _anonymise_comments(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    db.execute(update(Rating).where(Rating.id.in_(ids)).values(comment="", participant_id=None)
               .execution_options(synchronize_session=False))


def _comments_next(db: Session, rule: Rule) -> datetime | None:
    return _after(db.scalar(select(func.min(Rating.created_at)).where(_named)), rule)


# --- connection logs, consent proofs, rights requests ------------------------------------------


def _deleting(model, column, key, where=None):  # type: ignore[no-untyped-def]
    """A step deleting the rows of ``model`` whose ``column`` is older than the duration."""
    extra = [where] if where is not None else []

    def due(rule: Rule, now: datetime) -> Select:
        # No ORDER BY: any due rows will do, and the index on ``column`` then stops at the
        # batch's size instead of sorting every due row for each batch.
        return select(key).where(column < rule.cutoff(now), *extra)

    def handle(db: Session, due: Select, rule: Rule, now: datetime) -> int:
        # One statement per batch, and no rows back: the ids never travel to Python. (With
        # RETURNING, SQLite's driver hands each of 10,000 rows over one by one, releasing the
        # GIL each time, which made the batch wait on any busy thread of the process.)
        return db.execute(delete(model).where(key.in_(due))
                          .execution_options(synchronize_session=False)).rowcount

    def next_at(db: Session, rule: Rule) -> datetime | None:
        return _after(db.scalar(select(func.min(column)).where(*extra)), rule)

    return due, handle, next_at


def _steps() -> tuple[Step, ...]:
    from tenants.rights.models import RightsRequest

    # A request is closed when answered; one never verified is closed when its code expired.
    closed = func.coalesce(RightsRequest.completed_at, RightsRequest.code_expires_at)
    return (
        Step("inactive_accounts", "warned", _l("warned by e-mail"),
             _warn_due, _each(_warn), _warn_next),
        Step("inactive_accounts", "deactivated", _l("deactivated"),
             _deactivate_due, _each(_deactivate), _deactivate_next),
        Step("inactive_accounts", "erased", _l("erased"),
             _erase_due("inactive"), _each(_erase), _erase_next("inactive"), ERASE_BATCH),
        Step("deleted_accounts", "erased", _l("erased"),
             _erase_due("deleted"), _each(_erase), _erase_next("deleted"), ERASE_BATCH),
        Step("registrations", "deleted", _l("registrations deleted"),
             _registrations_due, _each(_delete_registrations), _registrations_next),
        Step("registrations", "answers", _l("form answers deleted"),
             _answers_due, _each(_delete_answers), _answers_next),
        Step("rating_comments", "anonymised", _l("anonymised"),
             _comments_due, _each(_anonymise_comments), _comments_next),
        Step("connection_logs", "sign_ins", _l("sign-in records deleted"),
             *_deleting(ParticipantToken, ParticipantToken.expires_at,
                        ParticipantToken.token_hash)),
        Step("connection_logs", "failures", _l("failed sign-ins deleted"),
             *_deleting(ParticipantLoginFailure, ParticipantLoginFailure.at,
                        ParticipantLoginFailure.id)),
        Step("consent_proofs", "deleted", _l("deleted"),
             *_deleting(ConsentEntry,
                        func.coalesce(ConsentEntry.expires_at, ConsentEntry.replaced_at),
                        ConsentEntry.id)),
        Step("rights_requests", "deleted", _l("deleted"),
             *_deleting(RightsRequest, closed, RightsRequest.id,
                        RightsRequest.status != "open")),
    )


def step_label(kind: str, name: str) -> str:
    return next(str(step.label) for step in _steps() if (step.kind, step.name) == (kind, name))


# --- the run ------------------------------------------------------------------------------------


def _receipt(db: Session, now: datetime) -> RetentionRun:
    """The unfinished receipt of an interrupted sweep, or a new one."""
    run = db.scalar(select(RetentionRun).where(RetentionRun.finished_at.is_(None))
                    .order_by(RetentionRun.id.desc()).limit(1))
    if run is None:
        run = RetentionRun(started_at=now)
        db.add(run)
        db.flush()
    return run


def _count(db: Session, run: RetentionRun, step: Step, rule: Rule, rows: int) -> None:
    line = db.get(RetentionCount, (run.id, step.kind, step.name))
    if line is None:
        line = RetentionCount(run_id=run.id, kind=step.kind, step=step.name, rows=0)
        db.add(line)
    line.duration, line.unit, line.rows = rule.duration, rule.kind.unit, line.rows + rows
    db.flush()


def run(db: Session, *, batch: int = BATCH, pause: float = PAUSE) -> datetime:
    """Sweep the active tenant now (committing each batch); returns when it is next due.

    After each batch the sweep rests ``pause`` times as long as the batch took, so that the
    tenant's pages keep their pace while a large backlog is purged."""
    from tenants.retention import tasks  # the tasks module imports this one
    from webapp.jobs import enqueue  # imports tenants.api, which imports this module

    now = utcnow()
    rules = services.rules(db)
    receipt = _receipt(db, now)
    for participant_id in db.scalars(select(Participant.id).where(
            _unsent, Participant.inactivity_warned_at <= now - RESEND_AFTER).limit(BATCH)):
        enqueue(tasks.send_inactivity_warning, current_slug(), participant_id)
    db.commit()
    committed()
    busy, batches = 0.0, 0
    for step in _steps():
        rule, limit = rules[step.kind], min(batch, step.batch)
        while True:
            started = time.perf_counter()
            rows = step.handle(db, step.due(rule, now).limit(limit), rule, now)
            if not rows:
                break
            _count(db, receipt, step, rule, rows)
            for participant_id in db.info.pop(WARNED, ()):  # e-mails queued with their batch
                enqueue(tasks.send_inactivity_warning, current_slug(), participant_id)
            db.commit()  # the batch, its count and its e-mails, together
            committed()
            took = time.perf_counter() - started
            busy, batches = busy + took, batches + 1
            if rows < limit:
                break
            time.sleep(took * pause)
    receipt.finished_at = utcnow()
    db.commit()
    log.info("retention sweep of %s: %d batches, %.1f s of batches", current_slug(), batches,
             busy)
    return next_due(db, now)


def next_due(db: Session, now: datetime) -> datetime:
    """When this tenant next has something to sweep: the first row to become due, or, for data
    not yet written, the shortest duration from now (an account deleted by its owner, or a
    shorter duration, brings the sweep forward through ``services.due_earlier``)."""
    rules = services.rules(db)
    candidates = [step.next_at(db, rules[step.kind]) for step in _steps()]
    fresh = [rule.after(now) - (WARNING if key == "inactive_accounts" else timedelta(0))
             for key, rule in rules.items() if key != "deleted_accounts"]
    first = min([moment for moment in candidates if moment is not None] + fresh)
    return max(first, now + MIN_INTERVAL)


def upcoming(db: Session, within: timedelta = timedelta(days=30)) -> list[tuple[Step, int]]:
    """The dry run: how many rows each step would handle if the sweep ran ``within`` from
    now (counts only, nothing changed)."""
    rules, later = services.rules(db), utcnow() + within
    return [(step, db.scalar(select(func.count()).select_from(
        step.due(rules[step.kind], later).order_by(None).subquery())) or 0)
        for step in _steps()]
