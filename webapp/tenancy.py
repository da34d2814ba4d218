"""How a request finds its tenant: the ``/t/<tenant>`` parent blueprint.

The slug is checked against the slug rule before any lookup (so hostile input ends as a 404
without touching SQL or the file system), then looked up in the registry: unknown → 404,
suspended or ended → a clear page, read-only → pages render but writes are refused.
``url_for`` fills the slug back in, so tenant views never pass it by hand. Subdomains or custom
domains can be added here, in ``resolve``, without touching any view.
"""

from __future__ import annotations

import functools

from flask import Blueprint, Flask, abort, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from tenants import api as tenants_api
from webapp import db
from webapp.auth.models import Membership
from webapp.organisations.models import Tenant, TenantStatus
from webapp.web.errors import error_page

bp = Blueprint("tenant", __name__, url_prefix="/t/<tenant>")

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def resolve(slug: str) -> Tenant | None:
    try:
        tenants_api.validate_slug(slug)
    except tenants_api.InvalidSlug:
        return None
    return db.session().scalar(select(Tenant).where(Tenant.slug == slug))


def member_role(tenant: Tenant) -> str | None:
    if not current_user.is_authenticated:
        return None
    return db.session().scalar(select(Membership.role).where(
        Membership.tenant_id == tenant.id, Membership.account_id == current_user.id))


@bp.url_value_preprocessor
def pull_tenant(endpoint: str | None, values: dict | None) -> None:
    slug = (values or {}).pop("tenant", None)
    tenant = resolve(slug) if slug else None
    if tenant is None or tenant.status == TenantStatus.PROVISIONING:
        abort(404)
    g.tenant = tenants_api.TenantInfo(slug=tenant.slug, name=tenant.name,
                                      default_language=tenant.default_language,
                                      status=tenant.status.value)
    g.tenant_id = tenant.id
    g.signed_in = current_user.is_authenticated
    g.tenant_role = member_role(tenant)
    # The member's control-plane id, opaque to the tenant plane (access logs, decisions).
    g.member_id = current_user.id if g.tenant_role else None
    g.tenant_token = tenants_api.activate(tenant.slug)


@bp.before_request
def refuse_closed_tenants():  # type: ignore[no-untyped-def]
    status = g.tenant.status
    if status in (TenantStatus.SUSPENDED, TenantStatus.ENDED):
        return error_page(403, title=str(_l("This space is not available")),
                          message=str(_l("This organisation's space is currently closed. "
                                         "Please contact the organisation for more information.")))
    if status == TenantStatus.READ_ONLY and request.method not in SAFE_METHODS:
        return error_page(403, title=str(_l("Read-only")),
                          message=str(_l("This space is read-only for now: nothing new can be "
                                         "saved. Its owner has been told how to restore it.")))
    return None


@bp.url_defaults
def push_tenant(endpoint: str, values: dict) -> None:
    if "tenant" not in values and g.get("tenant") is not None:
        values["tenant"] = g.tenant.slug


def _end_tenant_scope(exc: BaseException | None = None) -> None:
    token = g.pop("tenant_token", None)
    if token is not None:
        tenants_api.deactivate(token)


@functools.cache
def _mount_tenant_blueprints() -> None:
    """Once per process: a blueprint cannot change after its first registration on an app."""
    for child in tenants_api.blueprints():
        bp.register_blueprint(child)


def init_app(app: Flask) -> None:
    _mount_tenant_blueprints()
    app.register_blueprint(bp)
    app.teardown_request(_end_tenant_scope)
