"""The visitor's consent state: the ledger entry their cookie points at, and what it allows
the page to load. Asked by every page, so it reads the caches (``cache``) first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from flask import g, request
from sqlalchemy import select

from core.clock import utcnow
from tenants import db as tenant_db
from tenants.consent.banner import Config, Service, config
from tenants.consent.cache import caches, key
from tenants.consent.models import ConsentEntry

COOKIE = "parvis_consent"
# The first well-formed value of our cookie in a Cookie header (the most specific path first).
COOKIE_VALUE = re.compile(rf"(?:^|;)\s*{COOKIE}=([A-Za-z0-9_-]{{32}})\s*(?:;|$)")


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
    entry_key = (*key(tenant_db.current_slug()), consent_id)
    hit = caches.entries.get(entry_key, default=_MISSING)
    if hit is not _MISSING:
        return cast(Decision | None, hit)
    row = tenant_db.session().scalar(select(ConsentEntry).where(
        ConsentEntry.consent_id == consent_id, ConsentEntry.kind == "cookies"))
    found = None
    if row is not None and row.expires_at is not None:
        found = Decision(row.consent_id, row.chain_id, row.version,
                         frozenset(int(k) for k, v in row.choices.items() if v is True),
                         row.expires_at, row.replaced_at is not None)
    caches.entries.put(entry_key, found)
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
