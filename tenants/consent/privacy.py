"""The personal data of the consent ledger: proofs of the consents a participant gave, and the
cookie ids that chain a visitor's choices (declared for ``tenants.privacy``; see
``tenants.personal_data``)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, update
from sqlalchemy.orm import Session

from core.db import rowcount
from tenants.consent.ledger import history
from tenants.consent.models import ConsentConfig, ConsentEntry, ConsentService
from tenants.participants.models import Participant
from tenants.personal_data import NotPersonal, PersonalData, Step, deleting, when


def _export(db: Session, participant: Participant, language: str, default: str,
            ) -> list[dict[str, Any]]:
    return [{"kind": entry.kind, "choices": entry.choices, "given_at": when(entry.created_at),
             "expires_at": when(entry.expires_at), "replaced_at": when(entry.replaced_at)}
            for entry in history(db, participant.id)]


def _anonymise(db: Session, participant: Participant) -> int:
    # Proofs stay (without personal data) but no longer point at anyone: a later participant
    # could be given the same id.
    return rowcount(db.execute(update(ConsentEntry)
                               .where(ConsentEntry.participant_id == participant.id)
                               .values(participant_id=None)))


PERSONAL_DATA = (
    PersonalData(
        "consent_history",
        (ConsentEntry.participant_id, ConsentEntry.consent_id, ConsentEntry.chain_id,
         ConsentEntry.choices, ConsentEntry.created_at),
        retention=("consent_proofs",), export=_export, anonymise=_anonymise,
        steps=(Step("consent_proofs", "deleted", _l("deleted"),
                    *deleting(ConsentEntry,
                              func.coalesce(ConsentEntry.expires_at, ConsentEntry.replaced_at),
                              ConsentEntry.id)),)),
)

NOT_PERSONAL = (
    NotPersonal(ConsentService.name, "the name of a third-party service the tenant uses"),
    NotPersonal(ConsentConfig.link_participant,
                "a setting: whether a signed-in participant's cookie choices name them"),
)
