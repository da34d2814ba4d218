"""Tenant lifecycle: create (registry row + provisioned schema), suspend, reopen, drop.

Provisioning order makes a crash harmless: the registry row is created as ``provisioning``
(invisible to routing), the schema is created and stamped, then the row becomes ``active``.
A failed provisioning removes the half-made schema and the row. Signup reserves the row
(``reserve``) long before billing confirms the payment and calls ``provision``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.web.pagination import Page, paginate
from tenants import api as tenants_api
from webapp import db as control_db
from webapp import migrate
from webapp.auth.models import Account, Membership
from webapp.billing.models import Subscription
from webapp.organisations.models import (
    ControllerIdentity,
    ProvisioningInstruction,
    StatusChange,
    Tenant,
    TenantStatus,
)

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


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise TenantError(_l("Choose French or English as the default language."),
                          "default_language")
    return language


def is_free(db: Session, slug: str) -> bool:
    return get(db, slug) is None and not tenants_api.exists(slug)


def create(db: Session, *, slug: str, name: str, default_language: str = "fr") -> Tenant:
    """Register and provision a tenant; commits the registry row itself (see module doc)."""
    slug, name = check_slug(slug), check_name(name)
    check_language(default_language)
    if not is_free(db, slug):
        raise TenantError(_l("This address name is already taken."))
    tenant = Tenant(slug=slug, name=name, default_language=default_language,
                    status=TenantStatus.PROVISIONING)
    db.add(tenant)
    db.commit()  # reserve the slug before creating the schema
    try:
        provision(db, tenant)
    except Exception:
        db.delete(tenant)
        db.commit()
        raise
    return tenant


def check_instruction(name: str, email: str) -> tuple[str, str]:
    """The client's representative on whose instruction an operator opens a tenant."""
    name = (name or "").strip()
    if not name:
        raise TenantError(_l("Enter the name of the person who asked for this space."),
                          "instructed_by_name")
    if len(name) > 200 or any(_invisible(c) for c in name):
        raise TenantError(_l("The name must be at most 200 printable characters."),
                          "instructed_by_name")
    try:
        email = validate_email((email or "").strip(), check_deliverability=False,
                               allow_smtputf8=False).normalized
    except EmailNotValidError:
        raise TenantError(_l("Enter a valid e-mail address, such as name@example.org."),
                          "instructed_by_email") from None
    if len(email) > 254:
        raise TenantError(_l("Enter a valid e-mail address, such as name@example.org."),
                          "instructed_by_email")
    return name, email.lower()


def create_on_instruction(db: Session, *, slug: str, name: str, default_language: str,
                          instructed_by_name: str, instructed_by_email: str,
                          operator: Account) -> Tenant:
    """An operator opens a tenant from the console. No owner has accepted the DPA yet (signup
    has them accept it before provisioning): the space is provisioned with the acceptance
    pending, and the person on whose instruction it was opened is recorded with the operator
    (``ProvisioningInstruction``); its owners see the DPA banner until one accepts it."""
    who, address = check_instruction(instructed_by_name, instructed_by_email)
    tenant = create(db, slug=slug, name=name, default_language=default_language)
    db.add(ProvisioningInstruction(tenant_id=tenant.id, instructed_by_name=who,
                                   instructed_by_email=address, operator_id=operator.id,
                                   operator_email=operator.email, at=utcnow()))
    db.flush()
    return tenant


def provisioning_instruction(db: Session, tenant: Tenant) -> ProvisioningInstruction | None:
    """On whose instruction an operator opened ``tenant`` (None: opened through signup)."""
    return db.get(ProvisioningInstruction, tenant.id)


def provision(db: Session, tenant: Tenant) -> None:
    """Create the schema of a ``provisioning`` tenant and open it (billing calls this once the
    payment is confirmed). Safe to repeat: an open tenant is left alone, and a schema left by a
    provisioning that crashed before its commit is made again (it never held any data)."""
    if tenant.status != TenantStatus.PROVISIONING:
        return
    if tenants_api.exists(tenant.slug):
        tenants_api.drop(tenant.slug)
    revision = migrate.head("tenant")
    tenants_api.provision(tenant.slug, revision)
    tenant.schema_revision = revision
    tenant.status = TenantStatus.ACTIVE
    db.flush()


def suggest_slug(name: str) -> str:
    """An address name made from an organisation's name: "Club Été 2026" -> "club-ete-2026"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    slug = re.sub(r"^[^a-z]+", "", slug)[:36].rstrip("-")
    return slug if len(slug) >= 2 else "org"


def reserve(db: Session, *, name: str, owner: Account, default_language: str = "fr") -> Tenant:
    """A new ``provisioning`` tenant owned by ``owner``, under a provisional address name made
    from its name (the owner may change it at onboarding). No schema yet: ``provision`` makes
    it once the subscription is paid for or the trial started."""
    name = check_name(name)
    check_language(default_language)
    base = suggest_slug(name)
    if base in RESERVED_SLUGS:
        base = f"{base}-org"
    for n in range(1, 1000):
        slug = base if n == 1 else f"{base}-{n}"
        if not is_free(db, slug):
            continue
        tenant = Tenant(slug=slug, name=name, default_language=default_language,
                        status=TenantStatus.PROVISIONING)
        try:
            with db.begin_nested():  # a concurrent signup may take the same name meanwhile
                db.add(tenant)
        except IntegrityError:
            continue
        db.add(Membership(tenant_id=tenant.id, account_id=owner.id, role="owner"))
        db.flush()
        return tenant
    raise TenantError(_l("Too many organisations have a similar name: choose another name."),
                      "name")


def change_slug(db: Session, tenant: Tenant, slug: str) -> None:
    """Move a tenant that has just been provisioned to another address name: a fresh schema is
    made under the new name and the old one dropped. Only onboarding calls this, before the
    controller identity is saved (``is_onboarded``): the space is new and holds nothing yet
    but its default settings, which the new schema has too."""
    slug = check_slug(slug)
    if slug == tenant.slug:
        return
    if is_onboarded(db, tenant) or tenant.status != TenantStatus.ACTIVE:
        raise TenantError(_l("The address name can no longer be changed."))
    if not is_free(db, slug):
        raise TenantError(_l("This address name is already taken: choose another one."))
    old = tenant.slug
    tenants_api.provision(slug, tenant.schema_revision)
    try:
        with db.begin_nested():  # another tenant may take the name at this very moment
            tenant.slug = slug
    except IntegrityError:
        tenants_api.drop(slug)
        raise TenantError(_l("This address name is already taken: choose another one.")) from None
    # Only once the registry points at the new schema for good.
    control_db.after_commit(lambda: tenants_api.drop(old))


def is_onboarded(db: Session, tenant: Tenant) -> bool:
    return db.get(ControllerIdentity, tenant.id) is not None


def set_status(db: Session, tenant: Tenant, status: TenantStatus) -> None:
    tenant.status = status
    db.flush()


REASON_MAX = 1000


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise TenantError(_l("Give the reason for this change."), "reason")
    if len(reason) > REASON_MAX:
        raise TenantError(_l("The reason must be at most %(num)d characters.", num=REASON_MAX),
                          "reason")
    if any(_invisible(c) and c not in "\r\n" for c in reason):
        raise TenantError(_l("The reason cannot contain control characters."), "reason")
    return reason


def _record(db: Session, tenant: Tenant, to_status: TenantStatus, reason: str,
            operator: Account) -> StatusChange:
    change = StatusChange(tenant_id=tenant.id, from_status=tenant.status, to_status=to_status,
                          reason=reason, account_id=operator.id, account_email=operator.email,
                          at=utcnow())
    db.add(change)
    tenant.status = to_status
    db.flush()
    return change


def suspend(db: Session, tenant: Tenant, reason: str, operator: Account) -> StatusChange:
    """An operator closes an open tenant (its pages answer "not available"; no data is
    touched), with a recorded reason."""
    reason = _check_reason(reason)
    if not tenant.is_open:
        raise TenantError(_l("Only an active or read-only organisation can be suspended."),
                          "status")
    return _record(db, tenant, TenantStatus.SUSPENDED, reason, operator)


def reactivate(db: Session, tenant: Tenant, reason: str, operator: Account) -> StatusChange:
    """Lift a suspension: the tenant gets back the status it had before it (read-only stays
    read-only until billing says otherwise), with a recorded reason."""
    reason = _check_reason(reason)
    if tenant.status != TenantStatus.SUSPENDED:
        raise TenantError(_l("Only a suspended organisation can be reactivated."), "status")
    last = db.scalar(select(StatusChange).where(
        StatusChange.tenant_id == tenant.id, StatusChange.to_status == TenantStatus.SUSPENDED)
        .order_by(StatusChange.at.desc(), StatusChange.id.desc()).limit(1))
    before = last.from_status if last is not None else TenantStatus.ACTIVE
    return _record(db, tenant, before, reason, operator)


def status_history(db: Session, tenant: Tenant) -> list[StatusChange]:
    return list(db.scalars(select(StatusChange).where(StatusChange.tenant_id == tenant.id)
                           .order_by(StatusChange.at.desc(), StatusChange.id.desc())))


def plans_by_tenant(db: Session, tenant_ids: Collection[int] | None = None) -> dict[int, str]:
    """The billing plan code of each tenant (of ``tenant_ids``, by default all) that has a
    subscription (the others were created by an operator and are not billed)."""
    stmt = select(Subscription.tenant_id, Subscription.plan)
    if tenant_ids is not None:
        stmt = stmt.where(Subscription.tenant_id.in_(list(tenant_ids)))
    return {tenant_id: plan for tenant_id, plan in db.execute(stmt)}


def last_changes(db: Session, tenant_ids: Collection[int]) -> dict[int, StatusChange]:
    """The latest suspension or reactivation of each of ``tenant_ids`` (a registry page)."""
    found: dict[int, StatusChange] = {}
    for change in db.scalars(select(StatusChange).where(
            StatusChange.tenant_id.in_(list(tenant_ids)))
            .order_by(StatusChange.at, StatusChange.id)):
        found[change.tenant_id] = change
    return found


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


def tenants_page(db: Session, page: int) -> Page[Tenant]:
    """A page of the registry by address, with the number of tenants (one statement)."""
    return paginate(db, select(Tenant).order_by(Tenant.slug), page)
