"""Tenant lifecycle: create (registry row + provisioned schema), suspend, reopen, drop.

Provisioning order makes a crash harmless: the registry row is created as ``provisioning``
(invisible to routing), the schema is created and stamped, then the row becomes ``active``.
A failed provisioning removes the half-made schema and the row.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenants import api as tenants_api
from webapp import migrate
from webapp.organisations.models import Tenant, TenantStatus

RESERVED_SLUGS = frozenset({"admin", "api", "ops", "static", "www", "login", "logout", "account",
                            "signup", "billing", "help", "status", "public", "postgres"})
LANGUAGES = ("fr", "en")


class TenantError(ValueError):
    """A tenant operation refused with a translated, user-facing reason about ``field``."""

    def __init__(self, message: object, field: str = "slug") -> None:
        super().__init__(message)
        self.field = field


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not slug:
        raise TenantError(_l("Enter an address name."))
    if len(slug) > 41:
        raise TenantError(_l("The address name must be at most 41 characters."))
    try:
        tenants_api.validate_slug(slug)
    except tenants_api.InvalidSlug:
        raise TenantError(_l(
            "The address name must start with a lowercase letter and contain only lowercase "
            "letters, digits and hyphens (2 to 41 characters, not ending with a hyphen)."
        )) from None
    if slug in RESERVED_SLUGS:
        raise TenantError(_l("This address name is reserved."))
    return slug


def _invisible(char: str) -> bool:
    """Control, format (e.g. bidi overrides), private-use, unassigned and line-break characters;
    spaces are fine. They would make a name display differently from what it is."""
    return not char.isprintable() and unicodedata.category(char) != "Zs"


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise TenantError(_l("Enter the organisation's name."), "name")
    if len(name) > 200:
        raise TenantError(_l("The name must be at most 200 printable characters."), "name")
    if any(_invisible(c) for c in name):
        raise TenantError(_l("The name cannot contain control characters or invisible "
                             "formatting characters."), "name")
    return name


def get(db: Session, slug: str) -> Tenant | None:
    """The tenant with this slug; None for any text that is not a valid slug (never queried)."""
    try:
        tenants_api.validate_slug(slug)
    except tenants_api.InvalidSlug:
        return None
    return db.scalar(select(Tenant).where(Tenant.slug == slug))


def tenants_by_id(db: Session, ids: Iterable[int]) -> dict[int, Tenant]:
    ids = list(ids)
    if not ids:
        return {}
    return {t.id: t for t in db.scalars(select(Tenant).where(Tenant.id.in_(ids)))}


def create(db: Session, *, slug: str, name: str, default_language: str = "fr") -> Tenant:
    """Register and provision a tenant; commits the registry row itself (see module doc)."""
    slug, name = check_slug(slug), check_name(name)
    if default_language not in LANGUAGES:
        raise TenantError(_l("Choose French or English as the default language."),
                          "default_language")
    if get(db, slug) is not None or tenants_api.exists(slug):
        raise TenantError(_l("This address name is already taken."))
    tenant = Tenant(slug=slug, name=name, default_language=default_language,
                    status=TenantStatus.PROVISIONING)
    db.add(tenant)
    db.commit()  # reserve the slug before creating the schema
    try:
        revision = migrate.head("tenant")
        tenants_api.provision(slug, revision)
    except Exception:
        db.delete(tenant)
        db.commit()
        raise
    tenant.schema_revision = revision
    tenant.status = TenantStatus.ACTIVE
    db.flush()
    return tenant


def set_status(db: Session, tenant: Tenant, status: TenantStatus) -> None:
    tenant.status = status
    db.flush()


def drop(db: Session, slug: str) -> None:
    """Destroy a tenant's schema and its registry row. Irreversible."""
    tenant = get(db, slug)
    if tenant is None:
        raise TenantError(_l("No organisation has this address name."))
    tenants_api.drop(slug)
    db.delete(tenant)
    db.flush()


def all_tenants(db: Session) -> list[Tenant]:
    return list(db.scalars(select(Tenant).order_by(Tenant.slug)))
