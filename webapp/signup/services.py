"""Signup as operations. Services validate, flush and raise ``SignupError``; they never commit.

No account enumeration: asking to sign up with an address that already has an account answers
exactly like a new address ("check your inbox"); the e-mail sent differs (see ``tasks``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import rowcount
from webapp.auth import services as auth_services
from webapp.auth.models import Account, Membership
from webapp.billing import plans
from webapp.dpa import services as dpa_services
from webapp.dpa import versions as dpa
from webapp.organisations import services as organisations
from webapp.organisations.models import ControllerIdentity, Tenant, TenantStatus
from webapp.signup import terms
from webapp.signup.models import PendingSignup, TermsAcceptance

LINK_LIFETIME = timedelta(days=2)
RESEND_INTERVAL = timedelta(minutes=1)  # a form sent in a loop cannot flood a mailbox


class SignupError(ValueError):
    """A refused step, with a translated message about ``field`` (None: the whole form)."""

    def __init__(self, message: object, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_plan(code: str | None) -> plans.Plan:
    plan = plans.get(code or "")
    if plan is None:
        raise SignupError(_l("Choose one of the plans."), "plan")
    return plan


# --- the account, verified by e-mail ----------------------------------------------------------


def request_signup(db: Session, *, email: str, password: str, language: str,
                   plan: str) -> PendingSignup:
    """Keep a signup until its address is verified. The caller (the view) queues the e-mail,
    which is either the verification link or, for an address that has an account, a note to
    its owner: both answer the same page."""
    check_plan(plan)
    now = utcnow()
    signup = PendingSignup(email=auth_services.normalise_email(email),
                           password_hash=auth_services.hash_password(password),
                           language=language, plan=plan, created_at=now,
                           expires_at=now + LINK_LIFETIME)
    db.add(signup)
    db.flush()
    return signup


def existing_account(db: Session, email: str) -> Account | None:
    return db.scalar(select(Account).where(
        Account.email == auth_services.normalise_email(email)))


def issue_link(db: Session, signup: PendingSignup) -> str | None:
    """A new token for the verification link, or None if this address got one a moment ago."""
    recent = db.scalar(select(PendingSignup.id).where(
        PendingSignup.email == signup.email, PendingSignup.token_hash.is_not(None),
        PendingSignup.created_at > utcnow() - RESEND_INTERVAL).limit(1))
    if recent is not None:
        return None
    token = secrets.token_urlsafe(32)
    signup.token_hash = _hash(token)
    db.flush()
    return token


@dataclass
class Verified:
    account: Account
    plan: str  # chosen before the account existed


def verify(db: Session, token: str) -> Verified | None:
    """Follow a verification link: create the account (its address is now proven) and delete
    the pending signup (its password hash now lives in the account). None for an unknown, used
    or expired link, or when the address got an account by another way meanwhile (its owner
    then simply signs in)."""
    if not token or len(token) > 100:
        return None
    signup = db.scalar(select(PendingSignup).where(
        PendingSignup.token_hash == _hash(token), PendingSignup.expires_at > utcnow()))
    if signup is None:
        return None
    db.delete(signup)
    if existing_account(db, signup.email) is not None:
        db.flush()
        return None
    account = Account(email=signup.email, password_hash=signup.password_hash,
                      language=signup.language, password_changed_at=utcnow())
    db.add(account)
    db.flush()
    return Verified(account, signup.plan)


def purge_expired(db: Session) -> int:
    """Delete the signups whose link has expired unused: an address that was never confirmed
    is not kept. Returns how many."""
    return rowcount(db.execute(delete(PendingSignup).where(
        PendingSignup.expires_at <= utcnow()))) or 0


# --- the organisation: terms, DPA, payment ------------------------------------------------------


def create_organisation(db: Session, account: Account, *, name: str, language: str,
                        terms_version: str, dpa_version: str) -> Tenant:
    """Reserve the tenant (status ``provisioning``, ``account`` its owner) and record the
    acceptance of the terms and of the DPA, the versions the form showed."""
    current = terms.current()
    if terms_version != current.id or dpa_version != dpa.current().id:
        raise SignupError(_l("The terms or the agreement changed while you were reading them. "
                             "Please read the current versions and accept them."))
    try:
        tenant = organisations.reserve(db, name=name, owner=account, default_language=language)
    except organisations.TenantError as exc:
        raise SignupError(str(exc), exc.field) from None
    db.add(TermsAcceptance(tenant_id=tenant.id, account_id=account.id,
                           account_email=account.email, version=current.id, language=language,
                           text_sha256=current.sha256(language), accepted_at=utcnow()))
    dpa_services.accept(db, tenant.id, account.id, dpa_version, language)
    db.flush()
    return tenant


def owned_tenant(db: Session, account: Account, slug: str) -> Tenant | None:
    """The tenant ``slug`` if ``account`` is its owner."""
    tenant = organisations.get(db, slug)
    if tenant is None:
        return None
    owner = db.scalar(select(Membership.id).where(
        Membership.tenant_id == tenant.id, Membership.account_id == account.id,
        Membership.role == "owner"))
    return tenant if owner is not None else None


def unfinished(db: Session, account: Account) -> list[Tenant]:
    """The tenants ``account`` started signing up and has not finished onboarding."""
    return [t for t in db.scalars(
        select(Tenant).join(Membership, Membership.tenant_id == Tenant.id).where(
            Membership.account_id == account.id, Membership.role == "owner",
            Tenant.status.in_((TenantStatus.PROVISIONING, TenantStatus.ACTIVE)))
        .order_by(Tenant.id))
        if t.status == TenantStatus.PROVISIONING or not organisations.is_onboarded(db, t)]


# --- onboarding ---------------------------------------------------------------------------------


@dataclass
class Onboarding:
    name: str
    slug: str
    default_language: str
    legal_name: str
    address: str
    dpo_name: str
    dpo_email: str


def onboard(db: Session, tenant: Tenant, data: Onboarding) -> None:
    """Save what onboarding asks. Everything is checked before anything changes; the address
    name last, as moving the fresh schema is the one step outside the transaction."""
    if tenant.status != TenantStatus.ACTIVE:
        raise SignupError(_l("Your organisation's space is not ready yet."))
    if organisations.is_onboarded(db, tenant):
        raise SignupError(_l("This organisation has already been set up."))
    name = _checked(organisations.check_name, data.name, "name")
    language = _checked(organisations.check_language, data.default_language, "default_language")
    slug = _checked(organisations.check_slug, data.slug, "slug")
    legal_name = _checked(organisations.check_name, data.legal_name, "legal_name")
    address = _text(data.address, "address", _l("Enter the controller's postal address."))
    dpo_name = _text(data.dpo_name, "dpo_name",
                     _l("Enter the name of the data protection officer or contact."))
    if slug != tenant.slug and not organisations.is_free(db, slug):
        raise SignupError(_l("This address name is already taken: choose another one."), "slug")
    try:
        organisations.change_slug(db, tenant, slug)
    except organisations.TenantError as exc:
        raise SignupError(str(exc), "slug") from None
    tenant.name, tenant.default_language = name, language
    db.add(ControllerIdentity(tenant_id=tenant.id, legal_name=legal_name, address=address,
                              dpo_name=dpo_name, dpo_email=data.dpo_email))
    db.flush()


def _checked(check: Callable[[str], str], value: str, field: str) -> str:
    try:
        return check(value)
    except organisations.TenantError as exc:
        raise SignupError(str(exc), field) from None


def _text(value: str, field: str, missing: object, limit: int = 500) -> str:
    value = (value or "").strip()
    if not value:
        raise SignupError(missing, field)
    if len(value) > limit or any(not c.isprintable() and c not in "\r\n" for c in value):
        raise SignupError(_l("Use at most %(num)d characters, without control characters.",
                             num=limit), field)
    return value
