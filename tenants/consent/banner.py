"""The tenant's consent banner: its texts, lifetime and services, and the configuration every
page reads (cached per process: see ``cache``).

A change of what the banner shows (texts, services) is a new version, so every visitor is asked
again; the hash of what was shown is the proof the ledger keeps with each choice.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cookie_lifetimes import Lifetime, parse
from core.cookie_lifetimes import check as check_lifetimes
from tenants import db as tenant_db
from tenants.consent.cache import configs
from tenants.consent.models import PURPOSES, ConsentConfig, ConsentService

MAX_LIFETIME_MONTHS = 13
RETENTION_YEARS = (1, 6)  # bounds of the platform; default 5 (PRODUCT.md retention matrix)
COOKIE_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")  # RFC 6265 token
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


def origin(url: str) -> str:
    """``https://host[:port]`` of a validated URL: a CSP source expression."""
    parts = urlsplit(url)
    return f"https://{parts.netloc}"


def valid_load_url(url: str) -> bool:
    """An https URL with a plain host name, no credentials, nothing a CSP or an attribute could
    misread (no spaces, quotes, semicolons or commas)."""
    if len(url) > 500 or any(c in url for c in " \t\r\n\"'<>;,\\") or not url.isprintable():
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (parts.scheme == "https" and not parts.username and not parts.password
            and port != 0 and bool(HOST.fullmatch(host)) and parts.netloc.lower() == parts.netloc
            and (port is None or parts.netloc == f"{host}:{port}"))


@dataclass(frozen=True)
class Service:
    id: int
    name: str
    provider: str
    purpose: str
    cookies: tuple[tuple[str, Lifetime], ...]  # name, lifetime (shown translated)
    location: str
    load_kind: str
    load_url: str | None

    @property
    def needs_consent(self) -> bool:
        return self.purpose != "necessary"


@dataclass(frozen=True, eq=False)
class Config:
    """What the banner shows and asks, as of ``version`` (compared and hashed by identity:
    one object per cached read)."""

    version: int
    texts_hash: str
    texts: dict
    lifetime_months: int
    retention_years: int
    link_participant: bool
    services: tuple[Service, ...]
    # CSP origins per accepted set, computed once per cached configuration.
    _sources: dict = field(default_factory=dict, repr=False)

    def sources(self, accepted: frozenset[int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The origins a page may load from for a visitor who accepted ``accepted``:
        (scripts, frames)."""
        found = self._sources.get(accepted)
        if found is None:
            allowed = [(s.load_url, s.load_kind) for s in self.services if s.load_url
                       and (not s.needs_consent or s.id in accepted)]
            found = self._sources[accepted] = (
                tuple(sorted({origin(url) for url, kind in allowed if kind == "script"})),
                tuple(sorted({origin(url) for url, kind in allowed if kind == "embed"})))
        return found

    @functools.cached_property
    def optional(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.needs_consent)

    @functools.cached_property
    def optional_ids(self) -> frozenset[int]:
        return frozenset(s.id for s in self.optional)

    def purposes(self) -> tuple[tuple[str, tuple[Service, ...]], ...]:
        """The purposes in use, in banner order, each with its services."""
        return self._purposes

    @functools.cached_property
    def _purposes(self) -> tuple[tuple[str, tuple[Service, ...]], ...]:
        return tuple((purpose, found) for purpose in PURPOSES
                     if (found := tuple(s for s in self.services if s.purpose == purpose)))


def get_row(db: Session) -> ConsentConfig:
    """The banner row, created with defaults on first use."""
    row = db.get(ConsentConfig, 1)
    if row is None:
        row = ConsentConfig(id=1, texts={}, lifetime_months=MAX_LIFETIME_MONTHS,
                            retention_years=5, link_participant=False, version=1,
                            texts_hash="")
        db.add(row)
        db.flush()
    return row


def list_services(db: Session, *, active: bool = False) -> list[ConsentService]:
    """The tenant's services; ``active``: without those blocked (a transfer outside the EU
    the owner has not authorised), which the banner neither shows nor loads."""
    query = select(ConsentService).order_by(ConsentService.position, ConsentService.id)
    if active:
        query = query.where(ConsentService.blocked.is_(False))
    return list(db.scalars(query))


@dataclass(frozen=True)
class ToFix:
    """A cookie whose lifetime was free text that could not be structured (see
    ``core.cookie_lifetimes``), or that declares more than 13 months: the admin must correct
    it (the consent admin page says so)."""

    service: ConsentService
    cookie: str
    written: str
    over_cap: bool


def lifetimes_to_fix(db: Session) -> list[ToFix]:
    found = []
    for service in list_services(db):
        for cookie in service.cookies or ():
            lifetime = Lifetime.of(cookie)
            if lifetime.needs_fixing:
                read = parse(lifetime.text) if not lifetime.readable else lifetime
                found.append(ToFix(service, str(cookie.get("name", "")), lifetime.text,
                                   read is not None and not read.within_cap))
    return found


def _service(row: ConsentService) -> Service:
    return Service(row.id, row.name, row.provider, row.purpose,
                   tuple((c["name"], Lifetime.of(c)) for c in row.cookies or ()),
                   row.location, row.load_kind, row.load_url)


def config(db: Session | None = None) -> Config:
    """The active tenant's configuration (cached; see tenants/consent/cache.py). ``db`` is the
    tenant's session, the active one by default (opened only on a cache miss)."""
    kept = configs.get(db.info["tenant"] if db is not None else tenant_db.current_slug())
    if kept is not None:
        return kept
    db = db if db is not None else tenant_db.session()
    row = db.get(ConsentConfig, 1)
    found = Config(
        version=row.version if row else 1, texts_hash=row.texts_hash if row else "",
        texts=dict(row.texts or {}) if row else {},
        lifetime_months=row.lifetime_months if row else MAX_LIFETIME_MONTHS,
        retention_years=row.retention_years if row else 5,
        link_participant=row.link_participant if row else False,
        services=tuple(_service(s) for s in list_services(db, active=True)))
    configs.put(db, found)
    return found


def _fingerprint(row: ConsentConfig, services: list[ConsentService]) -> str:
    """A hash of everything the banner and the policy page say (proof of what was shown)."""
    shown = {"texts": row.texts, "lifetime_months": row.lifetime_months,
             "services": [{"name": s.name, "provider": s.provider, "purpose": s.purpose,
                           "cookies": s.cookies, "location": s.location,
                           "load_kind": s.load_kind, "load_url": s.load_url}
                          for s in services]}
    canonical = json.dumps(shown, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def touch(db: Session) -> ConsentConfig:
    """Recompute the texts' hash after a change; a different hash is a new version, so every
    visitor is asked again."""
    db.flush()
    row = get_row(db)
    digest = _fingerprint(row, list_services(db, active=True))
    if digest != row.texts_hash:
        row.version = row.version + 1 if row.texts_hash else row.version
        row.texts_hash = digest
        db.flush()
    return row


def update_banner(db: Session, *, texts: dict, lifetime_months: int, retention_years: int,
                  link_participant: bool) -> ConsentConfig:
    if not 1 <= lifetime_months <= MAX_LIFETIME_MONTHS:
        raise ValueError("lifetime_months")
    if not RETENTION_YEARS[0] <= retention_years <= RETENTION_YEARS[1]:
        raise ValueError("retention_years")
    row = get_row(db)
    row.texts = texts
    row.lifetime_months = lifetime_months
    row.retention_years = retention_years
    row.link_participant = link_participant
    return touch(db)


def check_service(purpose: str, cookies: list[dict], load_kind: str,
                   load_url: str | None) -> None:
    if purpose not in PURPOSES:
        raise ValueError("purpose")
    if load_kind not in ("none", "script", "embed"):
        raise ValueError("load_kind")
    if (load_kind == "none") != (load_url is None) or (load_url and not valid_load_url(load_url)):
        raise ValueError("load_url")
    if any(not COOKIE_NAME.fullmatch(c.get("name", "")) for c in cookies):
        raise ValueError("cookies")
    # Each lifetime a number and a unit, at most 13 months (core.cookie_lifetimes; PRODUCT.md,
    # "Cookie consent"): a LifetimeError, a ValueError naming the cookie.
    check_lifetimes(cookies)


def save_service(db: Session, service: ConsentService | None, *, name: str, provider: str,
                 purpose: str, cookies: list[dict], location: str, load_kind: str,
                 load_url: str | None) -> ConsentService:
    """Add (``service`` None) or change a service; a new version follows."""
    check_service(purpose, cookies, load_kind, load_url)
    if service is None:
        service = ConsentService(position=len(list_services(db)))
        db.add(service)
    service.name, service.provider, service.purpose = name, provider, purpose
    service.cookies, service.location = cookies, location
    service.load_kind, service.load_url = load_kind, load_url
    touch(db)
    return service


def delete_service(db: Session, service: ConsentService) -> None:
    db.delete(service)
    touch(db)
