"""Who may do what inside a tenant: the request's tenant and the member's role.

The control plane resolves the tenant and the signed-in member's role for each request and
hands them over as ``g.tenant`` (a ``TenantInfo``) and ``g.tenant_role``; tenant views only read
them here. Roles are ordered: each includes the rights of those after it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, g, has_app_context

ROLES = ("owner", "admin", "manager", "moderator", "viewer")


@dataclass(frozen=True)
class Limits:
    """What the tenant's plan allows (None: no limit); set by the control plane's billing."""

    events_per_month: int | None = None
    participants: int | None = None
    custom_fields: int | None = None
    members: int | None = None


@dataclass(frozen=True)
class TenantInfo:
    slug: str
    name: str
    default_language: str
    status: str
    languages: tuple[str, ...] = ("fr", "en")
    limits: Limits = Limits()


def current() -> TenantInfo:
    return g.tenant


def limits() -> Limits:
    """The current tenant's plan limits, enforced by the tenant services that create things."""
    tenant = g.get("tenant") if has_app_context() else None
    return tenant.limits if tenant is not None else Limits()


def role() -> str | None:
    return g.get("tenant_role")


def member_id() -> int | None:
    """The signed-in member's control-plane account id (opaque here), if they are staff."""
    return g.get("member_id")


def has_role(minimum: str) -> bool:
    mine = role()
    return mine is not None and ROLES.index(mine) <= ROLES.index(minimum)


def require_role(minimum: str) -> Callable:
    """Views for tenant members holding at least ``minimum``: 401 if signed out, else 403."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if role() is None:
                abort(401 if not g.get("signed_in") else 403)
            if not has_role(minimum):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def exercise_of_rights(view: Callable) -> Callable:
    """Mark a view participants need to exercise their rights (sign in, see and correct their
    data, choose who sees them, withdraw consent, erasure): it keeps working when billing made
    the space read-only, where every other write is refused. Put it under the route."""
    view.exercise_of_rights = True  # type: ignore[attr-defined]
    return view
