"""How a request finds its tenant: the ``/t/<tenant>`` parent blueprint.

The slug is checked against the slug rule before any lookup (so hostile input ends as a 404
without touching SQL or the file system), then looked up in the registry: unknown → 404,
suspended or ended → a clear page, read-only → pages render but writes are refused.
``url_for`` fills the slug back in, so tenant views never pass it by hand. Subdomains or custom
domains can be added here, in ``resolve``, without touching any view.

Registry rows are cached per process until the registry changes (see ``TenantCache``), so
most pages send no control-plane query at all. A signed-in account's page sends one, from
Flask-Login's loader (``load_member``): its live login session, its account and its
``Standing`` (role, the tenant's two-factor rule, what the banners need), read again on every
request: nothing about a person is kept across requests.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_app_context,
    render_template,
    request,
)
from flask import session as cookie
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import ColumnElement, Integer, Select, bindparam, event, select
from sqlalchemy.orm import ORMExecuteState, Session, object_session, sessionmaker
from sqlalchemy.sql.dml import UpdateBase

from core.clock import utcnow
from core.extensions import login_manager
from core.generations import Generations, of_app
from core.kept import Kept
from core.web.errors import error_page
from core.web.htmx import render, template_globals
from tenants import api as tenants_api
from webapp import db
from webapp.auth import services as auth_services
from webapp.auth.models import Account, LoginSession, Membership
from webapp.billing import plans
from webapp.billing.models import Subscription
from webapp.dpa import services as dpa_services
from webapp.dpa import versions as dpa_versions
from webapp.members.models import MemberPolicy
from webapp.organisations.models import Tenant, TenantStatus
from webapp.subprocessors import services as subprocessor_services
from webapp.support import services as support_services
from webapp.support.models import SupportGrant

bp = Blueprint("tenant", __name__, url_prefix="/t/<tenant>")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CLOSED = (TenantStatus.SUSPENDED, TenantStatus.ENDED)


@dataclass(frozen=True)
class Resolved:
    """What a request needs from a registry row: its id and what tenant views may read."""

    id: int
    info: tenants_api.TenantInfo


class TenantCache:
    """Registry rows by slug, kept in this process until the registry changes.

    A change made in this process (an operator suspends a tenant, a tenant is dropped, its plan
    changes) empties the cache when it is flushed and again when it commits, so it shows on the
    next request; a row read while a change was under way is not kept. After the commit, the
    registry's generation (``<instance>/registry-generation``, ``core.generations``) is bumped:
    every other process of the instance folder (web workers, the job worker, CLI commands)
    sees a row kept at an older generation as gone, at its next request. Other hosts and SQL by
    hand show within ``CACHE_SECONDS``. Unknown slugs and tenants still provisioning are never
    cached. Keys carry the database, for processes that hold apps on different databases
    (tests).
    """

    CACHE_SECONDS = 60.0
    MAX_ENTRIES = 20_000  # about 10 MB; beyond, the oldest entries go

    def __init__(self) -> None:
        self._rows: Kept[tuple[object, str], Resolved] = Kept(self.MAX_ENTRIES,
                                                             self.CACHE_SECONDS)
        self._lock = threading.Lock()  # a put and a clear, one at a time
        self.generation = 0  # bumped by every clear()

    def get(self, key: tuple[object, str], shared: int) -> Resolved | None:
        """The row kept for ``key`` if it was read at the registry's ``shared`` generation."""
        return self._rows.get(key, shared)

    def put(self, key: tuple[object, str], value: Resolved, generation: int,
            shared: int) -> None:
        """Keep ``value``, read from the registry when this cache was at ``generation`` and
        the registry at ``shared``."""
        with self._lock:
            if generation == self.generation:  # else the registry changed while it was read
                self._rows.put(key, value, shared)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._rows.clear()


cache = TenantCache()


def _registry_generation() -> Generations:
    """The registry's generation, shared by the processes of this app's instance folder."""
    return of_app(current_app, "registry-generation", slots=1)


def resolve(slug: str, session: Session | None = None) -> Resolved | None:
    """The registry row of ``slug`` (cached), read on a miss in ``session``, by default the
    unit of work's control session."""
    found = resolve_many((slug,), session)
    return found[0] if found else None


def resolve_many(slugs: Iterable[str], session: Session | None = None) -> list[Resolved]:
    """The registry rows of those ``slugs`` that name a tenant: the cached ones, and the others
    read in one statement (in ``session``, by default the unit of work's control session)."""
    url, shared = db.engine().url, _registry_generation().get()
    found: list[Resolved] = []
    missing: list[str] = []
    for slug in slugs:
        try:
            tenants_api.validate_slug(slug)
        except tenants_api.InvalidSlug:
            continue
        hit = cache.get((url, slug), shared)
        if hit is not None:
            found.append(hit)
        else:
            missing.append(slug)
    if not missing:
        return found
    generation, session = cache.generation, session or db.session()
    # A transaction begun earlier may read a row older than ``shared`` (SQLite): not kept.
    fresh = not session.in_transaction()
    rows = session.execute(
        select(Tenant, Subscription.plan).where(Tenant.slug.in_(missing))
        .outerjoin(Subscription, Subscription.tenant_id == Tenant.id))
    for tenant, plan in rows:
        resolved = Resolved(tenant.id, tenants_api.TenantInfo(
            slug=tenant.slug, name=tenant.name, default_language=tenant.default_language,
            status=tenant.status.value, limits=plans.limits_of(plan)))
        found.append(resolved)
        if fresh and tenant.status != TenantStatus.PROVISIONING:
            cache.put((url, tenant.slug), resolved, generation, shared)
    return found


def tenant_info(slug: str) -> tenants_api.TenantInfo | None:
    """A tenant's registry facts for a job or an e-mail, read (on a cache miss) in a session of
    its own, closed at once: a job never holds a control-plane connection beside its
    tenant's."""
    with db.sessions()() as session:
        resolved = resolve(slug, session)
    return resolved.info if resolved is not None else None


def tenant_slugs() -> list[str]:
    """Every tenant whose data still exists (the job outbox's recovery visits them)."""
    gone = (TenantStatus.PROVISIONING, TenantStatus.DESTROYED)
    with db.sessions()() as session:
        return list(session.scalars(select(Tenant.slug).where(Tenant.status.not_in(gone))
                                    .order_by(Tenant.id)))


def member_names(ids: object) -> dict[int, str]:
    """``member_names(ids)`` in tenant templates: staff names (or addresses) by the account id
    the tenant plane keeps in its logs, which alone cannot name anybody."""
    wanted = {i for i in ids if isinstance(i, int)}  # type: ignore[attr-defined]
    if not wanted:
        return {}
    return {a.id: a.display_name or a.email for a in db.session().scalars(
        select(Account).where(Account.id.in_(wanted)))}


def member_role(tenant_id: int) -> str | None:
    if not current_user.is_authenticated:
        return None
    return db.session().scalar(select(Membership.role).where(
        Membership.tenant_id == tenant_id, Membership.account_id == current_user.id))


# --- the signed-in account's standing: one statement per request ------------------------------


@dataclass(frozen=True)
class Standing:
    """What the control plane knows of the signed-in account for one request, read with the
    account itself: in the request's tenant (``tenant_id``; none outside ``/t/<slug>``) its
    membership, whether the tenant requires two-factor sign-in and its subscription (the
    billing banner); anywhere, the tenants it owns that have a DPA to accept (their slugs: the
    DPA banner takes their names from the registry) and whether the sub-processor banner has
    something to show (it then reads its list). The membership is its id and role (the pages
    that change memberships load it: ``access.tenant_member``)."""

    tenant_id: int | None
    membership_id: int | None
    role: str | None
    requires_two_factor: bool
    subscription: Subscription | None
    dpa_pending: tuple[str, ...]
    open_sub_processor_changes: bool


@functools.cache
def _member_statements(by_session: bool) -> tuple[Select, Select]:
    """An account and its standing, in a tenant and elsewhere, in one statement built once per
    process (building and keying it cost as much as running it). The account is the one of a
    live login session (``by_session``: the parameters of ``auth_services.session_parameters``)
    or ``account_id``; the other parameters are ``dpa_version``, ``now`` and, in a tenant,
    ``tenant_id``."""
    if by_session:
        account: ColumnElement[int] = (
            select(LoginSession.account_id)
            .where(LoginSession.token_hash == bindparam("token_hash")).scalar_subquery())
        base = auth_services.live_session
    else:
        account = bindparam("account_id", type_=Integer)

        def base(*also: Any) -> Select:
            return select(Account, *also).select_from(Account).where(Account.id == account)
    flags = (dpa_services.pending_dpa_slugs(account, bindparam("dpa_version")).label(
                 "dpa_pending"),
             subprocessor_services.any_open_changes(account, bindparam("now")).label(
                 "open_changes"))
    # Outer joins from the tenant's row: each part may be missing (the tenant row went since
    # the cached registry read; an operator under a support grant has no membership; a tenant
    # made by an operator, no subscription nor policy).
    in_tenant = (base(Membership.id, Membership.role, MemberPolicy.require_two_factor,
                      Subscription, *flags)
                 .outerjoin(Tenant, Tenant.id == bindparam("tenant_id", type_=Integer))
                 .outerjoin(Membership, (Membership.tenant_id == Tenant.id)
                            & (Membership.account_id == Account.id))
                 .outerjoin(MemberPolicy, MemberPolicy.tenant_id == Tenant.id)
                 .outerjoin(Subscription, Subscription.tenant_id == Tenant.id))
    return in_tenant, base(*flags)


def read_member(session: Session, values: dict[str, Any],
                tenant_id: int | None) -> tuple[Account, Standing] | None:
    """An account and its standing in ``tenant_id`` (``_member_statements``: ``values`` holds
    ``account_id``, or a login session's parameters), read now in one statement; None if there
    is no such account or live session. Nothing is kept beyond the request, so a role taken
    away, a policy or a subscription changed shows on the next request."""
    in_tenant, anywhere = _member_statements("account_id" not in values)
    values = {**values, "dpa_version": dpa_versions.current().id,
              "now": values.get("now") or utcnow()}
    if tenant_id is None:
        found = session.execute(anywhere, values).first()
        if found is None:
            return None
        account, dpa_pending, open_changes = found
        membership_id = role = required = subscription = None
    else:
        found = session.execute(in_tenant, {**values, "tenant_id": tenant_id}).first()
        if found is None:
            return None
        (account, membership_id, role, required, subscription, dpa_pending,
         open_changes) = found
    return account, Standing(tenant_id, membership_id, role, bool(required), subscription,
                             tuple((dpa_pending or "").split()), bool(open_changes))


@login_manager.user_loader
def load_member(login_id: str) -> Account | None:
    """Flask-Login's loader: the account and, in the same statement, its standing in the
    request's tenant (known by then: ``pull_tenant`` sets it before asking who is signed in),
    kept for ``standing``."""
    values = auth_services.session_parameters(login_id)
    here = g._get_current_object()
    found = read_member(db.session(), values, here.get("tenant_id")) if values else None
    if found is None:
        return None
    found[0].login_id = login_id
    here.standing = found[1]
    return found[0]


def standing() -> Standing | None:
    """The signed-in account's standing in this request (None: nobody signed in): the one read
    with the account, else (an account signed in during this request, or asked about before
    the tenant was known) read now."""
    if not current_user.is_authenticated:
        return None
    here = g._get_current_object()
    found = here.get("standing")
    tenant_id = here.get("tenant_id")
    if found is None or found.tenant_id != tenant_id:
        member = read_member(db.session(), {"account_id": current_user.id}, tenant_id)
        found = here.standing = member[1] if member is not None else \
            Standing(tenant_id, None, None, False, None, (), False)
    return cast(Standing, found)


@bp.url_value_preprocessor
def pull_tenant(endpoint: str | None, values: dict | None) -> None:
    slug = (values or {}).pop("tenant", None)
    resolved = resolve(slug) if slug else None
    if resolved is None or resolved.info.status == TenantStatus.PROVISIONING:
        abort(404)
    here = g._get_current_object()  # one proxy look-up for the six attributes
    here.tenant = resolved.info
    here.tenant_id = resolved.id
    # Flask-Login keeps a signed-in member's id in the session: without one, the visitor is
    # nobody, and Flask-Login's own loading (session protection, a hash of the client) is skipped.
    here.signed_in = "_user_id" in cookie and current_user.is_authenticated
    found = standing() if here.signed_in else None
    here.tenant_role = found.role if found is not None else None
    here.support_grant = support_grant(resolved.id) if here.signed_in and not here.tenant_role \
        else None
    if here.support_grant is not None:
        here.tenant_role = "viewer"
    # The member's control-plane id, opaque to the tenant plane (access logs, decisions).
    here.member_id = current_user.id if here.tenant_role else None
    here.tenant_token = tenants_api.activate(resolved.info.slug)


@bp.before_request
def refuse_closed_tenants():
    status = g.tenant.status
    if status in (TenantStatus.ENDED, TenantStatus.DESTROYED):
        # In the platform's frame, not the tenant's: its data may already be destroyed. The
        # language is settled first, while it can still follow the tenant's default.
        get_locale()
        organisation = g.pop("tenant")
        return render("contract/ended.html", status=403, organisation=organisation,
                      role=g.tenant_role)
    if status in CLOSED:
        return error_page(403, title=str(_l("This space is not available")),
                          message=str(_l("This organisation's space is currently closed. "
                                         "Please contact the organisation for more information.")))
    if (status == TenantStatus.READ_ONLY and request.method not in SAFE_METHODS
            and not getattr(current_app.view_functions.get(request.endpoint or ""),
                            "exercise_of_rights", False)):
        return error_page(403, title=str(_l("Read-only")),
                          message=str(_l("This space is read-only for now: nothing new can be "
                                         "saved until its subscription is paid. Nothing is "
                                         "lost.")))
    return None


# --- support access (webapp.support) -----------------------------------------------------------


def support_grant(tenant_id: int) -> SupportGrant | None:
    """An operator who is not a member reads as a viewer while the tenant's grant is active;
    without one (none, expired, revoked, another tenant's) the operator is nobody here."""
    if current_user.operator_role is None:
        return None
    return support_services.active_grant(db.session(), tenant_id)


@bp.before_request
def support_reads_only():
    """Support access is read-only."""
    if g.get("support_grant") is not None and request.method not in SAFE_METHODS:
        return error_page(403, title=str(_l("Read-only")), message=str(_l(
            "Support access lets you read this space, not change anything.")))
    return None


@bp.after_request
def log_support_reads(response: Response) -> Response:
    """Every page the support was shown goes into the tenant's access log, which its admins
    see (a refused page showed nothing). Runs before the request's commit."""
    if g.get("support_grant") is not None and response.status_code < 400:
        tenants_api.record_access(current_user.id, tenants_api.SUPPORT_READ,
                                  request.full_path.rstrip("?"))
    return response


@bp.url_defaults
def push_tenant(endpoint: str, values: dict) -> None:
    if "tenant" not in values and g.get("tenant") is not None:
        values["tenant"] = g.tenant.slug


def _end_tenant_scope(exc: BaseException | None = None) -> None:
    g.pop("standing", None)  # an app context kept across requests (tests) must not keep it
    token = g.pop("tenant_token", None)
    if token is not None:
        tenants_api.deactivate(token)


# --- keeping the cache true to the registry ------------------------------------------------

CHANGED = "parvis_tenants_changed"
REGISTRY_TABLES = {Tenant.__tablename__, Subscription.__tablename__}


def _row_changed(mapper: object, connection: object, target: object) -> None:
    """A registry row (or a subscription, which sets the plan) was inserted, updated or
    deleted through the ORM (at flush)."""
    cache.clear()
    session = object_session(target)
    if session is not None:
        session.info[CHANGED] = True


def _statement_ran(state: ORMExecuteState) -> None:
    """An UPDATE/DELETE/INSERT statement on the registry or subscriptions (bulk or Core)."""
    if ((state.is_update or state.is_delete or state.is_insert)
            and getattr(cast(UpdateBase, state.statement).table, "name", None)
            in REGISTRY_TABLES):
        cache.clear()
        state.session.info[CHANGED] = True


def _committed(session: Session) -> None:
    # Again at commit: a request may have cached the old row between the flush and now.
    if session.info.pop(CHANGED, False):
        cache.clear()
        if has_app_context():  # other processes: their next request reads the row again
            _registry_generation().bump()


@functools.cache
def _watch_registry_rows() -> None:
    """Once per process: mapper events are global."""
    for model in (Tenant, Subscription):
        for name in ("after_insert", "after_update", "after_delete"):
            event.listen(model, name, _row_changed)


def _standing_changed(session: Session, *_: object) -> None:
    """The request's unit of work wrote (a flush, or an UPDATE, DELETE or INSERT statement):
    its standing is read again when next asked, as each of its look-ups was before it was one
    statement (a page rendered after a write shows what the write did)."""
    if has_app_context():
        g.pop("standing", None)


def _standing_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        _standing_changed(state.session)


def _watch_registry(sessions: sessionmaker) -> None:
    _watch_registry_rows()
    event.listen(sessions, "do_orm_execute", _statement_ran)
    event.listen(sessions, "after_commit", _committed)
    event.listen(sessions, "after_flush", _standing_changed)
    event.listen(sessions, "do_orm_execute", _standing_statement)


@functools.cache
def _mount(children: tuple[Blueprint, ...]) -> None:
    """Once per process: a blueprint cannot change after its first registration on an app."""
    for child in children:
        bp.register_blueprint(child)


# Every member of a role sees the same staff links in a tenant's menu: rendered once per
# process for each tenant, role, language and script root (the links' only inputs).
MAX_STAFF_MENUS = 20_000  # a few kB each
_staff_menus: Kept[tuple[str, str, str, str], Markup] = Kept(MAX_STAFF_MENUS)


def staff_menu() -> Markup:
    """The staff's links of the layout's menu, for the request's tenant and role."""
    here = g._get_current_object()
    key = (here.tenant.slug, here.tenant_role, str(get_locale()), request.script_root)
    found = _staff_menus.get(key)
    if found is None:
        found = Markup(render_template("_staff_menu.html"))  # noqa: S704 -- Jinja's own output
        _staff_menus.put(key, found)
    return found


template_globals(bp, staff_menu=staff_menu, member_names=member_names)


def init_app(app: Flask, children: tuple[Blueprint, ...]) -> None:
    """Serve the tenant plane's pages (``children``: the tenant blueprints and the members
    page, given by the application factory) under ``/t/<tenant>``."""
    _mount(children)
    _watch_registry(app.extensions["parvis_sessions"])
    app.register_blueprint(bp)
    app.teardown_request(_end_tenant_scope)
