"""Who may do what in the control plane: operators, and the members of an organisation.

Rule: every control-plane view checks access through this module, and nothing else writes an
access check (``tenants/access.py`` is the tenant plane's twin). Three kinds of pages:

- operator pages (``/ops/…``): ``operator_required``, by operator role;
- an organisation's pages (``/organisations/<slug>/…``): ``member_required`` resolves the
  organisation and the signed-in account's role into ``g.org`` and ``g.org_role``;
- the control plane's pages inside a tenant (``/t/<slug>/admin/…``): ``tenant_member`` reads
  the role the tenancy resolver (``webapp.tenancy``) put in ``g.tenant_role``.

Unknown organisation: 404. Signed out: the sign-in page (401 inside a tenant). Anybody else,
operators who are not members included: 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, g
from flask_login import current_user, login_required

from webapp import db
from webapp.auth.models import Membership, OperatorRole
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant
from webapp.tenancy import member_role, standing

# The privacy team: runs the registers, the sub-processor list, the catalogue of third-party
# services and the breach workflow (support operators: 403).
PRIVACY_ROLES = (OperatorRole.ADMIN, OperatorRole.PRIVACY)


def operator_required(*roles: OperatorRole) -> Callable:
    """Signed-in operators; with ``roles``, only those operator roles (others: 403)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            role = current_user.operator_role
            if role is None or (roles and role not in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def member_required(*roles: str,
                    former: Callable[[Tenant], str | None] | None = None) -> Callable:
    """Members of the organisation ``slug`` with one of ``roles``: sets ``g.org`` and
    ``g.org_role``.

    ``former(tenant)`` may give a role to an account that is not (any more) a member with one of
    ``roles``: the contract pages let the owner at the time of destruction read its certificate
    after the memberships are gone.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(slug: str, *args: Any, **kwargs: Any) -> Any:
            tenant = org_services.get(db.session(), slug)
            if tenant is None:
                abort(404)
            role = member_role(tenant.id)
            if role not in roles and former is not None:
                role = former(tenant)
            if role not in roles:
                abort(403)
            g.org, g.org_role = tenant, role
            return view(slug, *args, **kwargs)

        return wrapped

    return decorator


def tenant_member(*roles: str) -> Membership:
    """On the control plane's pages inside a tenant: the signed-in member's membership, if
    their role is one of ``roles``. Signed out: 401; anybody else, an operator reading under a
    support grant (a viewer without a membership) included: 403."""
    role = g.get("tenant_role")
    if role is None:
        abort(401 if not g.get("signed_in") else 403)
    if role not in roles:
        abort(403)
    # The role was read with the account (webapp.tenancy); the membership itself is loaded
    # here, for the pages that change memberships.
    found = standing()
    membership = db.session().get(Membership, found.membership_id) \
        if found is not None and found.membership_id is not None else None
    if membership is None:
        abort(403)
    return membership
