"""Small helpers for the participant-account and answer tests (kept out of tests/factories.py)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select

from tenants import api as tenants_api
from tenants.fields.models import Answer, StandardField
from tenants.participants.models import Participant
from tenants.settings.models import Settings
from tests import factories
from tests.factories import PASSWORD
from tests.mail_sink import SMTPSink

__all__ = ["PASSWORD"]  # the factories' password, which every sign-up here uses too


def signup_data(email: str, password: str = PASSWORD, **answers: Any) -> dict[str, Any]:
    """What the sign-up form posts: first and last name are asked unless modes say otherwise."""
    return {"email": email, "password": password, "password_confirm": password,
            "first_name": "Ada", "last_name": "Lovelace", **answers}


def path(url: str) -> str:
    """The path of an e-mailed link, for the test client."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def mail_to(outbox: SMTPSink, to: str, subject: str) -> EmailMessage:
    return outbox.wait_for(lambda m: m["To"] == to and m["Subject"] == subject)


def subjects(outbox: SMTPSink, to: str) -> list[str]:
    return [m["Subject"] for m in outbox.messages if m["To"] == to]


def participant(slug: str, email: str, **fields: str) -> int:
    """A confirmed participant (password ``PASSWORD``) who reads e-mails in English."""
    fields.setdefault("language", "en")
    return factories.confirmed_participant(slug, email, **fields)


def modes(slug: str, **values: str) -> None:
    """Set standard-field modes (off | optional | required)."""
    with tenants_api.tenant_context(slug) as session:
        for key, mode in values.items():
            session.merge(StandardField(key=key, mode=mode))


def max_visibility(slug: str, value: str) -> None:
    with tenants_api.tenant_context(slug) as session:
        session.merge(Settings(id=1, languages=["fr", "en"], max_visibility=value))


def person(slug: str, email: str) -> Participant | None:
    """The participant row (detached, every column loaded), or None."""
    with tenants_api.tenant_context(slug) as session:
        return session.scalar(select(Participant).where(Participant.email == email))


def count(slug: str) -> int:
    with tenants_api.tenant_context(slug) as session:
        return session.scalar(select(func.count()).select_from(Participant))


def stored_answers(slug: str, participant_id: int) -> dict[int, Any]:
    with tenants_api.tenant_context(slug) as session:
        return dict(session.execute(select(Answer.field_id, Answer.value)
                                    .where(Answer.participant_id == participant_id)).all())


def answer_count(slug: str) -> int:
    with tenants_api.tenant_context(slug) as session:
        return session.scalar(select(func.count()).select_from(Answer))
