"""Processor duties as operations: accept the DPA, manage sub-processors, announce a change,
record an objection. Services validate, flush and raise ``ProcessorError``; they never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp import db as control_db
from webapp.auth.models import Account, Membership
from webapp.organisations.models import Tenant, TenantStatus
from webapp.processor import dpa
from webapp.processor.models import (
    ChangeKind,
    DpaAcceptance,
    Objection,
    Safeguard,
    SubProcessor,
    SubProcessorChange,
)

DEFAULT_OBJECTION_DAYS = 30
OBJECTION_DAYS = (1, 180)
REASON_MAX = 2000
# Tenants whose owners are told about sub-processor changes: those whose data Parvis holds.
INFORMED = (TenantStatus.ACTIVE, TenantStatus.READ_ONLY, TenantStatus.SUSPENDED)


class ProcessorError(ValueError):
    """A refused operation: ``status`` is the HTTP status a view answers with."""

    def __init__(self, message: object, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


# --- DPA -------------------------------------------------------------------------------------


def dpa_pending(tenant_id: int) -> bool:
    """True until the tenant has accepted the current DPA version (one indexed query)."""
    return not control_db.session().scalar(select(exists().where(
        DpaAcceptance.tenant_id == tenant_id,
        DpaAcceptance.version == dpa.current().id)))


def tenants_pending_dpa(session: Session, account_id: int) -> list[Tenant]:
    """The open tenants this account owns that have not accepted the current DPA."""
    accepted = exists().where(DpaAcceptance.tenant_id == Tenant.id,
                              DpaAcceptance.version == dpa.current().id)
    return list(session.scalars(
        select(Tenant).join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.account_id == account_id, Membership.role == "owner",
               Tenant.status.in_(INFORMED), ~accepted)
        .order_by(Tenant.name)))


def accept(session: Session, tenant_id: int, account_id: int, version: str,
           language: str = "fr") -> DpaAcceptance:
    """Record that ``account_id`` accepted DPA ``version`` for ``tenant_id``.

    Only the current version can be accepted (a form left open over a new release is refused
    with 409); accepting it twice returns the first acceptance. The caller checks the role:
    signup (issue 7) calls this for the account creating the tenant.
    """
    current = dpa.current()
    if version != current.id:
        raise ProcessorError(_l("This version of the agreement is no longer the current one. "
                                "Please read the current version and accept it."), 409)
    found = session.scalar(select(DpaAcceptance).where(
        DpaAcceptance.tenant_id == tenant_id, DpaAcceptance.version == version))
    if found is not None:
        return found
    account = session.get(Account, account_id)
    if account is None or session.get(Tenant, tenant_id) is None:
        raise ProcessorError(_l("Unknown organisation or account."), 404)
    if language not in dpa.LANGUAGES:
        language = dpa.LANGUAGES[0]
    acceptance = DpaAcceptance(tenant_id=tenant_id, version=version, account_id=account_id,
                               account_email=account.email, language=language,
                               text_sha256=current.sha256(language),
                               accepted_at=control_db.utcnow())
    if not insert_once(session, acceptance):  # another owner's click got there first
        return session.scalars(select(DpaAcceptance).where(
            DpaAcceptance.tenant_id == tenant_id, DpaAcceptance.version == version)).one()
    return acceptance


def insert_once(session: Session, row: object) -> bool:
    """Insert ``row`` in a savepoint; False if a unique constraint refused it (a concurrent
    request inserted the same row), leaving the rest of the unit of work intact."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def acceptances(session: Session, tenant_id: int | None = None) -> list[DpaAcceptance]:
    query = select(DpaAcceptance).order_by(DpaAcceptance.accepted_at.desc(),
                                           DpaAcceptance.id.desc())
    if tenant_id is not None:
        query = query.where(DpaAcceptance.tenant_id == tenant_id)
    return list(session.scalars(query))


# --- sub-processors --------------------------------------------------------------------------


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
    now = control_db.utcnow()
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


def open_changes_for(session: Session, account_id: int) -> list[tuple[Tenant, SubProcessorChange]]:
    """For the owner banner: announced changes still open to objection, per tenant this
    account owns that has not objected to them (one query)."""
    objected = exists().where(Objection.change_id == SubProcessorChange.id,
                              Objection.tenant_id == Tenant.id)
    return [(tenant, change) for tenant, change in session.execute(
        select(Tenant, SubProcessorChange)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .join(SubProcessorChange, SubProcessorChange.objection_deadline > control_db.utcnow())
        .where(Membership.account_id == account_id, Membership.role == "owner",
               Tenant.status.in_(INFORMED), ~objected)
        .order_by(SubProcessorChange.objection_deadline, Tenant.name))]


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
    now = control_db.utcnow()
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
