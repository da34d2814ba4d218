"""Small helpers for the registration tests (kept here, not in tests/factories.py)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.events.models import Event
from tenants.participants.models import Participant
from tenants.registration.models import Registration
from tests import factories


def add_people(slug: str, count: int, start: int = 0, *, prefix: str = "p") -> list[int]:
    """Confirmed participants without a password (quick to create in bulk)."""
    with tenants_api.tenant_context(slug) as session:
        found = [Participant(email=f"{prefix}{start + i}@example.org",
                             first_name=f"First{start + i}", last_name=f"Last{start + i}",
                             email_confirmed_at=utcnow())
                 for i in range(count)]
        session.add_all(found)
        session.flush()
        return [p.id for p in found]


def person(slug: str, email: str, *, language: str = "en", **fields: str) -> int:
    """A confirmed participant (their e-mails in ``language``)."""
    fields.setdefault("first_name", email.split("@")[0].capitalize())
    fields.setdefault("last_name", "Tester")
    return factories.confirmed_participant(slug, email, language=language, **fields)


def status(slug: str, registration_id: int) -> str:
    with tenants_api.tenant_context(slug) as session:
        return session.get(Registration, registration_id).status


def registration_id(slug: str, event_id: int, participant_id: int) -> int:
    with tenants_api.tenant_context(slug) as session:
        return session.scalar(select(Registration.id).where(
            Registration.event_id == event_id, Registration.participant_id == participant_id))


def seats(slug: str, event_id: int) -> tuple[int, int]:
    """(seats_taken, confirmed registrations): always equal."""
    with tenants_api.tenant_context(slug) as session:
        taken = session.get(Event, event_id).seats_taken
        confirmed = session.scalar(select(func.count()).select_from(Registration).where(
            Registration.event_id == event_id, Registration.status == "confirmed"))
        return taken, confirmed


def statuses(slug: str, event_id: int) -> dict[str, int]:
    with tenants_api.tenant_context(slug) as session:
        rows = session.execute(select(Registration.status, func.count())
                               .where(Registration.event_id == event_id)
                               .group_by(Registration.status))
        return {key: count for key, count in rows}
