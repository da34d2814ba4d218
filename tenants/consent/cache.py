"""The consent caches of this process, and what keeps them true.

Every page asks for the visitor's consent state (``visitor.visitor_state``), so it is cheap: the
tenant's configuration and the ledger entries that cookies point at are cached here.

- The configuration (``configs``) is kept per tenant until a change to it commits in any
  process of the instance folder, at most ``CONFIG_SECONDS`` (tenants/keeping.py: other hosts
  and SQL by hand show within that time). Other writes (a sign-up) leave it kept.
- A ledger entry never changes once written, but for ``replaced_at``: each choice gets a new
  consent id. So a cached entry stays true in every process; the one change (an entry
  replaced by a newer choice) is forgotten at once in the process that made it, and only a
  visitor replaying their own older cookie elsewhere could meet it.

This module sits below those that fill the caches (``banner``, ``visitor``, ``ledger``), so
it holds their values without naming their types.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from core.kept import Kept
from tenants import db as tenant_db
from tenants.consent.models import ConsentConfig, ConsentEntry, ConsentService
from tenants.keeping import KeptPerTenant, key

# How long the configuration is kept at most: how long a change made on another host or by
# hand takes to show.
CONFIG_SECONDS = 60.0
configs: KeptPerTenant[Any] = KeptPerTenant("consent", CONFIG_SECONDS)  # banner.Config
MAX_ENTRIES = 10_000  # ledger entries that visitors' cookies point at, per process
ENTRIES_CHANGED = "parvis_consent_entries_changed"  # session.info: entries replaced


class _Caches:
    def __init__(self) -> None:
        # visitor.Decision by (pool, slug, consent id); None: no such entry
        self.entries: Kept[tuple[int, str, str], Any] = Kept(MAX_ENTRIES)

    def forget_entries(self, slug: str | None = None, consent_ids: Iterable[str] = ()) -> None:
        """Forget these entries of ``slug``'s ledger, or every entry (no slug)."""
        if slug is None:
            self.entries.clear()
            return
        for consent_id in consent_ids:
            self.entries.pop((*key(slug), consent_id))


caches = _Caches()


# --- keeping the caches true ------------------------------------------------------------------

CONFIG_TABLES = {ConsentConfig.__tablename__, ConsentService.__tablename__}


def _config_row_changed(mapper: object, connection: object, target: object) -> None:
    session = object_session(target)
    if session is not None:
        configs.changed(session)


def _statement_ran(state: ORMExecuteState) -> None:
    """Bulk or Core statements on our tables (purges, test clean-ups)."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in CONFIG_TABLES:
        configs.changed(state.session)
    elif name == ConsentEntry.__tablename__ and state.is_delete:
        # Entries are never updated but for ``replaced_at``, which record_choice forgets
        # itself: only deletions (purges) empty the cache.
        caches.forget_entries()


def _committed(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction goes on
        return
    changed = session.info.pop(ENTRIES_CHANGED, None)
    if changed:
        caches.forget_entries(session.info["tenant"], changed)


for _model in (ConsentConfig, ConsentService):
    for _name in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _name, _config_row_changed)
tenant_db.listen("do_orm_execute", _statement_ran)
tenant_db.listen("after_commit", _committed)
