"""One tenant's retention sweep: every step of the matrix, in batches, with a receipt.

The steps are the account's lifecycle (here: warned, deactivated, erased) and those each
feature declares for its personal data (``tenants.privacy``: registrations, answers, review
comments, connection logs, consent proofs, rights requests), in the matrix's order.

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
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.jobs import enqueue
from tenants import privacy
from tenants.db import committed, current_slug
from tenants.participants.models import Participant, ParticipantToken
from tenants.personal_data import BATCH, Step, after, each
from tenants.retention import services, tasks
from tenants.retention.models import RetentionCount, RetentionRun
from tenants.retention.services import KINDS, WARNING, Rule
from tenants.rights.models import restricted_ids

PAUSE = 0.5  # rest after a full batch, as a share of the time it took
ERASE_BATCH = 200  # accounts erased per transaction: each erasure touches every feature
# Sweeping a tenant more often than this is never needed: it bounds how late data may go.
MIN_INTERVAL = timedelta(hours=1)

log = logging.getLogger(__name__)
_last_activity = func.coalesce(Participant.last_active_at, Participant.created_at)


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
    return after(db.scalar(select(func.min(_last_activity)).where(_active)), rule, -WARNING)


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


def _deactivated(reason: str):
    return and_(Participant.deactivation_reason == reason,
                Participant.deactivated_at.is_not(None))


def _grace(reason: str, rule: Rule, moment: datetime) -> datetime:
    """When an account deactivated at ``moment`` is erased."""
    return rule.after(moment) if reason == "deleted" else moment + services.REACTIVATION


def _erase_due(reason: str):
    def due(rule: Rule, now: datetime) -> Select:
        cutoff = rule.cutoff(now) if reason == "deleted" else now - services.REACTIVATION
        return select(Participant.id).where(
            _deactivated(reason), Participant.deactivated_at <= cutoff).order_by(Participant.id)
    return due


def _erase(db: Session, ids: list, rule: Rule, now: datetime) -> None:
    for participant in db.scalars(select(Participant).where(Participant.id.in_(ids))):
        privacy.erase(db, participant)


def _erase_next(reason: str):
    def next_at(db: Session, rule: Rule) -> datetime | None:
        first = db.scalar(select(func.min(Participant.deactivated_at)).where(
            _deactivated(reason)))
        return _grace(reason, rule, first) if first else None
    return next_at


# The account's own lifecycle, before the steps of every kind of personal data the features
# declare (``tenants.privacy``): an erasure runs all of theirs.
ACCOUNT_STEPS = (
    Step("inactive_accounts", "warned", _l("warned by e-mail"),
         _warn_due, each(_warn), _warn_next),
    Step("inactive_accounts", "deactivated", _l("deactivated"),
         _deactivate_due, each(_deactivate), _deactivate_next),
    Step("inactive_accounts", "erased", _l("erased"),
         _erase_due("inactive"), each(_erase), _erase_next("inactive"), ERASE_BATCH),
    Step("deleted_accounts", "erased", _l("erased"),
         _erase_due("deleted"), each(_erase), _erase_next("deleted"), ERASE_BATCH),
)
_ORDER = {kind.key: position for position, kind in enumerate(KINDS)}


def _steps() -> tuple[Step, ...]:
    """Every step, in the matrix's order of kinds (then by rank, then as declared)."""
    return tuple(sorted((*ACCOUNT_STEPS, *privacy.steps()),
                        key=lambda step: (_ORDER[step.kind], step.rank)))


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
