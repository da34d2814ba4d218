"""Retention: the tenant's matrix, a participant's account lifecycle, and what expires when.

The matrix (``KINDS``) holds PRODUCT.md's defaults and the platform's bounds; a tenant's choice
is a ``RetentionRule`` row. A participant's account is deactivated (by the inactivity sweep, or
at once when its owner deletes it), then erased when its window to reactivate closes, unless
the owner signs in again before. The sweeps themselves are in ``tenants/retention/sweep.py``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from blinker import Namespace
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.web.pagination import Page, paginate
from tenants import pagecache
from tenants.consent import banner as consent_banner
from tenants.consent.models import ConsentConfig
from tenants.db import current_slug
from tenants.events.models import Event
from tenants.fields.belonging import clock as answer_clock
from tenants.fields.models import Answer
from tenants.instructions import services as instructions
from tenants.participants.models import Participant, ParticipantToken
from tenants.ratings.models import Rating
from tenants.registration.models import Registration
from tenants.retention.models import RetentionCount, RetentionRule, RetentionRun

pagecache.not_shown(RetentionRule.__tablename__, RetentionRun.__tablename__,
                    RetentionCount.__tablename__)

# Fixed by PRODUCT.md: the warning before an inactive account is deactivated, and the window
# in which a deactivated inactive account can still be reactivated by signing in.
WARNING = timedelta(days=30)
REACTIVATION = timedelta(days=30)


@dataclass(frozen=True)
class Kind:
    """A row of the matrix: a data kind, what starts its clock, and the platform's limits."""

    key: str
    label: str  # lazy: translated when shown
    trigger: str
    unit: str  # days | months | years
    default: int
    bounds: tuple[int, int]
    actions: tuple[str, ...]  # the first is the default


KINDS: tuple[Kind, ...] = (
    Kind("inactive_accounts", _l("Inactive participant accounts"), _l("last sign-in"),
         "months", 36, (6, 60), ("delete",)),
    Kind("deleted_accounts", _l("Accounts deleted by their owner"), _l("deletion request"),
         "days", 30, (0, 30), ("delete",)),
    # Answers before registrations: an answer belongs to a registration and goes with it at
    # the latest, so a sweep deletes (and counts) due answers before their registrations.
    Kind("form_answers", _l("Registration-form answers"), _l("event end"),
         "months", 12, (1, 36), ("delete",)),
    Kind("registrations", _l("Registrations to events"), _l("event end"),
         "months", 12, (1, 36), ("delete",)),
    Kind("rating_comments", _l("Review comments"), _l("posting"),
         "months", 36, (6, 60), ("anonymise",)),
    Kind("connection_logs", _l("Connection logs (sign-ins, failed sign-ins)"),
         _l("sign-in"), "months", 12, (1, 12), ("delete",)),
    Kind("consent_proofs", _l("Consent proofs"), _l("end of the consent"),
         "years", 5, (1, 6), ("delete",)),
    Kind("rights_requests", _l("Rights requests"), _l("closing of the request"),
         "years", 3, (1, 5), ("delete",)),
)
BY_KEY = {kind.key: kind for kind in KINDS}
ACTIONS = {"delete": _l("delete"), "anonymise": _l("anonymise")}


@dataclass(frozen=True)
class Rule:
    """A kind as this tenant keeps it."""

    kind: Kind
    duration: int
    action: str

    def after(self, moment: datetime) -> datetime:
        """When data whose clock started at ``moment`` expires."""
        return shift(moment, self.kind.unit, self.duration)

    def cutoff(self, now: datetime) -> datetime:
        """Data whose clock started before this moment has expired at ``now``."""
        return shift(now, self.kind.unit, -self.duration)

    @property
    def text(self) -> str:
        """"12 months after event end, then delete", translated."""
        return _("%(duration)s after %(trigger)s, then %(action)s",
                 duration=duration_text(self.kind.unit, self.duration),
                 trigger=self.kind.trigger, action=ACTIONS[self.action])


def duration_text(unit: str, n: int) -> str:
    if unit == "days":
        return ngettext("%(num)d day", "%(num)d days", n)
    if unit == "months":
        return ngettext("%(num)d month", "%(num)d months", n)
    return ngettext("%(num)d year", "%(num)d years", n)


def shift(moment: datetime, unit: str, n: int) -> datetime:
    """``moment`` moved by ``n`` days, or calendar months or years (31 January + 1 month is
    the last day of February)."""
    if unit == "days":
        return moment + timedelta(days=n)
    months = moment.month - 1 + (n * 12 if unit == "years" else n)
    year, month = moment.year + months // 12, months % 12 + 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))


# --- the matrix ------------------------------------------------------------------------------


class RuleError(ValueError):
    """A refused change of the matrix; ``str()`` is the translated reason."""


# Consent proofs keep the years the consent banner already held (one value, edited on either
# page): the banner's settings are the cookie-consent feature's.
CONSENT = "consent_proofs"
# PRODUCT.md, "Retention and deletion", rule "registrations and custom-field answers: event
# end, 12 months, 1-36 months": answers belong to a registration and go with it, so they are
# never kept longer than registrations; shortening registrations shortens answers along.
ANSWERS, REGISTRATIONS = "form_answers", "registrations"


def _consent_years(db: Session) -> int | None:
    banner = db.get(ConsentConfig, 1)
    return banner.retention_years if banner is not None else None


def rules(db: Session) -> dict[str, Rule]:
    """Every kind as this tenant keeps it, in the matrix's order."""
    chosen = {row.kind: (row.duration, row.action) for row in db.scalars(select(RetentionRule))}
    years = _consent_years(db)
    if years is not None:
        chosen[CONSENT] = (years, "delete")
    return {kind.key: Rule(kind, *chosen.get(kind.key, (kind.default, kind.actions[0])))
            for kind in KINDS}


def rule(db: Session, key: str) -> Rule:
    return rules(db)[key]


def set_rule(db: Session, key: str, duration: int, action: str) -> Rule:
    """Change one kind; refused (``RuleError``, nothing changed) outside the platform's bounds.
    The change is recorded as the tenant's instruction."""
    kind = BY_KEY.get(key)
    if kind is None:
        raise RuleError(_("Unknown data kind."))
    low, high = kind.bounds
    if not isinstance(duration, int) or not low <= duration <= high:
        raise RuleError(_("%(kind)s: the duration must be between %(low)s and %(high)s "
                          "(limits set by the platform: long enough to serve its purpose, no "
                          "longer than the law and our contract allow).", kind=kind.label,
                          low=duration_text(kind.unit, low), high=duration_text(kind.unit, high)))
    if action not in kind.actions:
        raise RuleError(_("%(kind)s: the only action the platform allows is "
                          "\"%(action)s\" (what the law requires to be kept stays).",
                          kind=kind.label, action=ACTIONS[kind.actions[0]]))
    before = rule(db, key)
    if (before.duration, before.action) == (duration, action):
        return before
    if key == ANSWERS and duration > (most := rule(db, REGISTRATIONS)).duration:
        raise RuleError(_("%(kind)s belong to a registration and are deleted with it: they "
                          "cannot be kept longer than registrations (%(duration)s).",
                          kind=kind.label, duration=duration_text(kind.unit, most.duration)))
    if key == REGISTRATIONS and duration < (answers := rule(db, ANSWERS)).duration:
        set_rule(db, ANSWERS, duration, answers.action)
    if key == CONSENT:
        consent_banner.get_row(db).retention_years = duration
    else:
        row = db.get(RetentionRule, key)
        if row is None:
            row = RetentionRule(kind=key)
            db.add(row)
        row.duration, row.action, row.updated_at = duration, action, utcnow()
    db.flush()
    after = Rule(kind, duration, action)
    instructions.record(db, "retention", _(
        "%(kind)s: kept %(before)s, now %(after)s, then %(action)s",
        kind=kind.label, before=duration_text(kind.unit, before.duration),
        after=duration_text(kind.unit, duration), action=ACTIONS[action]))
    if after.duration < before.duration:
        due_earlier.send(current_slug(), at=utcnow())
    return after


# Sent when data may now expire before the tenant's next planned sweep (a shorter duration,
# an account deleted by its owner): the control plane brings that sweep forward.
signals = Namespace()
due_earlier = signals.signal("retention-due-earlier")


# --- a participant's account -------------------------------------------------------------------


def _end_sessions(db: Session, participant: Participant) -> None:
    db.execute(update(ParticipantToken).where(
        ParticipantToken.participant_id == participant.id, ParticipantToken.purpose == "session",
        ParticipantToken.used_at.is_(None)).values(used_at=utcnow()))


def request_deletion(db: Session, participant: Participant) -> datetime:
    """The owner deletes their account: deactivated at once (every session ends), erased once
    the tenant's grace has passed unless they sign in again. Returns when it will be erased."""
    if participant.deactivation_reason != "deleted":
        participant.deactivated_at = utcnow()
        participant.deactivation_reason = "deleted"
        _end_sessions(db, participant)
        db.flush()
    erase_at = erasure_due(db, participant)
    assert erase_at is not None
    due_earlier.send(current_slug(), at=erase_at)
    return erase_at


def deactivate_inactive(db: Session, participant: Participant) -> None:
    participant.deactivated_at = utcnow()
    participant.deactivation_reason = "inactive"
    _end_sessions(db, participant)


def erasure_due(db: Session, participant: Participant) -> datetime | None:
    """When a deactivated account will be erased (None while it is active)."""
    if participant.deactivated_at is None:
        return None
    if participant.deactivation_reason == "deleted":
        return rule(db, "deleted_accounts").after(participant.deactivated_at)
    return participant.deactivated_at + REACTIVATION


def reactivate(db: Session, participant: Participant) -> bool:
    """The owner signed in while their account is deactivated: it is theirs again, as it was.
    False if the window has closed (the account awaits its erasure)."""
    due = erasure_due(db, participant)
    if due is None:
        return True
    if due <= utcnow():
        return False
    participant.deactivated_at = participant.deactivation_reason = None
    participant.inactivity_warned_at = participant.inactivity_warning_sent_at = None
    participant.last_active_at = utcnow()
    db.flush()
    return True


# --- what is kept, and until when ----------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    """When one kind of a participant's data will be deleted or anonymised, and why."""

    kind: str
    label: str
    until: date | None  # None: no such data now, or each item has its own date (see ``why``)
    why: str


def last_activity(participant: Participant) -> datetime:
    return participant.last_active_at or participant.created_at


def schedule_for(db: Session, participant: Participant) -> list[Expiry]:
    """For each data kind held about ``participant``, when it goes and under which rule."""
    keep = rules(db)

    def expiry(key: str, until: datetime | None, why: str) -> Expiry:
        return Expiry(key, str(BY_KEY[key].label), until.date() if until else None, why)

    inactive, deleted = keep["inactive_accounts"], keep["deleted_accounts"]
    out = []
    if participant.deactivation_reason == "deleted":
        out.append(expiry("deleted_accounts", erasure_due(db, participant), _(
            "You asked for your account to be deleted: it is erased %(duration)s after your "
            "request, unless you sign in again before.",
            duration=duration_text("days", deleted.duration))))
    elif participant.deactivation_reason == "inactive":
        out.append(expiry("inactive_accounts", erasure_due(db, participant), _(
            "Your account was deactivated after %(duration)s without a sign-in: it is erased "
            "30 days later, unless you sign in again before.",
            duration=duration_text("months", inactive.duration))))
    else:
        out.append(expiry("inactive_accounts", inactive.after(last_activity(participant)), _(
            "Accounts are erased after %(duration)s without a sign-in; we e-mail you 30 days "
            "before. Signing in starts the count again.",
            duration=duration_text("months", inactive.duration))))

    answers = keep[ANSWERS]
    answered = db.scalar(select(func.min(answer_clock())).where(
        Answer.participant_id == participant.id))
    out.append(expiry(ANSWERS, answers.after(answered) if answered else None, _(
        "Your answers to the registration form belong to the registration they were given "
        "for (the latest, when you register again) and are deleted %(duration)s after the end "
        "of its event (the date shown is the first of them).",
        duration=duration_text("months", answers.duration))))

    registrations = keep["registrations"]
    ended = db.scalar(select(func.min(Event.ends_at)).join(
        Registration, Registration.event_id == Event.id).where(
        Registration.participant_id == participant.id))
    out.append(expiry("registrations", registrations.after(ended) if ended else None, _(
        "Each registration is deleted %(duration)s after the end of the event (the date "
        "shown is the first of them).",
        duration=duration_text("months", registrations.duration))))

    comments = keep["rating_comments"]
    posted = db.scalar(select(func.min(Rating.created_at)).where(
        Rating.participant_id == participant.id, Rating.comment != ""))
    out.append(expiry("rating_comments", comments.after(posted) if posted else None, _(
        "The comment of a review is removed %(duration)s after posting; its stars stay in the "
        "event's average, without your name.",
        duration=duration_text("months", comments.duration))))

    out.append(expiry("connection_logs", None, _(
        "Records of your sign-ins (time; failed attempts under a one-way hash of the address) "
        "are deleted %(duration)s after each one.",
        duration=duration_text("months", keep["connection_logs"].duration))))
    out.append(expiry("consent_proofs", None, _(
        "Proofs of the consents you gave, and of each change of them (withdrawing your "
        "consent to the organisation's news included), are kept %(duration)s after each "
        "consent ends or is replaced, to show what you chose and when, then deleted; they "
        "hold no personal data once your account is erased.",
        duration=duration_text("years", keep["consent_proofs"].duration))))
    out.append(expiry("rights_requests", None, _(
        "Records of the requests you make about your data are kept %(duration)s after each is "
        "closed, as proof of the answer, then deleted.",
        duration=duration_text("years", keep["rights_requests"].duration))))
    return out


# --- receipts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """One sweep: when, and how many rows of each kind each step handled under which rule."""

    run: RetentionRun
    lines: list[RetentionCount]


RECEIPTS_PAGE = 20  # receipts are cards of several lines each


def receipts(db: Session, page: int = 1) -> Page[Receipt]:
    """A page of the receipts, newest first, with how many there are (two statements)."""
    found = paginate(db, select(RetentionRun).order_by(RetentionRun.id.desc()), page,
                     size=RECEIPTS_PAGE)
    runs: list[RetentionRun] = found.items
    lines: dict[int, list[RetentionCount]] = {run.id: [] for run in runs}
    order = {kind.key: i for i, kind in enumerate(KINDS)}
    for line in db.scalars(select(RetentionCount).where(RetentionCount.run_id.in_(lines))):
        lines[line.run_id].append(line)
    return replace(found, items=[
        Receipt(run, sorted(lines[run.id], key=lambda line: (order[line.kind], line.step)))
        for run in runs])
