"""Data-subject rights inside a tenant: the participant's export, their standing choices
(restriction, objection, marketing, post-mortem directive), the rights requests and their legal
clock, and the hard erasure of an account.

Each function takes the tenant session, flushes and never commits. Every request and every step
of it is recorded, self-service actions included, so the tenant's inbox is the full record.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import email_codes
from core.clock import utcnow
from core.web.pagination import Page, paginate
from core.web.spreadsheet import csv_line
from tenants import privacy
from tenants.consent import ledger as consent_ledger
from tenants.db import current_slug
from tenants.participants.models import Participant
from tenants.retention import services as retention
from tenants.rights.models import (
    DIRECTIVES,
    KINDS,
    PrivacyChoices,
    RequestStep,
    RightsRequest,
    of_participant,
)

DOWNLOAD_LIFETIME = timedelta(days=7)
MAX_EXTENSION_MONTHS = 2


# --- the legal clock -----------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the last day of that month if it is shorter
    (31 January + 1 month = 28 or 29 February): the GDPR's "one month" (art. 12(3))."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_on(request: RightsRequest) -> date | None:
    """The date by which the request must be answered (extended or not)."""
    return request.extended_to or request.due_on


def days_left(request: RightsRequest, today: date | None = None) -> int | None:
    """Calendar days until the due date (negative: overdue); None once answered."""
    due = due_on(request)
    if request.status != "open" or due is None:
        return None
    return (due - (today or utcnow().date())).days


def can_extend(request: RightsRequest, today: date | None = None) -> bool:
    """Art. 12(3): once, by up to two months, telling the requester why within the first
    month."""
    return (request.status == "open" and request.extended_to is None
            and request.due_on is not None and (today or utcnow().date()) <= request.due_on)


# --- requests and their steps --------------------------------------------------------------


# What the request's history and evidence say, in the reader's language.
STEPS = {"submitted": _l("sent, awaiting the code"), "verified": _l("address verified"),
         "received": _l("received"), "duplicate": _l("sent again (already open)"),
         "forwarded": _l("received by Parvis and forwarded here"),
         "extended": _l("deadline extended"), "completed": _l("answered")}
EVIDENCE = {
    "account": _l("Account with this address"), "format": _l("Format"),
    "export_sha256": _l("SHA-256 of the export"), "export_bytes": _l("Size of the export (bytes)"),
    "erased_ratings": _l("Reviews made anonymous"),
    "erased_registrations": _l("Registrations erased"), "erased_at": _l("Erased at"),
    "upheld": _l("Objection upheld"), "note": _l("Answer"),
    "restricted": _l("Processing restricted"), "scope": _l("Objection to"),
    "directive": _l("Directive"), "deactivated": _l("Account deactivated"),
    "erase_after": _l("Erased after")}


def step(db: Session, request: RightsRequest, action: str, *, member_id: int | None = None,
         note: str = "") -> None:
    db.add(RequestStep(request_id=request.id, action=action, member_id=member_id, note=note,
                       at=utcnow()))


def _receive(request: RightsRequest, now: datetime) -> None:
    request.status = "open"
    request.received_at = now
    request.due_on = add_months(now.date(), 1)


def get(db: Session, request_id: int) -> RightsRequest | None:
    return db.get(RightsRequest, request_id)


def inbox(db: Session, *, show: str = "open", page: int = 1) -> Page[RightsRequest]:
    """A page of the open requests by due date (the most urgent first), or of the answered
    ones, newest first, with how many there are: one statement."""
    stmt = select(RightsRequest)
    if show == "open":
        stmt = stmt.where(RightsRequest.status == "open").order_by(
            func.coalesce(RightsRequest.extended_to, RightsRequest.due_on), RightsRequest.id)
    else:
        stmt = stmt.where(RightsRequest.status == "completed").order_by(
            RightsRequest.completed_at.desc(), RightsRequest.id.desc())
    return paginate(db, stmt, page)


def steps(db: Session, request: RightsRequest) -> list[RequestStep]:
    return list(db.scalars(select(RequestStep).where(RequestStep.request_id == request.id)
                           .order_by(RequestStep.at, RequestStep.id)))


def self_service(db: Session, participant: Participant, kind: str, *, evidence: dict,
                 note: str = "", done: bool = True) -> RightsRequest:
    """Record what a signed-in participant did themselves, as an answered request (or, for an
    objection to processing, an open one: the tenant decides)."""
    now = utcnow()
    request = RightsRequest(kind=kind, email=participant.email, participant_id=participant.id,
                            source="self-service", details=note, status="open",
                            language=participant.language, created_at=now, evidence=evidence)
    _receive(request, now)
    db.add(request)
    db.flush()
    step(db, request, "received", note=note)
    if done:
        request.status = "completed"
        request.completed_at = now
        step(db, request, "completed")
    db.flush()
    return request


# --- the request form: identity by an e-mailed code ----------------------------------------


def _code_scope(request_id: int) -> str:
    """Which request a code proves: this tenant's, this one."""
    return f"{current_slug()}:{request_id}"


def submit(db: Session, *, kind: str, email: str, details: str,
           language: str) -> tuple[RightsRequest, str | None]:
    """A request from the form, waiting for its sender to prove the address; returns it and
    the code to e-mail. Asking again for the same right from the same address before
    verifying replaces the code rather than adding a request; within a minute of the last
    code there is no new one (None), so the form cannot flood someone's inbox
    (``core.email_codes``)."""
    if kind not in KINDS:
        raise ValueError(kind)
    email = email.strip().lower()
    now = utcnow()
    request = email_codes.unverified(db, RightsRequest, email=email, kind=kind, now=now)
    if request is None:
        request = RightsRequest(kind=kind, email=email, source="form", status="unverified",
                                created_at=now)
        db.add(request)
        db.flush()
        step(db, request, "submitted")
    code = email_codes.issue(request, _code_scope(request.id), now)
    if code is not None:
        request.details, request.language = details.strip(), language
    db.flush()
    return request, code


@dataclass(frozen=True)
class Verification:
    outcome: str  # verified | wrong | expired | duplicate
    attempts_left: int = 0
    existing: RightsRequest | None = None


def verify(db: Session, request: RightsRequest, code: str) -> Verification:
    """Check the e-mailed code (``core.email_codes``: 5 tries within its lifetime). A
    verified request that duplicates an open one (same address and right) is not kept."""
    now = utcnow()
    if request.status != "unverified":
        return Verification("expired")
    checked = email_codes.check(request, _code_scope(request.id), code, now)
    if checked.outcome != "right":
        db.flush()
        return Verification(checked.outcome, attempts_left=checked.attempts_left)
    existing = db.scalar(select(RightsRequest).where(
        RightsRequest.email == request.email, RightsRequest.kind == request.kind,
        RightsRequest.status == "open", RightsRequest.id != request.id))
    if existing is not None:
        db.delete(request)
        step(db, existing, "duplicate", note="")
        db.flush()
        return Verification("duplicate", existing=existing)
    request.participant_id = db.scalar(select(Participant.id).where(
        Participant.email == request.email))
    _receive(request, now)
    step(db, request, "verified")
    db.flush()
    return Verification("verified")


# --- the tenant's answers ------------------------------------------------------------------


class NotAllowed(Exception):
    """The step is not possible in the request's state (the message says why)."""


def extend(db: Session, request: RightsRequest, *, months: int, reason: str,
           member_id: int | None) -> None:
    if not can_extend(request):
        raise NotAllowed("extension")
    if months not in range(1, MAX_EXTENSION_MONTHS + 1) or not reason.strip():
        raise ValueError(months)
    assert request.due_on is not None
    request.extended_to = add_months(request.due_on, months)
    request.extension_reason = reason.strip()
    step(db, request, "extended", member_id=member_id, note=reason.strip())
    db.flush()


def complete(db: Session, request: RightsRequest, *, note: str, member_id: int | None,
             uphold: bool = True) -> str | None:
    """Answer the request, applying it to the account with the requester's address if there is
    one; the evidence is kept on the request. Returns a download token for an export."""
    if request.status != "open":
        raise NotAllowed("completion")
    participant = (db.get(Participant, request.participant_id)
                   if request.participant_id is not None else None)
    evidence: dict[str, Any] = {"account": participant is not None}
    token = None
    if participant is not None:
        if request.kind in ("access", "portability"):
            body = export_json(db, participant)
            evidence.update(export_sha256=hashlib.sha256(body.encode()).hexdigest(),
                            export_bytes=len(body.encode()))
            token = secrets.token_urlsafe(32)
            request.download_hash = hashlib.sha256(token.encode()).hexdigest()
            request.download_expires_at = utcnow() + DOWNLOAD_LIFETIME
        elif request.kind == "erasure":
            erased = erase(db, participant)
            evidence.update(erased_ratings=erased.ratings,
                            erased_registrations=erased.registrations,
                            erased_at=utcnow().isoformat(timespec="seconds"))
        elif request.kind == "restriction":
            set_restricted(db, participant, True)
        elif request.kind == "objection":
            row = choices(db, participant.id, create=True)
            if uphold:  # processing stays stopped until the participant lifts it
                row.restricted_at = row.restricted_at or utcnow()
            row.objected_at, row.objection = None, ""
            evidence["upheld"] = uphold
    request.status = "completed"
    request.completed_at = utcnow()
    request.evidence = {**(request.evidence or {}), **evidence, "note": note.strip()}
    step(db, request, "completed", member_id=member_id, note=note.strip())
    db.flush()
    return token


def download(db: Session, request: RightsRequest, token: str) -> Participant | None:
    """Whose data an answer's download link gives, while it is valid."""
    if (not request.download_hash or request.download_expires_at is None
            or request.download_expires_at <= utcnow() or request.participant_id is None
            or not hmac.compare_digest(request.download_hash,
                                       hashlib.sha256(token.encode()).hexdigest())):
        return None
    return db.get(Participant, request.participant_id)


# --- a participant's standing choices ------------------------------------------------------


def choices(db: Session, participant_id: int, *, create: bool = False) -> PrivacyChoices:
    row = db.get(PrivacyChoices, participant_id)
    if row is None:
        row = PrivacyChoices(participant_id=participant_id)
        if create:
            db.add(row)
    return row


def set_restricted(db: Session, participant: Participant, restricted: bool) -> None:
    row = choices(db, participant.id, create=True)
    lifted = row.restricted_at is not None and not restricted
    row.restricted_at = (row.restricted_at or utcnow()) if restricted else None
    db.flush()
    if lifted:  # back in the inactivity cycle, which may already be due for them
        retention.due_earlier.send(current_slug(), at=utcnow())


def object_to_processing(db: Session, participant: Participant, reason: str) -> RightsRequest:
    """Art. 21: processing stops at once (art. 18(1)(d)) and the tenant, who must weigh its
    grounds, gets an open request."""
    row = choices(db, participant.id, create=True)
    row.objected_at, row.objection = utcnow(), reason.strip()
    return self_service(db, participant, "objection", evidence={"scope": "processing"},
                        note=reason.strip(), done=False)


def set_directive(db: Session, participant: Participant, directive: str, *, name: str = "",
                  email: str = "") -> None:
    """French law art. 85: what to do with the data after death, and to whom to hand it."""
    if directive not in DIRECTIVES:
        raise ValueError(directive)
    if directive == "hand_over" and not (name.strip() and email.strip()):
        raise ValueError("hand_over needs a name and an e-mail address")
    row = choices(db, participant.id, create=True)
    row.directive = directive
    keep = directive == "hand_over"
    row.directive_name = name.strip() if keep else ""
    row.directive_email = email.strip().lower() if keep else ""
    row.directive_at = utcnow()
    db.flush()


def set_marketing(db: Session, participant: Participant, opt_in: bool) -> None:
    """A new proof in the consent ledger naming the change (a withdrawal included), chained to
    the previous one (which stays, as proof); nothing when nothing changes."""
    consent_ledger.record_marketing(db, participant, opt_in)


# --- the export (access and portability) ---------------------------------------------------


def export_data(db: Session, participant: Participant, language: str = "en",
                default: str = "fr") -> dict[str, Any]:
    """Everything this tenant holds about ``participant``: one section per kind of personal
    data the features declare (``tenants.privacy``; a few indexed queries)."""
    return privacy.export(db, participant, language, default)


# Why each kind of a participant's data is kept: its purpose and the legal basis (GDPR
# Art. 6) the organisation relies on, by retention kind (tenants.retention.services.KINDS).
CONTRACT = _l("Performance of the contract to take part in the events (GDPR art. 6(1)(b))")
REASONS: dict[str, tuple[str, str]] = {
    "inactive_accounts": (_l("The account: signing in, the profile, taking part in events"),
                          CONTRACT),
    "deleted_accounts": (_l("The account: signing in, the profile, taking part in events"),
                         CONTRACT),
    "form_answers": (_l("Answers to the registration form: organising the events, for the "
                        "purpose each question states"), CONTRACT),
    "registrations": (_l("Registrations to events: seats, join links, reminders and the "
                         "organiser's messages"), CONTRACT),
    "rating_comments": (_l("Reviews of the events"),
                        _l("Legitimate interest in informing other participants (GDPR art. "
                           "6(1)(f))")),
    "connection_logs": (_l("Securing access to the account"),
                        _l("Legitimate interest in the security of the service (GDPR art. "
                           "6(1)(f))")),
    "consent_proofs": (_l("Proving the consents given"),
                       _l("Legal obligation to prove consent (GDPR art. 7(1) and 6(1)(c))")),
    "rights_requests": (_l("Proving how each request about the data was answered"),
                        _l("Legal obligation to answer such requests (GDPR art. 12 and "
                           "6(1)(c))")),
}


@dataclass(frozen=True)
class Kept:
    """One kind of a participant's data: what it is, until when it is kept and why."""

    kind: str
    label: str
    until: date | None  # None: none held now, or each item has its own date (see ``rule``)
    rule: str  # the retention rule, in words
    purpose: str
    basis: str


@dataclass(frozen=True)
class PrivacyFacts:
    """What a tenant keeps about a participant and why (PRODUCT.md, "Retention and deletion":
    admins see, per participant, what is kept and why; "A participant manages their data":
    they see when each kind goes and why). One function builds it for the participant's
    privacy page and for the staff's view of the same person, so both show the same facts."""

    data: dict[str, Any]  # the export: every section the features declare
    kept: list[Kept]
    requests: list[RightsRequest]


def privacy_facts(db: Session, participant: Participant, language: str = "en",
                  default: str = "fr") -> PrivacyFacts:
    kept = []
    for expiry in retention.schedule_for(db, participant):
        # Every kind has its reasons (tests/tenants/test_rights_kept.py); a dash rather than
        # an error page should one be added without them.
        purpose, basis = REASONS.get(expiry.kind, ("—", "—"))
        kept.append(Kept(expiry.kind, expiry.label, expiry.until, expiry.why, str(purpose),
                         str(basis)))
    return PrivacyFacts(export_data(db, participant, language, default), kept,
                        of_participant(db, participant.id))


def export_json(db: Session, participant: Participant, language: str = "en") -> str:
    return json.dumps(export_data(db, participant, language), ensure_ascii=False, indent=2,
                      sort_keys=False)


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items()
                for pair in _flatten(f"{prefix}.{key}" if prefix else key, item)]
    if isinstance(value, bool):
        return [(prefix, "true" if value else "false")]
    return [(prefix, "" if value is None else str(value))]


def export_csv(db: Session, participant: Participant, language: str = "en") -> str:
    """The same data in one sheet (section, row, field, value); every cell formula-safe."""
    lines = [csv_line(["section", "row", "field", "value"])]
    for section, content in export_data(db, participant, language).items():
        records = content if isinstance(content, list) else [content]
        for number, record in enumerate(records, start=1):
            lines.extend(csv_line([section, str(number), field, value])
                         for field, value in _flatten("", record))
    return "\ufeff" + "".join(lines)


# --- erasure -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    """What an erasure removed (counts only: no personal data), for the audit trail."""

    ratings: int
    registrations: int


def erase(db: Session, participant: Participant) -> Erased:
    """Erase ``participant`` for good, each feature as it declares (``tenants.privacy``): their
    ratings stay in the averages as "Former participant" with the comment removed; their
    registrations are cancelled through the registration services, so freed seats go to the
    waiting lists, then deleted; consent proofs and rights requests stay, as the tenant's
    proof, without the link; the rest is deleted, the participant last.
    """
    handled = privacy.erase(db, participant)
    return Erased(ratings=handled["ratings"], registrations=handled["registrations"])
