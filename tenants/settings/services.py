"""Reading and changing the tenant's settings."""

from __future__ import annotations

from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from tenants.participants.models import Participant
from tenants.settings.models import VISIBILITIES, Settings

SUPPORTED_LANGUAGES = ("fr", "en")


def get(db: Session) -> Settings:
    """The settings row (one per tenant), cached for the session's life."""
    cached = db.info.get("tenant_settings")
    if cached is not None and cached in db:
        return cached
    settings = db.get(Settings, 1)
    if settings is None:
        settings = Settings(id=1, languages=list(SUPPORTED_LANGUAGES),
                            max_visibility="participants")
        db.add(settings)
        db.flush()
    db.info["tenant_settings"] = settings
    return settings


def languages(db: Session) -> tuple[str, ...]:
    return tuple(get(db).languages)


def update(db: Session, *, languages: list[str], max_visibility: str) -> Settings:
    """Change the settings; ``languages`` default first. Lowering the widest visibility
    lowers, in one statement, every participant who had chosen more to the new maximum."""
    if not languages or any(lang not in SUPPORTED_LANGUAGES for lang in languages):
        raise ValueError("languages")
    if max_visibility not in VISIBILITIES:
        raise ValueError("max_visibility")
    settings = get(db)
    lowered = VISIBILITIES.index(max_visibility) < VISIBILITIES.index(settings.max_visibility)
    settings.languages = list(dict.fromkeys(languages))
    settings.max_visibility = max_visibility
    db.flush()
    if lowered:
        above = VISIBILITIES[VISIBILITIES.index(max_visibility) + 1:]
        db.execute(sql_update(Participant).where(Participant.visibility.in_(above))
                   .values(visibility=max_visibility))
    return settings


def allowed_visibilities(db: Session) -> tuple[str, ...]:
    """The visibilities a participant may choose: up to the tenant's maximum."""
    maximum = get(db).max_visibility
    return VISIBILITIES[: VISIBILITIES.index(maximum) + 1]
