"""The personal data of data-subject rights: a participant's standing privacy choices, and the
rights requests with their steps (declared for ``tenants.privacy``; see
``tenants.personal_data``)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, update
from sqlalchemy.orm import Session

from core.db import rowcount
from tenants.consent.ledger import marketing
from tenants.participants.models import Participant
from tenants.personal_data import WITH_THE_ACCOUNT, PersonalData, Step, deleting, when
from tenants.rights.models import PrivacyChoices, RequestStep, RightsRequest, of_participant


def _export_choices(db: Session, participant: Participant, language: str, default: str,
                    ) -> dict[str, Any]:
    row = db.get(PrivacyChoices, participant.id)
    return {"restricted_since": when(row.restricted_at if row else None),
            "objected_at": when(row.objected_at if row else None),
            "post_mortem_directive": (row.directive if row else None) or "",
            "directive_recipient": (f"{row.directive_name} <{row.directive_email}>"
                                    if row and row.directive_email else ""),
            "marketing": marketing(db, participant.id)}


def _erase_choices(db: Session, participant: Participant) -> int:
    return rowcount(db.execute(delete(PrivacyChoices).where(
        PrivacyChoices.participant_id == participant.id)))


def _export_requests(db: Session, participant: Participant, language: str, default: str,
                     ) -> list[dict[str, Any]]:
    return [{"kind": request.kind, "received_at": when(request.received_at),
             "status": request.status, "completed_at": when(request.completed_at)}
            for request in of_participant(db, participant.id)]


def _anonymise_requests(db: Session, participant: Participant) -> int:
    # The requests stay, as the tenant's proof of its answers, without the link.
    return rowcount(db.execute(update(RightsRequest).where(
        RightsRequest.participant_id == participant.id).values(participant_id=None)))


# A request is closed when answered; one never verified is closed when its code expired.
_closed = func.coalesce(RightsRequest.completed_at, RightsRequest.code_expires_at)

PERSONAL_DATA = (
    PersonalData(
        "privacy_choices",
        (PrivacyChoices.participant_id, PrivacyChoices.restricted_at, PrivacyChoices.objected_at,
         PrivacyChoices.objection, PrivacyChoices.directive, PrivacyChoices.directive_name,
         PrivacyChoices.directive_email, PrivacyChoices.directive_at),
        retention=WITH_THE_ACCOUNT, export=_export_choices, erase=_erase_choices),
    PersonalData(
        "rights_requests",
        (RightsRequest.email, RightsRequest.participant_id, RightsRequest.language,
         RightsRequest.details, RightsRequest.created_at, RightsRequest.received_at,
         RightsRequest.extension_reason, RightsRequest.completed_at, RightsRequest.evidence,
         RequestStep.request_id, RequestStep.member_id, RequestStep.note, RequestStep.at),
        retention=("rights_requests",), export=_export_requests, anonymise=_anonymise_requests,
        steps=(Step("rights_requests", "deleted", _l("deleted"),
                    *deleting(RightsRequest, _closed, RightsRequest.id,
                              RightsRequest.status != "open")),)),
)
