"""Values a process keeps per tenant until a change to them commits, in any process.

A tenant's configuration (its settings row, its cookie-consent set-up) is read by nearly every
page and changes rarely. A ``KeptPerTenant`` holds one value per tenant in this process and
serves it only while it is still true:

* the feature that owns the value calls ``changed(session)`` when a unit of work changes what
  the value is made of. At that unit's commit the tenant's counter ``<name>:<slug>`` in the
  instance folder's shared generations (``tenants.pagecache.shared``, a file every process of
  the folder maps in memory) is bumped, so every process reads the value again at its next
  request. A unit of work that changed it keeps nothing until it has committed;
* a value is labelled with that counter as it was when its transaction began (what the
  transaction read is at least that recent) and served only while the counter has not moved;
* other hosts and SQL typed by hand do not bump the counter: a value is kept at most
  ``seconds``.

Keys are (the tenant bind's pool, slug): two apps of one process (tests) never share a value.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from core.kept import Kept
from tenants import db as tenant_db
from tenants import pagecache

T = TypeVar("T")
MAX_TENANTS = 20_000  # values kept per process and kind, oldest out first


def key(slug: str) -> tuple[int, str]:
    """A tenant's key in what a process keeps: the pool tells apart the databases of several
    apps in one process (tests). From the tenant's bind, not a session: a page served from
    its copy opens none."""
    return id(tenant_db.bind_for(slug).pool), slug


class KeptPerTenant(Generic[T]):
    """One value per tenant, kept by this process until it changes (see the module)."""

    def __init__(self, name: str, seconds: float = 60.0) -> None:
        self.name, self.seconds = name, seconds
        self._values: Kept[tuple[int, str], T] = Kept(MAX_TENANTS, seconds)
        self._begun = f"parvis_kept_{name}_begun"  # session.info: the counter at begin
        self._changed = f"parvis_kept_{name}_changed"  # session.info: changed, not committed
        tenant_db.listen("after_begin", self._on_begin)
        tenant_db.listen("after_commit", self._on_commit)
        tenant_db.listen("after_rollback", self._on_rollback)

    def _counter(self, slug: str) -> int:
        return pagecache.shared().get(f"{self.name}:{slug}")

    def get(self, slug: str) -> T | None:
        """The value kept for ``slug``, if it is still true."""
        return self._values.get(key(slug), self._counter(slug))

    def put(self, session: Session, value: T) -> None:
        """Keep ``value``, read in ``session``'s open transaction (else nothing is kept)."""
        label = session.info.get(self._begun)
        if label is None or session.info.get(self._changed) or not session.in_transaction():
            return
        self._values.put(key(session.info["tenant"]), value, label)

    def changed(self, session: Session) -> None:
        """``session``'s unit of work changes the value: forgotten here now, everywhere at
        its commit."""
        session.info[self._changed] = True
        self.forget(session.info["tenant"])

    def forget(self, slug: str | None = None) -> None:
        """Forget the value of ``slug`` in this process (every value: no slug)."""
        if slug is None:
            self._values.clear()
        else:
            self._values.pop(key(slug))

    # --- the session's events ---------------------------------------------------------------

    def _on_begin(self, session: Session, _transaction: object, _connection: object) -> None:
        if self._begun not in session.info:  # a savepoint inside the transaction: not again
            session.info[self._begun] = self._counter(session.info["tenant"])

    def _on_commit(self, session: Session) -> None:
        if session.in_nested_transaction():  # a savepoint released: the transaction goes on
            return
        session.info.pop(self._begun, None)
        if session.info.pop(self._changed, False):
            slug = session.info["tenant"]
            self.forget(slug)
            pagecache.shared().bump(f"{self.name}:{slug}")

    def _on_rollback(self, session: Session) -> None:
        if not session.in_nested_transaction():
            session.info.pop(self._begun, None)
            session.info.pop(self._changed, None)
