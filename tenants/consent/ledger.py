"""The consent ledger: each visitor's cookie choice and each participant's registration
consents, as proofs that are never changed (a new choice replaces an entry, which stays).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import table_of
from tenants.consent.cache import ENTRIES_CHANGED, caches
from tenants.consent.models import ConsentEntry
from tenants.consent.visitor import VisitorState

CONSENT_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")  # new_consent_id(), or older random ids
REFUSAL_MONTHS = 6


def new_consent_id(at: datetime) -> str:
    """A ledger entry's id, which the visitor's cookie holds: the time in milliseconds (12 hex
    digits), then 120 random bits. Ids sort by creation, so the ledger's indexes on them grow
    at one end and a purge of old proofs rewrites a few index pages per batch; random ids made
    every batch rewrite pages all over both indexes (bench/RETENTION.md)."""
    return f"{int(at.timestamp() * 1000):012x}{secrets.token_urlsafe(15)}"


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))


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


def _registration_proof(participant_id: int, choices: dict[str, Any],
                        chain_id: str | None) -> dict[str, Any]:
    """The ledger row of a registration's consents (``record_registration``, ``record_sign_up``):
    their own record, carrying the participant's id; no expiry (they last until withdrawn)."""
    canonical = json.dumps(choices, sort_keys=True, separators=(",", ":"))
    now = utcnow()
    consent_id = new_consent_id(now)
    return {"consent_id": consent_id, "chain_id": chain_id or consent_id,
            "kind": "registration", "choices": choices, "version": 0,
            "texts_hash": hashlib.sha256(canonical.encode()).hexdigest(),
            "participant_id": participant_id, "created_at": now, "expires_at": None,
            "replaced_at": None}


def _registration_choices(privacy_version: str, terms_version: str,
                          marketing_opt_in: bool) -> dict[str, Any]:
    return {"privacy": str(privacy_version)[:40], "terms": str(terms_version)[:40],
            "marketing": bool(marketing_opt_in)}


def record_sign_up(db: Session, participant_id: int, *, privacy_version: str,
                   terms_version: str, marketing_opt_in: bool) -> None:
    """The consents given by an account created in this unit of work: one INSERT."""
    db.execute(insert(table_of(ConsentEntry)), _registration_proof(
        participant_id, _registration_choices(privacy_version, terms_version,
                                              marketing_opt_in), None))


def record_registration(db: Session, participant: Any, *, privacy_version: str,
                        terms_version: str, marketing_opt_in: bool,
                        replacing: ConsentEntry | None = None) -> ConsentEntry:
    """The consents given when ``participant`` registered, in the same ledger. ``replacing``:
    the entry a change replaces (marked so, and its chain continued)."""
    choices = _registration_choices(privacy_version, terms_version, marketing_opt_in)
    if replacing is not None and bool(replacing.choices.get("marketing")) != bool(
            marketing_opt_in):
        choices["change"] = MARKETING_GIVEN if marketing_opt_in else MARKETING_WITHDRAWN
    entry = ConsentEntry(**_registration_proof(
        participant.id, choices, replacing.chain_id if replacing is not None else None))
    if replacing is not None:
        replacing.replaced_at = entry.created_at
    db.add(entry)
    db.flush()
    return entry


# PRODUCT.md, "Cookie consent": registration consents (privacy notice, terms, marketing opt-in)
# use the same ledger; "Data-subject rights": withdrawal of consent. A change of the news
# opt-in is a new proof naming the change, chained to the proof it replaces (which stays).
MARKETING_GIVEN, MARKETING_WITHDRAWN = "marketing_given", "marketing_withdrawn"


def record_marketing(db: Session, participant: Any, opt_in: bool) -> ConsentEntry | None:
    """The participant gives or withdraws the opt-in to the organisation's news (their privacy
    page; any unsubscribe link must come here too): a new registration proof, with the same
    notice and terms versions, replacing the current one. None when nothing changes (a
    withdrawal of what was never given, or given twice): the ledger already says so."""
    current = registration_consent(db, participant.id)
    if bool(current is not None and current.choices.get("marketing")) == bool(opt_in):
        return None
    kept = current.choices if current is not None else {}
    return record_registration(db, participant, privacy_version=kept.get("privacy", ""),
                               terms_version=kept.get("terms", ""), marketing_opt_in=opt_in,
                               replacing=current)


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


def registration_consent(db: Session, participant_id: int) -> ConsentEntry | None:
    """The participant's current registration consents (the latest entry not replaced)."""
    return db.scalar(select(ConsentEntry).where(
        ConsentEntry.participant_id == participant_id, ConsentEntry.kind == "registration",
        ConsentEntry.replaced_at.is_(None)).order_by(ConsentEntry.created_at.desc(),
                                                     ConsentEntry.id.desc()).limit(1))


def marketing(db: Session, participant_id: int) -> bool:
    """Whether the participant's current registration consents include news and offers."""
    entry = registration_consent(db, participant_id)
    return bool(entry is not None and entry.choices.get("marketing"))
