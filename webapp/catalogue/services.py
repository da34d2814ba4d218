"""Third-party services: the operators' catalogue, and each tenant's use of it.

A tenant admin enables a catalogue entry: the tenant plane stores a copy as one of its consent
services, which the cookie banner, the loader and the per-visitor CSP follow. An entry
processing data outside the EU is stored blocked (neither shown nor loaded) until the tenant
owner authorises the transfer; the authorisation is kept here as proof of what was shown.
Every change is one of the tenant's instructions (``tenants.instructions``).

The tenant's side goes through ``tenants.api`` in the tenant's unit of work, which the view
activates: the request commits both planes together. Services validate, flush and raise
``ProcessorError``; they never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.cookie_lifetimes import Lifetime, LifetimeError
from core.cookie_lifetimes import check as check_lifetimes
from tenants import api as tenants_api
from webapp.auth.models import Account
from webapp.catalogue.models import ThirdPartyService, TransferAuthorisation
from webapp.dpa.services import ProcessorError, insert_once
from webapp.organisations.models import Tenant, TenantStatus
from webapp.subprocessors.models import Safeguard


@dataclass
class ServiceData:
    name: str
    provider: str
    purpose: str
    description_fr: str
    description_en: str
    data_fr: str
    data_en: str
    location: str
    safeguard: str
    load_kind: str
    load_url: str | None
    cookies: list[dict] = field(default_factory=list)


def all_services(session: Session) -> list[ThirdPartyService]:
    return list(session.scalars(select(ThirdPartyService).order_by(ThirdPartyService.name,
                                                                   ThirdPartyService.id)))


def save(session: Session, data: ServiceData,
         entry: ThirdPartyService | None = None) -> ThirdPartyService:
    """Add or correct a catalogue entry; any change makes a new version (tenants that enabled
    the old one keep it until they enable it again)."""
    if data.safeguard not in {s.value for s in Safeguard}:
        raise ProcessorError(_l("Choose a safeguard from the list."), field="safeguard")
    try:
        tenants_api.check_consent_service(data.purpose, data.cookies, data.load_kind,
                                          data.load_url)
    except LifetimeError as exc:
        raise ProcessorError(exc.message(), field="cookies") from exc
    except ValueError as exc:
        name = str(exc) if str(exc) in {"purpose", "load_kind", "load_url", "cookies"} else "name"
        raise ProcessorError(_l("This value is not valid."), field=name) from exc
    values = {**vars(data), "safeguard": Safeguard(data.safeguard)}
    if entry is None:
        entry = ThirdPartyService(**values, version=1)
        session.add(entry)
    elif any(getattr(entry, key) != value for key, value in values.items()):
        for key, value in values.items():
            setattr(entry, key, value)
        entry.version += 1
    session.flush()
    return entry


@dataclass(frozen=True)
class TenantService:
    """A catalogue entry as one tenant sees it."""

    entry: ThirdPartyService
    enabled: bool
    blocked: bool
    outdated: bool  # enabled at an older version of the entry


def for_tenant(session: Session) -> list[TenantService]:
    """The catalogue with the active tenant's state of each entry."""
    state = tenants_api.catalogue_state()
    found = []
    for entry in all_services(session):
        mine = state.get(entry.id)
        found.append(TenantService(entry, mine is not None, bool(mine and mine["blocked"]),
                                   bool(mine and mine["version"] != entry.version)))
    return found


def _writable(tenant: Tenant) -> None:
    if tenant.status != TenantStatus.ACTIVE:
        raise ProcessorError(_l("This organisation is not active: its settings cannot be "
                                "changed."), 409)


def _entry(session: Session, entry_id: int) -> ThirdPartyService:
    entry = session.get(ThirdPartyService, entry_id)
    if entry is None:
        raise ProcessorError(_l("This service is not in the catalogue."), 404)
    return entry


def lifetimes_to_fix(entries: list[ThirdPartyService]) -> list[tuple[ThirdPartyService, str, str]]:
    """(entry, cookie, lifetime as written) for each cookie whose lifetime is old free text
    that could not be read, or is over 13 months (``core.cookie_lifetimes``): the operators
    correct them; until then no organisation can enable the entry."""
    return [(entry, str(cookie.get("name", "")), str(Lifetime.of(cookie)))
            for entry in entries for cookie in entry.cookies or ()
            if Lifetime.of(cookie).needs_fixing]


def enable(session: Session, tenant: Tenant, entry_id: int, account_id: int) -> ThirdPartyService:
    _writable(tenant)
    entry = _entry(session, entry_id)
    try:
        check_lifetimes(list(entry.cookies or ()))
    except LifetimeError as exc:
        raise ProcessorError(_l("This service cannot be enabled until the Parvis operators "
                                "correct it: %(problem)s", problem=exc.message()), 409) from exc
    tenants_api.enable_catalogue_service(entry.plain(), account_id)
    return entry


def disable(tenant: Tenant, entry_id: int, account_id: int) -> None:
    _writable(tenant)
    if not tenants_api.disable_catalogue_service(entry_id, account_id):
        raise ProcessorError(_l("This service is not enabled."), 409)


def authorise(session: Session, tenant: Tenant, entry_id: int, version: int,
              account_id: int) -> TransferAuthorisation:
    """The owner authorises the transfer by an enabled, blocked service at ``version`` (the
    one the page showed them). Anything else (not enabled, not blocked, another version, an
    entry of the EU) is refused and changes nothing."""
    _writable(tenant)
    entry = _entry(session, entry_id)
    state = tenants_api.catalogue_state().get(entry_id)
    if (not entry.outside_eu or state is None or not state["blocked"]
            or state["version"] != version):
        raise ProcessorError(_l("There is no transfer to authorise for this service: reload "
                                "the page to see its current state."), 409)
    if version != entry.version:
        raise ProcessorError(_l("This service changed in the catalogue since you enabled it: "
                                "disable it and enable it again to see what changed."), 409)
    account = session.get(Account, account_id)
    assert account is not None
    proof = TransferAuthorisation(
        tenant_id=tenant.id, service_id=entry.id, service_version=version,
        service_name=entry.name, destination=entry.location, safeguard=entry.safeguard.value,
        account_id=account.id, account_email=account.email, authorised_at=utcnow())
    if not insert_once(session, proof):
        raise ProcessorError(_l("This transfer is already authorised."), 409)
    tenants_api.authorise_catalogue_transfer(entry_id, version, account_id)
    return proof


def authorisations(session: Session, tenant_id: int) -> list[TransferAuthorisation]:
    return list(session.scalars(select(TransferAuthorisation)
                                .where(TransferAuthorisation.tenant_id == tenant_id)
                                .order_by(TransferAuthorisation.authorised_at.desc())))


def transfer_pending(entry_id: int) -> bool:
    """Whether the active tenant enabled the entry and its transfer waits for the owner."""
    state = tenants_api.catalogue_state().get(entry_id)
    return bool(state and state["blocked"])
