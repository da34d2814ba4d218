"""Sub-processors as operations: keep the list, announce a change, record an objection, and
gather what their pages show. Services validate, flush and raise ``ProcessorError``; they never
commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Exists, Select, exists, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from webapp.auth.models import Account, Membership
from webapp.dpa.services import INFORMED, ProcessorError, insert_once, is_informed
from webapp.organisations import services as org_services
from webapp.organisations.models import Tenant
from webapp.subprocessors.models import (
    ChangeKind,
    Objection,
    Safeguard,
    SubProcessor,
    SubProcessorChange,
)

DEFAULT_OBJECTION_DAYS = 30
OBJECTION_DAYS = (1, 180)
REASON_MAX = 2000


@dataclass
class SubProcessorData:
    name: str
    purpose_fr: str
    purpose_en: str
    data_fr: str
    data_en: str
    location: str
    safeguard: str


def _check(data: SubProcessorData) -> None:
    for name in ("name", "purpose_fr", "purpose_en", "data_fr", "data_en", "location"):
        value = getattr(data, name)
        if not value or not value.strip():
            raise ProcessorError(_l("This field is required."), field=name)
        if "\x00" in value:
            raise ProcessorError(_l("This text contains a character that is not allowed."),
                                 field=name)
    if data.safeguard not in {s.value for s in Safeguard}:
        raise ProcessorError(_l("Choose a safeguard from the list."), field="safeguard")


def save_sub_processor(session: Session, data: SubProcessorData,
                       entry: SubProcessor | None = None) -> SubProcessor:
    """Create a draft entry (listed once a change announces it) or update ``entry``."""
    _check(data)
    if entry is None:
        entry = SubProcessor()
        session.add(entry)
    for name, value in vars(data).items():
        setattr(entry, name, value.strip())
    entry.safeguard = Safeguard(data.safeguard)
    session.flush()
    return entry


def all_sub_processors(session: Session) -> list[SubProcessor]:
    return list(session.scalars(select(SubProcessor).order_by(SubProcessor.name,
                                                              SubProcessor.id)))


def listed(session: Session, today: date) -> list[SubProcessor]:
    """The public list on ``today``: entries in effect and not yet removed."""
    return [s for s in all_sub_processors(session)
            if s.listed_from is not None and s.listed_from <= today
            and (s.listed_until is None or s.listed_until > today)]


def announce(session: Session, entry: SubProcessor, *, kind: str, effective_on: date,
             objection_days: int = DEFAULT_OBJECTION_DAYS, note_fr: str = "", note_en: str = "",
             account_id: int | None = None) -> SubProcessorChange:
    """Announce a change of ``entry`` taking effect on ``effective_on``.

    Owners can object until the window closes, so the change cannot take effect before then.
    An addition puts the entry on the public list from that date, a removal takes it off.
    """
    if kind not in {k.value for k in ChangeKind}:
        raise ProcessorError(_l("Choose the kind of change from the list."), field="kind")
    low, high = OBJECTION_DAYS
    if not low <= objection_days <= high:
        raise ProcessorError(_l("The objection window must be between %(low)d and %(high)d "
                                "days.", low=low, high=high), field="objection_days")
    now = utcnow()
    deadline = now + timedelta(days=objection_days)
    if effective_on < deadline.date():
        raise ProcessorError(_l("The change cannot take effect before the objection window "
                                "closes (%(date)s).", date=deadline.date().isoformat()),
                             field="effective_on")
    for name, note in (("note_fr", note_fr), ("note_en", note_en)):
        if len(note) > REASON_MAX or "\x00" in note:
            raise ProcessorError(_l("At most %(num)d characters, without control characters.",
                                    num=REASON_MAX), field=name)
    change = SubProcessorChange(sub_processor_id=entry.id, kind=ChangeKind(kind),
                                note_fr=note_fr.strip(), note_en=note_en.strip(),
                                effective_on=effective_on, announced_at=now,
                                objection_deadline=deadline, announced_by=account_id)
    if change.kind == ChangeKind.ADDED:
        entry.listed_from, entry.listed_until = effective_on, None
    elif change.kind == ChangeKind.REMOVED:
        entry.listed_until = effective_on
    session.add(change)
    session.flush()
    return change


def changes(session: Session) -> list[SubProcessorChange]:
    return list(session.scalars(select(SubProcessorChange).order_by(
        SubProcessorChange.announced_at.desc(), SubProcessorChange.id.desc())))


def upcoming(session: Session, today: date) -> list[SubProcessorChange]:
    """Announced changes not yet in effect, for the public page."""
    return [c for c in changes(session) if c.effective_on > today]


def owners_to_inform(session: Session, account_id: int | None = None) -> dict[int, list[Tenant]]:
    """Active owner accounts of the tenants whose data Parvis holds, with those tenants (only
    ``account_id``'s, if given)."""
    query = (select(Membership.account_id, Tenant)
             .join(Tenant, Tenant.id == Membership.tenant_id)
             .join(Account, Account.id == Membership.account_id)
             .where(Membership.role == "owner", Tenant.status.in_(INFORMED), Account.is_active)
             .order_by(Membership.account_id, Tenant.name))
    if account_id is not None:
        query = query.where(Membership.account_id == account_id)
    found: dict[int, list[Tenant]] = {}
    for owner_id, tenant in session.execute(query):
        found.setdefault(owner_id, []).append(tenant)
    return found


def _open_changes(account_id: int | ColumnElement[int], now: datetime | ColumnElement[datetime]
                  ) -> Select[Tenant, SubProcessorChange]:
    objected = exists().where(Objection.change_id == SubProcessorChange.id,
                              Objection.tenant_id == Tenant.id)
    return (select(Tenant, SubProcessorChange)
            .join(Membership, Membership.tenant_id == Tenant.id)
            .join(SubProcessorChange, SubProcessorChange.objection_deadline > now)
            .where(Membership.account_id == account_id, Membership.role == "owner",
                   is_informed(), ~objected))


def open_changes_for(session: Session, account_id: int) -> list[tuple[Tenant, SubProcessorChange]]:
    """For the owner banner: announced changes still open to objection, per tenant this
    account owns that has not objected to them (one query)."""
    return [(tenant, change) for tenant, change in session.execute(
        _open_changes(account_id, utcnow()).order_by(SubProcessorChange.objection_deadline,
                                                     Tenant.name))]


def any_open_changes(account_id: int | ColumnElement[int],
                     now: datetime | ColumnElement[datetime]) -> Exists:
    """Whether ``open_changes_for`` would find any at ``now``, as a column of a larger
    statement (the request's standing, ``webapp.tenancy``, which passes bound parameters):
    the banner's list is read only when it shows."""
    # Correlated with nothing: the larger statement may read memberships and tenants too.
    return _open_changes(account_id, now).correlate(None).exists()


def objections(session: Session, *, tenant_id: int | None = None) -> list[Objection]:
    query = select(Objection).order_by(Objection.created_at.desc(), Objection.id.desc())
    if tenant_id is not None:
        query = query.where(Objection.tenant_id == tenant_id)
    return list(session.scalars(query))


def object_to(session: Session, change_id: int, tenant_id: int, account_id: int,
              reason: str = "") -> Objection:
    """Record ``tenant_id``'s objection to a change; the caller has checked the owner role.

    Unknown change: 404. Window closed or already objected: 409. Nothing is written then.
    """
    change = session.get(SubProcessorChange, change_id)
    if change is None:
        raise ProcessorError(_l("This announcement does not exist."), 404)
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX or "\x00" in reason:
        raise ProcessorError(_l("At most %(num)d characters, without control characters.",
                                num=REASON_MAX), field="reason")
    now = utcnow()
    if now >= change.objection_deadline:
        raise ProcessorError(_l("The objection period for this change is over."), 409)
    if session.scalar(select(exists().where(Objection.change_id == change_id,
                                            Objection.tenant_id == tenant_id))):
        raise ProcessorError(_l("Your organisation has already objected to this change."), 409)
    account = session.get(Account, account_id)
    if account is None:
        raise ProcessorError(_l("Unknown organisation or account."), 404)
    objection = Objection(change_id=change_id, tenant_id=tenant_id, account_id=account_id,
                          account_email=account.email, reason=reason, created_at=now)
    if not insert_once(session, objection):
        raise ProcessorError(_l("Your organisation has already objected to this change."), 409)
    return objection


# --- what the pages show ---------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerChanges:
    """An organisation's view of the announcements: open ones, closed ones, its objections."""

    open: list[SubProcessorChange]
    closed: list[SubProcessorChange]
    objected: dict[int, Objection]  # by change id


def owner_changes(session: Session, tenant_id: int, now: datetime) -> OwnerChanges:
    found = changes(session)
    return OwnerChanges(open=[c for c in found if c.objection_deadline > now],
                        closed=[c for c in found if c.objection_deadline <= now],
                        objected={o.change_id: o for o in objections(session,
                                                                     tenant_id=tenant_id)})


@dataclass(frozen=True)
class ObjectionsByChange:
    """The operators' view: every objection by change id, and the tenants that objected."""

    by_change: dict[int, list[Objection]]
    tenants: dict[int, Tenant]


def objections_by_change(session: Session) -> ObjectionsByChange:
    by_change: dict[int, list[Objection]] = {}
    for objection in objections(session):
        by_change.setdefault(objection.change_id, []).append(objection)
    tenants = org_services.tenants_by_id(
        session, {o.tenant_id for found in by_change.values() for o in found})
    return ObjectionsByChange(by_change, tenants)
