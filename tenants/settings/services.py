"""Reading and changing the tenant's settings."""

from __future__ import annotations

import copy

from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import is_writing
from core.zones import known_zones
from tenants.keeping import KeptPerTenant
from tenants.participants.models import Participant
from tenants.settings.models import (
    RATERS,
    RATING_EDIT_DAYS,
    RATING_ORDERS,
    RATING_VISIBILITIES,
    RATING_WINDOW_DAYS,
    VISIBILITIES,
    Settings,
    new_config_version,
)

SUPPORTED_LANGUAGES = ("fr", "en")


def defaults() -> Settings:
    """The settings a tenant starts with, as a row not stored (every column default)."""
    values: dict[str, object] = {}
    for column in Settings.__table__.columns:
        default = column.default
        if default is not None and default.is_scalar:
            values[column.key] = default.arg
        elif default is not None and default.is_callable:
            values[column.key] = default.arg(None)
    # Version 0: nothing is kept for a row that is not stored (tenants/settings/version.py).
    values.update(id=1, languages=list(SUPPORTED_LANGUAGES), max_visibility="participants",
                  config_version=0)
    return Settings(**values)


def ensure(db: Session) -> Settings:
    """The stored settings row, inserted with the defaults if missing (provisioning, and the
    first change of a tenant provisioned before the row was made there); writers only."""
    settings = db.get(Settings, 1)
    if settings is None:
        try:  # a savepoint: two writers of a tenant without the row may both insert it
            with db.begin_nested():
                settings = defaults()
                settings.config_version = new_config_version()
                db.add(settings)
                db.flush()
        except IntegrityError:
            settings = db.get(Settings, 1)
            assert settings is not None  # the other insert committed before ours failed
    return settings


# The settings row of each tenant, as units of work that only read get it: a copy outside any
# session, kept by this process until a change to the form's design commits
# (tenants/settings/version.py tells it; see tenants/keeping.py). Most pages read nothing else.
kept: KeptPerTenant[Settings] = KeptPerTenant("settings")


def get(db: Session) -> Settings:
    """The settings row (one per tenant, made at provisioning), cached for the session's life.

    A unit of work that writes gets the session's row, to change. One that only reads gets the
    process's copy (``kept``), read on a miss; it must not change it. A tenant provisioned
    before the row was made there reads the defaults, not stored: a read never writes (on
    SQLite a read that writes fails under load, see tenants/db.py); the row is stored by the
    first unit of work that writes and asks for it.
    """
    cached = db.info.get("tenant_settings")
    if cached is not None and (cached in db or not is_writing()):
        return cached
    settings = ensure(db) if is_writing() else (kept.get(db.info["tenant"]) or _read(db))
    db.info["tenant_settings"] = settings
    return settings


def _read(db: Session) -> Settings:
    row = db.get(Settings, 1)
    if row is None:
        return defaults()
    settings = _detached(row)
    kept.put(db, settings)
    return settings


def _detached(row: Settings) -> Settings:
    """A copy of ``row`` that belongs to no session (values copied deeply: lists are shared
    by every request that reads the copy)."""
    return Settings(**{column.key: copy.deepcopy(getattr(row, column.key))
                       for column in Settings.__mapper__.column_attrs})


def _stored(db: Session) -> Settings:
    """The row to change: stored now if the tenant had none (whatever the unit of work
    declared, since it writes)."""
    settings = ensure(db)
    db.info["tenant_settings"] = settings
    return settings


def languages(db: Session) -> tuple[str, ...]:
    return tuple(get(db).languages)


RATINGS_KEYS = ("ratings_raters", "ratings_window_days", "ratings_edit_days",
                "ratings_autopublish_stars", "ratings_premoderate_comments",
                "ratings_visibility", "ratings_order")


def _check_ratings(values: dict[str, object]) -> None:
    """ValueError(name) for a ratings setting out of its choices or bounds."""
    choices = {"ratings_raters": RATERS, "ratings_visibility": RATING_VISIBILITIES,
               "ratings_order": RATING_ORDERS}
    bounds = {"ratings_window_days": RATING_WINDOW_DAYS, "ratings_edit_days": RATING_EDIT_DAYS}
    for name, value in values.items():
        if name not in RATINGS_KEYS:
            raise ValueError(name)
        if name in choices and value not in choices[name]:
            raise ValueError(name)
        if name in bounds and not (isinstance(value, int) and not isinstance(value, bool)
                                   and bounds[name][0] <= value <= bounds[name][1]):
            raise ValueError(name)
        if name.startswith(("ratings_autopublish", "ratings_premoderate")) and not isinstance(
                value, bool):
            raise ValueError(name)


def update_ratings(db: Session, **values: object) -> Settings:
    """Change the ratings policy (any of RATINGS_KEYS); ValueError(name) if one is out of its
    choices or bounds, and then nothing changes."""
    _check_ratings(values)
    settings = _stored(db)
    for name, value in values.items():
        setattr(settings, name, value)
    db.flush()
    return settings


def update(db: Session, *, languages: list[str], max_visibility: str,
           timezone: str | None = None) -> Settings:
    """Change the settings; ``languages`` default first; ``timezone`` an IANA zone (None
    keeps it). Lowering the widest visibility lowers, in one statement, every participant who
    had chosen more to the new maximum."""
    if not languages or any(lang not in SUPPORTED_LANGUAGES for lang in languages):
        raise ValueError("languages")
    if max_visibility not in VISIBILITIES:
        raise ValueError("max_visibility")
    if timezone is not None and timezone not in known_zones():
        raise ValueError("timezone")
    settings = _stored(db)
    lowered = VISIBILITIES.index(max_visibility) < VISIBILITIES.index(settings.max_visibility)
    settings.languages = list(dict.fromkeys(languages))
    settings.max_visibility = max_visibility
    if timezone is not None:
        settings.timezone = timezone
    db.flush()
    if lowered:
        above = VISIBILITIES[VISIBILITIES.index(max_visibility) + 1:]
        db.execute(sql_update(Participant).where(Participant.visibility.in_(above))
                   .values(visibility=max_visibility))
    return settings


def time_zone(db: Session) -> str:
    """The tenant's time zone (IANA name)."""
    return get(db).timezone


def allowed_visibilities(db: Session) -> tuple[str, ...]:
    """The visibilities a participant may choose: up to the tenant's maximum."""
    maximum = get(db).max_visibility
    return VISIBILITIES[: VISIBILITIES.index(maximum) + 1]
