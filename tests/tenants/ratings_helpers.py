"""Small helpers for the ratings tests (kept here, not in tests/factories.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.clock import utcnow
from tenants import api as tenants_api
from tenants.ratings import services
from tenants.ratings.models import Rating
from tenants.registration.models import Registration
from tenants.settings import services as settings
from tests import factories
from tests.tenants.registration_helpers import add_people


def past_event(slug: str, *, ended: timedelta = timedelta(days=1), **fields: object) -> int:
    """A published event that ended ``ended`` ago (two hours long)."""
    end = utcnow().replace(microsecond=0) - ended
    return factories.event(slug, starts_at=end - timedelta(hours=2), ends_at=end, **fields)


def attendee(slug: str, event_id: int, participant_id: int, *, attended: bool = True,
             status: str = "confirmed") -> int:
    """A registration written directly (the event is over), marked attended if asked."""
    with tenants_api.tenant_context(slug) as session:
        now = utcnow()
        registration = Registration(event_id=event_id, participant_id=participant_id,
                                    status=status, created_at=now - timedelta(days=10),
                                    attended_at=now if attended else None)
        session.add(registration)
        session.flush()
        return registration.id


def people(slug: str, count: int, start: int = 0) -> list[int]:
    """Confirmed participants (r<n>@example.org), quick to create in bulk."""
    return add_people(slug, count, start, prefix="r")


def ratings(slug: str, event_id: int, stars: list[int], *, comment: str = "Good",
            status: str = "published", participant_ids: list[int] | None = None) -> list[int]:
    """Ratings written directly (authors created unless given), one per star count."""
    authors = participant_ids or people(slug, len(stars), start=event_id * 100_000)
    with tenants_api.tenant_context(slug) as session:
        now = utcnow()
        rows = [Rating(event_id=event_id, participant_id=pid, stars=n, comment=comment,
                       status=status, created_at=now - timedelta(minutes=i))
                for i, (pid, n) in enumerate(zip(authors, stars, strict=True))]
        session.add_all(rows)
        session.flush()
        services.recount(session, event_id)
        return [r.id for r in rows]


def rating(slug: str, rating_id: int) -> Rating | None:
    with tenants_api.tenant_context(slug) as session:
        found = session.get(Rating, rating_id)
        if found is not None:
            session.expunge(found)
        return found


def all_ratings(slug: str) -> list[tuple[int | None, int, str, str]]:
    with tenants_api.tenant_context(slug) as session:
        return [tuple(row) for row in session.execute(  # type: ignore[misc]
            select(Rating.participant_id, Rating.stars, Rating.comment, Rating.status)
            .order_by(Rating.id))]


def configure(slug: str, **values: object) -> None:
    """Change ratings settings directly."""
    with tenants_api.tenant_context(slug, writer=True) as session:
        current = settings.get(session)
        for name, value in values.items():
            setattr(current, name, value)
