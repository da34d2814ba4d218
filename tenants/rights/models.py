"""Rights requests (the tenant's inbox and its step log) and each participant's standing
privacy choices: restriction of processing, objection, post-mortem directive.

A request's record outlives the account it was about (``participant_id`` becomes NULL on
erasure): it is the controller's proof of having answered, kept per the retention matrix.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Integer, Select, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import BigKey
from tenants.db import TenantBase
from tenants.texts import JSONType

# GDPR arts. 15-22 and French law art. 85 (post-mortem directives), in the form's order.
KINDS = ("access", "portability", "rectification", "erasure", "restriction", "objection",
         "directive")
STATUSES = ("unverified", "open", "completed")
DIRECTIVES = ("keep", "erase", "hand_over")


class RightsRequest(TenantBase):
    __tablename__ = "rights_requests"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254), index=True)
    participant_id: Mapped[int | None] = mapped_column(
        BigKey, ForeignKey("participants.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(String(12))  # form | self-service
    # The requester's language: every e-mail about the request is in it, whoever answers.
    language: Mapped[str | None] = mapped_column(String(5))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[datetime]
    # Receipt is when the sender proved the address (the legal clock starts then).
    received_at: Mapped[datetime | None]
    due_on: Mapped[date | None]
    extended_to: Mapped[date | None]
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    completed_at: Mapped[datetime | None]
    # What answered it, without personal data: export digest and size, erasure counts, a note.
    evidence: Mapped[dict | None] = mapped_column(JSONType)
    # The e-mailed verification code (keyed hash), then the answer's download link (hash).
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    download_hash: Mapped[str] = mapped_column(String(64), default="")
    download_expires_at: Mapped[datetime | None]


class RequestStep(TenantBase):
    """Every step of a request (received, verified, extended, completed…), who and when."""

    __tablename__ = "rights_request_steps"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("rights_requests.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    member_id: Mapped[int | None]  # control-plane account id (opaque here); None: the person
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class PrivacyChoices(TenantBase):
    """A participant's standing choices; no row means none made."""

    __tablename__ = "privacy_choices"

    participant_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True)
    # Art. 18: while set, the participant gets no e-mail and appears in no list or export.
    restricted_at: Mapped[datetime | None] = mapped_column(index=True)
    # Art. 21 objection to processing, awaiting the tenant's answer (restricts meanwhile).
    objected_at: Mapped[datetime | None]
    objection: Mapped[str] = mapped_column(Text, default="")
    directive: Mapped[str | None] = mapped_column(String(10))  # keep | erase | hand_over
    directive_name: Mapped[str] = mapped_column(String(200), default="")
    directive_email: Mapped[str] = mapped_column(String(254), default="")
    directive_at: Mapped[datetime | None]


def restricted_ids() -> Select:
    """Ids of the participants whose data may only be stored (restricted, or objecting while
    the tenant decides): a subquery for the lists, exports and e-mails to leave them out."""
    return select(PrivacyChoices.participant_id).where(or_(
        PrivacyChoices.restricted_at.is_not(None), PrivacyChoices.objected_at.is_not(None)))


def restricted_among(db: Session, participant_ids: set[int]) -> set[int]:
    """Which of these participants are restricted (the staff's roster marks them)."""
    if not participant_ids:
        return set()
    return set(db.scalars(restricted_ids().where(
        PrivacyChoices.participant_id.in_(participant_ids))))


def is_restricted(db: Session, participant_id: int) -> bool:
    """Whether nothing but storage may be done with this participant's data (no e-mail)."""
    return db.scalar(restricted_ids().where(
        PrivacyChoices.participant_id == participant_id)) is not None


def of_participant(db: Session, participant_id: int) -> list[RightsRequest]:
    """The participant's requests (verified ones), newest first."""
    return list(db.scalars(select(RightsRequest)
                           .where(RightsRequest.participant_id == participant_id,
                                  RightsRequest.status != "unverified")
                           .order_by(RightsRequest.created_at.desc(), RightsRequest.id.desc())))
