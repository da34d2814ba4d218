"""What every process may keep of a tenant's form design, and how it knows it is still true.

The registration form of a tenant (its settings, standard field modes and custom fields) changes
rarely and is read by every sign-up page and every sign-up POST. Reading it and building its
WTForms class took three queries and a few milliseconds per request; a process now keeps what
it built, per tenant and per **configuration version**.

* The version is ``settings.config_version``: a random 62-bit number, replaced in the same
  transaction as any change to ``settings``, ``standard_fields`` or ``custom_fields`` (ORM
  changes and bulk statements alike, ``_flushed``/``_statement``, bumped once at commit by
  ``_bump``). It is read with the settings row each request reads anyway, so checking it costs
  no round trip, and a change made by any process is seen by every process at its next
  request. Random rather than counted: a tenant dropped and made again (tests, a re-import)
  never meets a version of its former self.
* ``kept(db, name, key, build)``: the value ``build()`` made for this tenant at this version,
  built on a miss. Not kept when the version is unknown (a tenant without its settings row)
  or when this unit of work has changed the design itself and not committed yet (what it
  built may be rolled back). A version read before the data it labels is safe: a change
  committed in between gets a new version, so the entry kept under the old one is never read
  again by anyone who saw the new one.

Entries are per process, bounded (``MAX_ENTRIES``, oldest out first).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

from sqlalchemy import update
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.dml import UpdateBase

from core.kept import Kept
from tenants import db as tenant_db
from tenants.settings import services as settings
from tenants.settings.models import Settings, new_config_version

T = TypeVar("T")
DESIGN_TABLES = frozenset({"settings", "standard_fields", "custom_fields"})
MAX_ENTRIES = 2_000
CHANGED = "parvis_design_changed"  # session.info: this unit of work changed the design


def current(db: Session) -> int | None:
    """The tenant's configuration version, from the settings row this request reads anyway
    (None: no stored row, or a design change not committed yet in this unit of work)."""
    if db.info.get(CHANGED):
        return None
    return settings.get(db).config_version or None  # 0: defaults, not stored


_kept: Kept[tuple[Hashable, ...], Any] = Kept(MAX_ENTRIES)


def kept(db: Session, name: str, key: tuple[Hashable, ...], build: Callable[[], T]) -> T:
    """``build()``, kept for this tenant's current configuration version (see the module)."""
    version = current(db)
    if version is None:
        return build()
    full = (db.info["tenant"], version, name, *key)
    found = _kept.get(full)
    if found is None:
        found = build()
        _kept.put(full, found)
    return cast(T, found)


def clear() -> None:
    """Forget everything kept (tests that rewrite a tenant's rows by hand)."""
    _kept.clear()


# --- the version follows every change of the design --------------------------------------


def _flushed(session: Session, _context: object) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        if getattr(instance, "__tablename__", None) in DESIGN_TABLES:
            session.info[CHANGED] = True
            return


def _statement(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and getattr(
            cast(UpdateBase, state.statement).table, "name", None) in DESIGN_TABLES:
        state.session.info[CHANGED] = True


def _bump(session: Session) -> None:
    """Before the commit: a new version in the same transaction as the change."""
    if not session.info.get(CHANGED):
        session.flush()  # what is still pending may change the design too
    if not session.info.pop(CHANGED, False):
        return
    settings.kept.changed(session)  # every process reads the row again once this commits
    version = new_config_version()
    # On the connection: a Core statement that no session event (nor autoflush) sees.
    session.connection().execute(update(Settings).where(Settings.id == 1)
                                 .values(config_version=version))
    for instance in session.identity_map.values():  # the row this session holds, if any
        if isinstance(instance, Settings):
            set_committed_value(instance, "config_version", version)


def _rolled_back(session: Session) -> None:
    session.info.pop(CHANGED, None)


tenant_db.listen("after_flush", _flushed)
tenant_db.listen("do_orm_execute", _statement)
tenant_db.listen("before_commit", _bump)
tenant_db.listen("after_rollback", _rolled_back)
