"""Consent configuration, the visitor's consent state, and the ledger.

Every page asks ``visitor_state()``, so it is cheap: the tenant's configuration and the ledger
entries that cookies point at are cached in this process.

- The configuration is cached ``CONFIG_SECONDS`` per tenant, and forgotten at once when this
  process changes it (at flush and again at commit, so a page read in between is not kept).
  Another process sees a change within ``CONFIG_SECONDS``.
- A ledger entry never changes once written, but for ``replaced_at``: each choice gets a new
  consent id. So a cached entry stays true in every process; the one change (an entry
  replaced by a newer choice) is forgotten at once in the process that made it, and only a
  visitor replaying their own older cookie elsewhere could meet it.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy import event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from tenants import db as tenant_db
from tenants.consent.models import PURPOSES, ConsentConfig, ConsentEntry, ConsentService
from tenants.db import utcnow
from tenants.instructions import services as instructions

COOKIE = "parvis_consent"
CONSENT_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")  # new_consent_id(), or older random ids


def new_consent_id(at: datetime) -> str:
    """A ledger entry's id, which the visitor's cookie holds: the time in milliseconds (12 hex
    digits), then 120 random bits. Ids sort by creation, so the ledger's indexes on them grow
    at one end and a purge of old proofs rewrites a few index pages per batch; random ids made
    every batch rewrite pages all over both indexes (bench/RETENTION.md)."""
    return f"{int(at.timestamp() * 1000):012x}{secrets.token_urlsafe(15)}"
# The first well-formed value of our cookie in a Cookie header (the most specific path first).
COOKIE_VALUE = re.compile(rf"(?:^|;)\s*{COOKIE}=([A-Za-z0-9_-]{{32}})\s*(?:;|$)")
MAX_LIFETIME_MONTHS = 13
REFUSAL_MONTHS = 6
RETENTION_YEARS = (1, 6)  # bounds of the platform; default 5 (PRODUCT.md retention matrix)
CONFIG_SECONDS = 5.0
# Session flags: what this unit of work changed, to forget again once it commits.
CHANGED = "parvis_consent_changed"
ENTRIES_CHANGED = "parvis_consent_entries_changed"
MAX_CACHED_ENTRIES = 10_000
COOKIE_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")  # RFC 6265 token
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))


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


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    id: int
    name: str
    provider: str
    purpose: str
    cookies: tuple[tuple[str, str], ...]
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
            allowed = [s for s in self.services if s.load_url
                       and (not s.needs_consent or s.id in accepted)]
            found = self._sources[accepted] = (
                tuple(sorted({origin(s.load_url) for s in allowed if s.load_kind == "script"})),
                tuple(sorted({origin(s.load_url) for s in allowed if s.load_kind == "embed"})))
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


class _Caches:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configs: dict[tuple[int, str], tuple[float, Config]] = {}
        self.entries: OrderedDict[tuple[int, str, str], Decision | None] = OrderedDict()
        self.generation = 0

    def forget_configs(self) -> None:
        with self.lock:
            self.generation += 1
            self.configs.clear()

    def forget_entries(self, slug: str | None = None, consent_ids: Iterable[str] = ()) -> None:
        """Forget these entries of ``slug``'s ledger, or every entry (no slug)."""
        with self.lock:
            if slug is None:
                self.entries.clear()
                return
            for consent_id in consent_ids:
                self.entries.pop((*_key(slug), consent_id), None)


caches = _Caches()


def _key(slug: str) -> tuple[int, str]:
    # The pool tells apart databases of several apps in one process (tests); the slug, tenants.
    # From the tenant's bind, not a session: a page served from the page cache opens none.
    return id(tenant_db.bind_for(slug).pool), slug


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


def _service(row: ConsentService) -> Service:
    return Service(row.id, row.name, row.provider, row.purpose,
                   tuple((c["name"], c["lifetime"]) for c in row.cookies or ()),
                   row.location, row.load_kind, row.load_url)


def config(db: Session | None = None) -> Config:
    """The active tenant's configuration (cached; see the module's docstring). ``db`` is the
    tenant's session, the active one by default (opened only on a cache miss)."""
    key = _key(db.info["tenant"] if db is not None else tenant_db.current_slug())
    hit = caches.configs.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    generation = caches.generation
    db = db if db is not None else tenant_db.session()
    row = db.get(ConsentConfig, 1)
    found = Config(
        version=row.version if row else 1, texts_hash=row.texts_hash if row else "",
        texts=dict(row.texts or {}) if row else {},
        lifetime_months=row.lifetime_months if row else MAX_LIFETIME_MONTHS,
        retention_years=row.retention_years if row else 5,
        link_participant=row.link_participant if row else False,
        services=tuple(_service(s) for s in list_services(db, active=True)))
    with caches.lock:
        if generation == caches.generation:
            caches.configs[key] = (time.monotonic() + CONFIG_SECONDS, found)
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


# --- services from the operators' catalogue (GDPR Art. 28 and chapter V) -----------------------


def catalogue_service(db: Session, catalogue_id: int) -> ConsentService | None:
    return db.scalar(select(ConsentService).where(ConsentService.catalogue_id == catalogue_id))


def enable_catalogue(db: Session, entry: dict, member_id: int | None) -> ConsentService:
    """Enable the catalogue ``entry`` (plain values from the control plane) for this tenant.

    A service processing data outside the EU (``entry["safeguard"]`` not None) is stored
    blocked: not in the banner, not loaded, until the owner authorises the transfer.
    Enabling twice keeps the first.
    """
    service = catalogue_service(db, entry["id"])
    if service is not None:
        return service
    blocked = entry["safeguard"] is not None
    service = save_service(db, None, name=entry["name"], provider=entry["provider"],
                           purpose=entry["purpose"], cookies=list(entry["cookies"]),
                           location=entry["location"], load_kind=entry["load_kind"],
                           load_url=entry["load_url"])
    service.catalogue_id, service.catalogue_version = entry["id"], entry["version"]
    service.transfer_safeguard, service.blocked = entry["safeguard"], blocked
    touch(db)
    summary = (_("Enabled %(name)s (%(provider)s); blocked until the owner authorises the "
                 "transfer to %(location)s", **_names(entry)) if blocked
               else _("Enabled %(name)s (%(provider)s, %(location)s)", **_names(entry)))
    instructions.record(db, "services", summary, member_id=member_id)
    return service


def disable_catalogue(db: Session, catalogue_id: int, member_id: int | None) -> bool:
    """Stop using a catalogue service at once (banner, loader and CSP follow the commit)."""
    service = catalogue_service(db, catalogue_id)
    if service is None:
        return False
    names = _names(service)
    delete_service(db, service)
    instructions.record(db, "services", _("Disabled %(name)s (%(provider)s)", **names),
                        member_id=member_id)
    return True


def authorise_transfer(db: Session, catalogue_id: int, version: int,
                       member_id: int | None) -> ConsentService | None:
    """Unblock an enabled service whose transfer outside the EU the owner authorises, for the
    catalogue ``version`` they were shown; None (nothing changed) for any other case."""
    service = catalogue_service(db, catalogue_id)
    if service is None or not service.blocked or service.catalogue_version != version:
        return None
    service.blocked = False
    touch(db)
    instructions.record(db, "services", _(
        "Authorised the transfer of data to %(location)s for %(name)s (%(provider)s)",
        **_names(service)), member_id=member_id)
    return service


def _names(service: Any) -> dict[str, str]:
    get = service.get if isinstance(service, dict) else functools.partial(getattr, service)
    return {"name": get("name"), "provider": get("provider"), "location": get("location")}


# --- the visitor's state -----------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """A ledger entry as the request path needs it."""

    consent_id: str
    chain_id: str
    version: int
    accepted: frozenset[int]
    expires_at: datetime
    replaced: bool


_MISSING = object()


def _lookup(consent_id: str) -> Decision | None:
    """The visitor cookie's entry in this tenant's ledger, cached (misses too: ids are random,
    so an unknown one only becomes known through an insert here, which forgets it)."""
    key = (*_key(tenant_db.current_slug()), consent_id)
    hit = caches.entries.get(key, _MISSING)  # no lock to read: eviction is oldest-first
    if hit is not _MISSING:
        return hit  # type: ignore[return-value]
    row = tenant_db.session().scalar(select(ConsentEntry).where(
        ConsentEntry.consent_id == consent_id, ConsentEntry.kind == "cookies"))
    found = None
    if row is not None and row.expires_at is not None:
        found = Decision(row.consent_id, row.chain_id, row.version,
                         frozenset(int(k) for k, v in row.choices.items() if v is True),
                         row.expires_at, row.replaced_at is not None)
    with caches.lock:
        caches.entries[key] = found
        while len(caches.entries) > MAX_CACHED_ENTRIES:
            caches.entries.popitem(last=False)
    return found


@dataclass(frozen=True)
class VisitorState:
    config: Config
    decision: Decision | None  # the cookie's entry, valid or not (None: no or unknown id)
    valid: bool  # a current decision: not replaced, this version, not expired
    accepted: frozenset[int]

    @property
    def ask(self) -> bool:
        """Show the banner: there is something to consent to and no current decision."""
        return bool(self.config.optional) and not self.valid

    def allows(self, service: Service) -> bool:
        return not service.needs_consent or service.id in self.accepted

    def loaded(self, kind: str) -> list[Service]:
        """Services of ``kind`` (script, embed) this visitor's page may load."""
        return [s for s in self.config.services if s.load_kind == kind and self.allows(s)]

    def sources(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The origins the page's CSP must allow: (scripts, frames)."""
        return self.config.sources(self.accepted)

    def cache_key(self) -> tuple | None:
        """What a cached page depends on: None when the tenant asks nothing."""
        if not self.config.services:
            return None
        return self.config.version, self.ask, tuple(sorted(self.accepted))


def visitor_state() -> VisitorState:
    """This request's visitor, as the ledger knows them (cached in ``g``)."""
    state = g.get("consent_state")
    if state is None:
        found = config()
        decision = None
        if found.services:
            # The header itself rather than ``request.cookies``: parsing every cookie cost
            # as much as the rest of the check.
            match = COOKIE_VALUE.search(request.environ.get("HTTP_COOKIE", ""))
            decision = _lookup(match.group(1)) if match else None
        valid = (decision is not None and not decision.replaced
                 and decision.version == found.version and decision.expires_at > utcnow())
        accepted = decision.accepted & found.optional_ids if valid and decision else frozenset()
        state = g.consent_state = VisitorState(found, decision, valid, accepted)
    return state


# --- recording choices -------------------------------------------------------------------------


def record_choice(db: Session, state: VisitorState, accepted: Iterable[int], *,
                  participant_id: int | None = None) -> ConsentEntry:
    """A new ledger entry for this visitor's choice; replaces the entry of their cookie.

    ``accepted`` must be among the configuration's optional services (the form checks it).
    A refusal of everything is remembered ``REFUSAL_MONTHS``; any consent lasts the tenant's
    lifetime (at most 13 months).
    """
    cfg = state.config
    chosen = frozenset(accepted)
    if not chosen <= cfg.optional_ids:
        raise ValueError("unknown service")
    now = utcnow()
    months = cfg.lifetime_months if chosen else REFUSAL_MONTHS
    consent_id = new_consent_id(now)
    previous = state.decision
    entry = ConsentEntry(
        consent_id=consent_id, chain_id=previous.chain_id if previous else consent_id,
        kind="cookies", choices={str(s.id): s.id in chosen for s in cfg.optional},
        version=cfg.version, texts_hash=cfg.texts_hash,
        participant_id=participant_id if cfg.link_participant else None,
        created_at=now, expires_at=add_months(now, months), replaced_at=None)
    db.add(entry)
    if previous is not None:
        db.execute(update(ConsentEntry).where(ConsentEntry.consent_id == previous.consent_id,
                                              ConsentEntry.replaced_at.is_(None))
                   .values(replaced_at=now))
    db.flush()
    # Forgotten now and again at commit (a request of this process may read in between).
    changed = [consent_id, *([previous.consent_id] if previous else [])]
    caches.forget_entries(db.info["tenant"], changed)
    db.info.setdefault(ENTRIES_CHANGED, []).extend(changed)
    return entry


def cookies_to_delete(state: VisitorState, accepted: Iterable[int]) -> list[str]:
    """Cookie names of the services not (or no longer) accepted: expired on the response, so
    a withdrawal removes what the service had set (deleting an absent cookie is harmless)."""
    kept = frozenset(accepted)
    return sorted({name for s in state.config.optional if s.id not in kept
                   for name, _lifetime in s.cookies})


def record_registration(db: Session, participant: Any, *, privacy_version: str,
                        terms_version: str, marketing_opt_in: bool) -> ConsentEntry:
    """The consents given when ``participant`` registered, in the same ledger (their own
    record: it carries their id). No expiry: they last until withdrawn."""
    choices = {"privacy": str(privacy_version)[:40], "terms": str(terms_version)[:40],
               "marketing": bool(marketing_opt_in)}
    canonical = json.dumps(choices, sort_keys=True, separators=(",", ":"))
    now = utcnow()
    consent_id = new_consent_id(now)
    entry = ConsentEntry(consent_id=consent_id, chain_id=consent_id, kind="registration",
                         choices=choices, version=0,
                         texts_hash=hashlib.sha256(canonical.encode()).hexdigest(),
                         participant_id=participant.id, created_at=now, expires_at=None,
                         replaced_at=None)
    db.add(entry)
    db.flush()
    return entry


def history(db: Session, participant_id: int) -> list[ConsentEntry]:
    """A participant's full consent history (registration and linked cookie choices)."""
    return list(db.scalars(select(ConsentEntry)
                           .where(ConsentEntry.participant_id == participant_id)
                           .order_by(ConsentEntry.created_at, ConsentEntry.id)))


def chain(db: Session, consent_id: str) -> list[ConsentEntry]:
    """Every step of the visitor whose cookie held ``consent_id`` (one query)."""
    if not CONSENT_ID.fullmatch(consent_id):
        return []
    first = (select(ConsentEntry.chain_id).where(ConsentEntry.consent_id == consent_id)
             .scalar_subquery())
    return list(db.scalars(select(ConsentEntry).where(ConsentEntry.chain_id == first)
                           .order_by(ConsentEntry.created_at, ConsentEntry.id)))


# --- keeping the caches true ------------------------------------------------------------------

CONFIG_TABLES = {ConsentConfig.__tablename__, ConsentService.__tablename__}


def _config_row_changed(mapper: object, connection: object, target: object) -> None:
    caches.forget_configs()
    session = object_session(target)
    if session is not None:
        session.info[CHANGED] = True


def _statement_ran(state: ORMExecuteState) -> None:
    """Bulk or Core statements on our tables (purges, test clean-ups)."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in CONFIG_TABLES:
        caches.forget_configs()
        state.session.info[CHANGED] = True
    elif name == ConsentEntry.__tablename__ and state.is_delete:
        # Entries are never updated but for ``replaced_at``, which record_choice forgets
        # itself: only deletions (purges) empty the cache.
        caches.forget_entries()


def _committed(session: Session) -> None:
    if session.info.pop(CHANGED, False):
        caches.forget_configs()
    changed = session.info.pop(ENTRIES_CHANGED, None)
    if changed:
        caches.forget_entries(session.info["tenant"], changed)


for _model in (ConsentConfig, ConsentService):
    for _name in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _name, _config_row_changed)
tenant_db.listen("do_orm_execute", _statement_ran)
tenant_db.listen("after_commit", _committed)
