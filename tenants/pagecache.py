"""Whole public pages kept in memory, for visitors who are nobody in particular.

A tenant's public pages (its event list, an event, the sign-up form) are the same for every
anonymous visitor who reads them in the same language: rendering one costs milliseconds of
Jinja and WTForms, serving a copy tens of microseconds. ``cached`` wraps such a view:

* **Who gets a copy**: a GET, not an htmx fragment, from a visitor whose session holds nothing
  personal (only the keys in ``ANONYMOUS_KEYS``: no member, no participant, no flashed
  message). Anyone else gets the view itself, and so does any response but a 200 HTML page.
* **What differs per visitor**: the CSRF token, cut out of the stored copy and filled in with
  the visitor's own on each hit; the language and the full path are in the key, and so is
  whatever functions registered with ``varies_with`` return (the visitor's cookie choices).
* **When a copy is dropped**: as soon as a write to the tenant's data commits (any table but
  those declared with ``not_shown``), in this process or any other of the same instance folder
  (web workers, the job worker, CLI commands): each tenant has a generation number, bumped after
  such a commit, and a copy is served only while the generation it was rendered at is current.
  The numbers live in a small file mapped in memory by every process (``core.generations``, in
  ``<instance>/page-generations``): reading one costs no round trip, so a copy stays cheap.
  Other things a process keeps per tenant have counters of their own in the same file
  (``shared``: the settings row's and the consent configuration's, ``tenants.keeping``).
  Time (registration opening or closing at a given minute), writes made on another host and
  SQL by hand show within ``SECONDS``.
* **Off**: ``PAGE_COPIES=0`` (``PARVIS_PAGE_COPIES``) serves every page rendered.

Entries are per application and bounded (``MAX_ENTRIES``, oldest out first).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, cast

from flask import Response, current_app, g, has_app_context, request
from flask import session as cookie
from flask_babel import get_locale
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.dml import UpdateBase

from core.generations import Generations, of_app
from core.kept import Kept
from core.web.security import csrf_token
from tenants import db

SECONDS = 5.0
MAX_ENTRIES = 1_000  # a page is 10 to 40 kB: at most ~40 MB per process
# Session keys that say nothing about who the visitor is: the CSRF secret, the language chosen,
# Flask-Login's bookkeeping for a visitor who is not signed in.
ANONYMOUS_KEYS = frozenset({"csrf_token", "lang", "_fresh", "_id", "_permanent"})
TOKEN_HOLE = b"\x00csrf\x00"  # never in a page: NUL is refused in every input

_varies: list[Callable[[], Hashable]] = []
_not_shown: set[str] = set()


def varies_with(function: Callable[[], Hashable]) -> None:
    """Make what ``function`` returns for the current request part of every page's key."""
    _varies.append(function)


def not_shown(*tables: str) -> None:
    """Declare tables no cached page is rendered from: writes to them keep the copies (a
    ledger of cookie choices, sign-in tokens). A wrong declaration serves stale pages."""
    _not_shown.update(tables)


@dataclass(frozen=True, slots=True)
class Copy:
    body: bytes
    headers: tuple[tuple[str, str], ...]  # the view's own: Content-Type, Vary


def _store() -> Kept[tuple[Hashable, ...], Copy]:
    """The copies of the current application, labelled with the tenant's generation."""
    found = current_app.extensions.get("parvis_pages")
    if found is None:
        found = current_app.extensions.setdefault("parvis_pages", Kept(MAX_ENTRIES, SECONDS))
    return cast(Kept[tuple[Hashable, ...], Copy], found)


def clear() -> None:
    """Drop every copy of the current application (tests rewinding the clock)."""
    _store().clear()


def _key() -> tuple[Hashable, ...] | None:
    """The page's key for this request, or None when it must not be served from a copy."""
    # The proxy is typed as the Request it stands for, which lacks the proxy's own method.
    current = request._get_current_object()  # type: ignore[attr-defined]  # one look-up, not four
    if (current.method != "GET" or "HTTP_HX_REQUEST" in current.environ
            or not ANONYMOUS_KEYS.issuperset(cookie.keys())):
        return None
    return (g.tenant_id, current.full_path, str(get_locale()),
            *(function() for function in _varies))


def cached(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve ``view``'s page from a copy when this request may have one (see the module)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _key() if current_app.config.get("PAGE_COPIES", True) else None
        if key is None:
            return view(*args, **kwargs)
        store, generation = _store(), shared().get(db.current_slug())
        copy = store.get(key, generation)
        if copy is not None:
            return Response(copy.body.replace(TOKEN_HOLE, csrf_token().encode()),
                            headers=copy.headers)
        # Read before the view reads anything: a write committing meanwhile then makes this
        # copy stale at once. A transaction already open may predate the generation: no copy.
        fresh = not db.in_transaction()
        response = view(*args, **kwargs)
        if fresh and isinstance(response, Response) and _keepable(response):
            body = response.get_data()
            token = g.get("csrf_token")
            if token:
                body = body.replace(token.encode(), TOKEN_HOLE)
            headers = tuple((name, value) for name, value in response.headers
                            if name != "Content-Length")
            store.put(key, Copy(body, headers), generation)
        return response

    return wrapper


def _keepable(response: Response) -> bool:
    # A view that set a cookie or a header of its own (a redirect, a Retry-After) is personal
    # or exceptional; the headers every page gets are added after the view, on every response.
    return (response.status_code == 200 and response.mimetype == "text/html"
            and not response.direct_passthrough and set(response.headers.keys()) <= {
                "Content-Type", "Content-Length", "Vary"})


# --- generations: bumped when a write to tenant data commits --------------------------------


_last = [Generations(None)]  # the last application's: for a write made outside any context


def shared() -> Generations:
    """The generations of the current application's instance folder (outside an application
    context, a unit of work run by hand: the last application's)."""
    if not has_app_context():
        return _last[0]
    _last[0] = of_app(current_app, "page-generations")
    return _last[0]


STALE = "parvis_pages_stale"


def _flushed(session: Session, _context: object) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        if getattr(instance, "__tablename__", None) not in _not_shown:
            session.info[STALE] = True
            return


def _statement(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and getattr(
            cast(UpdateBase, state.statement).table, "name", None) not in _not_shown:
        state.session.info[STALE] = True


def _committed(session: Session) -> None:
    if session.info.pop(STALE, False):
        shared().bump(session.info["tenant"])


def _rolled_back(session: Session) -> None:
    session.info.pop(STALE, None)


db.listen("after_flush", _flushed)
db.listen("do_orm_execute", _statement)
db.listen("after_commit", _committed)
db.listen("after_rollback", _rolled_back)
