"""The consent caches of this process, and what keeps them true.

Every page asks for the visitor's consent state (``visitor.visitor_state``), so it is cheap: the
tenant's configuration and the ledger entries that cookies point at are cached here.

- The configuration is cached per tenant, and forgotten at once when this process changes it
  (at flush and again at commit, so a page read in between is not kept). Another process of
  the same instance folder sees a change at its next request: the commit bumps the tenant's
  consent generation (a counter of its own in ``<instance>/page-generations``, see
  ``tenants.pagecache.shared``), and an entry is kept only while that generation is the one
  its unit of work began at (what it read is at least that recent). Other hosts and SQL by
  hand show within ``banner.CONFIG_SECONDS``. Other writes (a sign-up) leave it kept.
- A ledger entry never changes once written, but for ``replaced_at``: each choice gets a new
  consent id. So a cached entry stays true in every process; the one change (an entry
  replaced by a newer choice) is forgotten at once in the process that made it, and only a
  visitor replaying their own older cookie elsewhere could meet it.

This module sits below those that fill the caches (``banner``, ``visitor``, ``ledger``), so
it holds their values without naming their types.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from tenants import db as tenant_db
from tenants import pagecache
from tenants.consent.models import ConsentConfig, ConsentEntry, ConsentService

# Session flags: what this unit of work changed, to forget again once it commits.
CHANGED = "parvis_consent_changed"
BEGUN_AT = "parvis_consent_generation"  # the consent generation when its transaction began
ENTRIES_CHANGED = "parvis_consent_entries_changed"


class _Caches:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configs: dict[tuple[int, str], tuple[float, int, Any]] = {}  # banner.Config
        self.entries: OrderedDict[tuple[int, str, str], Any] = OrderedDict()  # visitor.Decision
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
                self.entries.pop((*key(slug), consent_id), None)


caches = _Caches()


def shared_generation(slug: str) -> int:
    """The tenant's consent generation now, in the instance folder's shared counters."""
    return pagecache.shared().get(f"consent:{slug}")


def shared_generation_at_begin(session: Session) -> int:
    """The tenant's consent generation when ``session``'s transaction began (now if none has):
    a configuration read in that transaction is at least that recent."""
    found = session.info.get(BEGUN_AT) if session.in_transaction() else None
    return found if found is not None else shared_generation(session.info["tenant"])


def key(slug: str) -> tuple[int, str]:
    # The pool tells apart databases of several apps in one process (tests); the slug, tenants.
    # From the tenant's bind, not a session: a page served from the page cache opens none.
    return id(tenant_db.bind_for(slug).pool), slug


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


def _begun(session: Session, _transaction: object, _connection: object) -> None:
    session.info[BEGUN_AT] = shared_generation(session.info["tenant"])


def _committed(session: Session) -> None:
    session.info.pop(BEGUN_AT, None)
    if session.info.pop(CHANGED, False):
        caches.forget_configs()
        pagecache.shared().bump(f"consent:{session.info['tenant']}")  # other processes
    changed = session.info.pop(ENTRIES_CHANGED, None)
    if changed:
        caches.forget_entries(session.info["tenant"], changed)


for _model in (ConsentConfig, ConsentService):
    for _name in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _name, _config_row_changed)
tenant_db.listen("do_orm_execute", _statement_ran)
tenant_db.listen("after_commit", _committed)
tenant_db.listen("after_rollback", lambda session: session.info.pop(BEGUN_AT, None))
tenant_db.listen("after_begin", _begun)
