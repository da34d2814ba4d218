"""Rights requests sent to Parvis: the e-mailed code, then the forwarding.

PRODUCT.md, "Data-subject rights": *the platform, as processor, forwards requests it receives
to the right tenant(s) and helps them answer; it never answers in the controller's place.*
Enforced here:

- the sender proves the address with a code, under the tenants' own rules (lifetime, attempts,
  one new code a minute at most: ``tenants.api.RIGHTS_*``);
- once verified the request is *received* (the legal clock starts) and a job forwards it to
  every tenant with an account at that address, each copy opening in that tenant's inbox with
  its clock started at the platform's receipt;
- nothing the requester sees or receives depends on where the address is known: the lookup
  happens in the job, after the answer page is sent, and the page is the same;
- the forwarding is logged by tenant and by the id the request has there; the address and the
  message leave the control plane once forwarded.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import email_codes
from core.clock import utcnow
from core.web.pagination import Page, paginate
from tenants import api as tenants_api
from webapp.organisations.models import Tenant, TenantStatus
from webapp.rights_intake.models import PlatformRightsRequest, RightsForwarding

log = logging.getLogger(__name__)

KINDS = tuple(tenants_api.RIGHTS_KIND_LABELS)
TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)
# Tenants whose data is held and whose controller can answer: open ones, and suspended ones
# (closed by an operator, their data intact: the request waits in their inbox). Ended tenants
# are past the contract; their data is being returned and destroyed as a whole.
FORWARDED_TO = (TenantStatus.ACTIVE, TenantStatus.READ_ONLY, TenantStatus.SUSPENDED)


def _code_scope(request_id: int) -> str:
    """Which request a code proves: the platform's, this one."""
    return f"platform:{request_id}"


def by_token(db: Session, token: str) -> PlatformRightsRequest | None:
    if len(token) != TOKEN_LENGTH:
        return None
    return db.scalar(select(PlatformRightsRequest).where(PlatformRightsRequest.token == token))


def submit(db: Session, *, kind: str, email: str, details: str,
           language: str) -> tuple[PlatformRightsRequest, str | None]:
    """A request waiting for its sender to prove the address; returns it and the code to
    e-mail. The same right asked again from the same address before verifying replaces the
    code; within a minute of the last code there is none (None): the form cannot be
    used to flood an inbox. Nothing here looks at the tenants."""
    if kind not in KINDS:
        raise ValueError(kind)
    email = email.strip().lower()
    now = utcnow()
    request = email_codes.unverified(db, PlatformRightsRequest, email=email, kind=kind, now=now)
    if request is None:
        request = PlatformRightsRequest(token=secrets.token_urlsafe(32), kind=kind, email=email,
                                        status="unverified", created_at=now, language=language)
        db.add(request)
        db.flush()
    code = email_codes.issue(request, _code_scope(request.id), now)
    if code is not None:
        request.details, request.language = details.strip(), language
    db.flush()
    return request, code


@dataclass(frozen=True)
class Verification:
    outcome: str  # received | wrong | expired
    attempts_left: int = 0


def verify(db: Session, request: PlatformRightsRequest, code: str) -> Verification:
    """Check the e-mailed code (``core.email_codes``: 5 tries in its lifetime); a right
    code makes the request received, to be forwarded."""
    if request.status != "unverified":
        return Verification("expired")
    now = utcnow()
    checked = email_codes.check(request, _code_scope(request.id), code, now)
    if checked.outcome != "right":
        db.flush()
        return Verification(checked.outcome, attempts_left=checked.attempts_left)
    request.status, request.received_at = "received", now
    db.flush()
    return Verification("received")


def due_on(request: PlatformRightsRequest) -> date | None:
    """When the organisations concerned must answer by (each may extend, and says so)."""
    if request.received_at is None:
        return None
    return tenants_api.rights_due_on(request.received_at.date())


class ForwardingFailed(Exception):
    """Some tenants could not be reached; the job is tried again (forwarding is idempotent)."""


def recipients(db: Session) -> list[Tenant]:
    return list(db.scalars(select(Tenant).where(Tenant.status.in_(FORWARDED_TO))
                           .order_by(Tenant.id)))


def forward(db: Session, request: PlatformRightsRequest) -> list[RightsForwarding]:
    """Forward a received request to every tenant with an account at its address, log each
    forwarding, then empty the address and the message. A tenant that fails does not stop the
    others; the job fails after trying them all and is run again, which forwards to nobody
    twice (``tenants.rights.forwarding.forward`` finds what it opened before)."""
    if request.status != "received" or request.received_at is None:
        return []
    done: list[RightsForwarding] = []
    failed: list[str] = []
    for tenant in recipients(db):
        try:
            if not tenants_api.knows_address(tenant.slug, request.email):
                continue
            tenant_request_id = tenants_api.forward_rights_request(
                tenant.slug, email=request.email, kind=request.kind, details=request.details,
                language=request.language, received_at=request.received_at,
                platform_id=request.id)
        except Exception:
            log.exception("rights request %s: forwarding to %s failed", request.id, tenant.slug)
            failed.append(tenant.slug)
            continue
        if tenant_request_id is not None:  # else the account went meanwhile
            done.append(RightsForwarding(request_id=request.id, tenant_id=tenant.id,
                                         tenant_request_id=tenant_request_id, at=utcnow()))
    if failed:
        raise ForwardingFailed(", ".join(failed))
    db.add_all(done)
    request.status, request.forwarded_at = "forwarded", utcnow()
    request.email, request.details = "", ""
    db.flush()
    log.info("rights request %s forwarded to %d tenant(s)", request.id, len(done))
    return done


def forwardings(db: Session, request: PlatformRightsRequest) -> list[RightsForwarding]:
    return list(db.scalars(select(RightsForwarding).where(
        RightsForwarding.request_id == request.id).order_by(RightsForwarding.id)))


# --- the operators' view ---------------------------------------------------------------------

# A verified request is forwarded within seconds; one still waiting after this is late (its job
# failing, or given up after its attempts): the operators' page says so and can try again.
FORWARD_LATE = timedelta(hours=1)


def received_page(db: Session, page: int) -> tuple[Page[PlatformRightsRequest], dict[int, int]]:
    """A page of the verified requests, newest first, and how many organisations each was
    forwarded to. Nothing personal: the address is shown to nobody (and is gone once
    forwarded)."""
    found = paginate(db, select(PlatformRightsRequest).where(
        PlatformRightsRequest.status != "unverified").order_by(
        PlatformRightsRequest.received_at.desc(), PlatformRightsRequest.id.desc()), page)
    ids = [request.id for request in found]
    counts = dict(db.execute(select(RightsForwarding.request_id, func.count()).where(
        RightsForwarding.request_id.in_(ids)).group_by(RightsForwarding.request_id)).all())
    return found, {int(key): int(value) for key, value in counts.items()}


def is_late(request: PlatformRightsRequest, now: datetime) -> bool:
    """Received, not yet forwarded, for longer than ``FORWARD_LATE``."""
    return (request.status == "received" and request.received_at is not None
            and request.received_at < now - FORWARD_LATE)
