"""The personal data of participants' accounts: the profile, sign-in records and failed
sign-ins (declared for ``tenants.privacy``; see ``tenants.personal_data``).

The account's own lifecycle (warned, deactivated, erased when inactive or deleted by its owner)
is the retention sweep's (``tenants/retention/sweep.py``): erasing an account runs every
feature's erasure through the registry, so it cannot be one of them.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.db import rowcount
from tenants.participants.models import (
    STANDARD_FIELDS,
    Participant,
    ParticipantLoginFailure,
    ParticipantToken,
)
from tenants.personal_data import WITH_THE_ACCOUNT, PersonalData, Step, deleting, when


def _profile(db: Session, participant: Participant, language: str, default: str,
             ) -> dict[str, Any]:
    return {"email": participant.email,
            **{key: getattr(participant, key) for key in STANDARD_FIELDS},
            "language": participant.language, "list_visibility": participant.visibility,
            "email_confirmed_at": when(participant.email_confirmed_at),
            "last_active_at": when(participant.last_active_at),
            "created_at": when(participant.created_at)}


def _delete_account(db: Session, participant: Participant) -> int:
    # Last of an erasure (the registry runs features backwards, and this one is first).
    db.delete(participant)
    return 1


def _delete_sign_ins(db: Session, participant: Participant) -> int:
    return rowcount(db.execute(delete(ParticipantToken).where(
        ParticipantToken.participant_id == participant.id)))


PERSONAL_DATA = (
    PersonalData(
        "profile",
        (Participant.email, Participant.password_hash, Participant.first_name,
         Participant.last_name, Participant.mobile_phone, Participant.city,
         Participant.postal_code, Participant.job_function, Participant.language,
         Participant.visibility, Participant.email_confirmed_at,
         Participant.password_changed_at, Participant.last_active_at,
         Participant.inactivity_warned_at, Participant.inactivity_warning_sent_at,
         Participant.deactivated_at, Participant.deactivation_reason, Participant.created_at,
         Participant.updated_at),
        retention=WITH_THE_ACCOUNT, export=_profile, erase=_delete_account),
    # Sign-in, confirmation and reset links, and the sessions they opened.
    PersonalData(
        "sign_ins",
        (ParticipantToken.participant_id, ParticipantToken.purpose, ParticipantToken.created_at,
         ParticipantToken.expires_at, ParticipantToken.used_at),
        retention=("connection_logs",), erase=_delete_sign_ins,
        steps=(Step("connection_logs", "sign_ins", _l("sign-in records deleted"),
                    *deleting(ParticipantToken, ParticipantToken.expires_at,
                              ParticipantToken.token_hash)),)),
    # Failed sign-ins under a keyed hash of the address typed: tied to no account.
    PersonalData(
        "failed_sign_ins",
        (ParticipantLoginFailure.key, ParticipantLoginFailure.at),
        retention=("connection_logs",),
        steps=(Step("connection_logs", "failures", _l("failed sign-ins deleted"),
                    *deleting(ParticipantLoginFailure, ParticipantLoginFailure.at,
                              ParticipantLoginFailure.id)),)),
)
