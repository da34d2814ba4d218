"""Services from the operators' catalogue (GDPR Art. 28 and chapter V): enabled, disabled and
their transfers outside the EU authorised by the tenant, each change recorded as its
instruction."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenants.consent.banner import delete_service, save_service, touch
from tenants.consent.models import ConsentService
from tenants.instructions import services as instructions


def catalogue_service(db: Session, catalogue_id: int) -> ConsentService | None:
    return db.scalar(select(ConsentService).where(ConsentService.catalogue_id == catalogue_id))


def enable_catalogue(db: Session, entry: dict, member_id: int | None) -> ConsentService:
    """Enable the catalogue ``entry`` (plain values from the control plane) for this tenant.

    A service processing data outside the EU (``entry["safeguard"]`` not None) is stored
    blocked: not in the banner, not loaded, until the owner authorises the transfer.
    Enabling twice keeps the first.
    """
    service = catalogue_service(db, entry["id"])
    if service is not None:
        return service
    blocked = entry["safeguard"] is not None
    service = save_service(db, None, name=entry["name"], provider=entry["provider"],
                           purpose=entry["purpose"], cookies=list(entry["cookies"]),
                           location=entry["location"], load_kind=entry["load_kind"],
                           load_url=entry["load_url"])
    service.catalogue_id, service.catalogue_version = entry["id"], entry["version"]
    service.transfer_safeguard, service.blocked = entry["safeguard"], blocked
    touch(db)
    summary = (_("Enabled %(name)s (%(provider)s); blocked until the owner authorises the "
                 "transfer to %(location)s", **_names(entry)) if blocked
               else _("Enabled %(name)s (%(provider)s, %(location)s)", **_names(entry)))
    instructions.record(db, "services", summary, member_id=member_id)
    return service


def disable_catalogue(db: Session, catalogue_id: int, member_id: int | None) -> bool:
    """Stop using a catalogue service at once (banner, loader and CSP follow the commit)."""
    service = catalogue_service(db, catalogue_id)
    if service is None:
        return False
    names = _names(service)
    delete_service(db, service)
    instructions.record(db, "services", _("Disabled %(name)s (%(provider)s)", **names),
                        member_id=member_id)
    return True


def authorise_transfer(db: Session, catalogue_id: int, version: int,
                       member_id: int | None) -> ConsentService | None:
    """Unblock an enabled service whose transfer outside the EU the owner authorises, for the
    catalogue ``version`` they were shown; None (nothing changed) for any other case."""
    service = catalogue_service(db, catalogue_id)
    if service is None or not service.blocked or service.catalogue_version != version:
        return None
    service.blocked = False
    touch(db)
    instructions.record(db, "services", _(
        "Authorised the transfer of data to %(location)s for %(name)s (%(provider)s)",
        **_names(service)), member_id=member_id)
    return service


def _names(service: Any) -> dict[str, str]:
    get: Callable[[str], Any] = (service.get if isinstance(service, dict)
                                 else functools.partial(getattr, service))
    return {"name": get("name"), "provider": get("provider"), "location": get("location")}
