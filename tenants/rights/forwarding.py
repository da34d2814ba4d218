"""Rights requests Parvis received at the platform level and forwards to this tenant.

PRODUCT.md, "Data-subject rights": *the platform, as processor, forwards requests it receives to
the right tenant(s) and helps them answer; it never answers in the controller's place.* The
platform proved the sender's address with its own e-mailed code (``webapp/rights_intake``); the
request lands here as an open request of the inbox, its legal clock started when the platform
received it (the code was verified), not when it was forwarded. The tenant answers it like any
other; the platform keeps no copy of the message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from tenants.participants.models import Participant
from tenants.participants.services import normalise_email
from tenants.rights import services
from tenants.rights.models import KINDS, RequestStep, RightsRequest

SOURCE = "platform"


def knows(db: Session, email: str) -> bool:
    """Whether an account here has this address (deactivated ones included: their data is
    still held)."""
    return db.scalar(select(Participant.id).where(
        Participant.email == normalise_email(email))) is not None


def reference(platform_id: int) -> str:
    """What the request's history shows of the platform's record (to quote to Parvis)."""
    return f"Parvis #{platform_id}"


def forward(db: Session, *, email: str, kind: str, details: str, language: str,
            received_at: datetime, platform_id: int) -> RightsRequest | None:
    """Open the forwarded request in this tenant's inbox; None if no account has the address.

    Idempotent: forwarding the same platform request again (a retried job) finds the request
    it opened the first time. Like the tenant's own form, an open request for the same right
    from the same address is not doubled: it gets a "duplicate" step instead.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    email = normalise_email(email)
    participant_id = db.scalar(select(Participant.id).where(Participant.email == email))
    if participant_id is None:
        return None
    note = reference(platform_id)
    done = db.scalar(select(RequestStep.request_id)
                     .join(RightsRequest, RightsRequest.id == RequestStep.request_id)
                     .where(RightsRequest.email == email, RequestStep.note == note,
                            RequestStep.action.in_(("forwarded", "duplicate"))))
    if done is not None:
        return db.get(RightsRequest, done)
    existing = db.scalar(select(RightsRequest).where(
        RightsRequest.email == email, RightsRequest.kind == kind,
        RightsRequest.status == "open").order_by(RightsRequest.id))
    if existing is not None:
        services.step(db, existing, "duplicate", note=note)
        db.flush()
        return existing
    request = RightsRequest(
        kind=kind, email=email, participant_id=participant_id, source=SOURCE,
        language=language, details=details.strip(), status="open", created_at=utcnow(),
        # The legal clock runs from the platform's receipt (art. 12(3)).
        received_at=received_at, due_on=services.add_months(received_at.date(), 1))
    db.add(request)
    db.flush()
    services.step(db, request, "forwarded", note=note)
    db.flush()
    return request
