"""The end of a contract: termination, return window, export bundle, destruction, certificate.

Order of things: ``end_contract`` closes the tenant (``ENDED``: nobody writes any more) and
queues the bundle's build; the owner (and admins) download it until ``return_until``; then the
destruction job (``destroy``) counts what the schema holds, drops it, deletes the bundle file and
the tenant's control-plane rows except its invoices and this record, and issues a certificate.

``destroy`` can be re-run after a crash at any step: the inventory is committed before anything
is destroyed, every deletion tolerates what is already gone, and the certificate is written last,
with ``destroyed_at``, in one commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Table, delete, func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import rowcount
from core.jobs import enqueue, task
from core.web import passwords
from core.web.pagination import Page, paginate
from core.web.urls import external_url
from tenants import api as tenants_api
from webapp import db as control_db
from webapp.auth.models import Account, Membership
from webapp.billing.models import ENDED, Invoice, Subscription
from webapp.contract.models import BundleDownload, ContractEnd, DestructionCertificate
from webapp.dpa.models import DpaAcceptance
from webapp.members import services as members
from webapp.models import ControlBase
from webapp.organisations.models import Tenant, TenantStatus

OWNER_REQUEST = "owner_request"
SUBSCRIPTION_ENDED = "subscription_ended"
REASONS = {OWNER_REQUEST: _l("Terminated by the organisation's owner"),
           SUBSCRIPTION_ENDED: _l("Subscription ended")}
DEFAULT_WINDOW_DAYS = 60
# The return window a tenant may choose: at least a month to fetch its data, at most the
# platform's ceiling of 12 months (PRODUCT.md, "whole tenant after contract end").
MIN_WINDOW_DAYS, MAX_WINDOW_DAYS = 30, 365
BUNDLE_FOLDER = "bundles"
# Control tables that outlive the tenant's destruction: its registry row (the invoices' and
# the certificate's counterpart), the invoices (kept 10 years by law), the DPA acceptances
# (proof of what was agreed, kept 5 years), and this record.
KEPT_TABLES = frozenset({"tenants", Invoice.__tablename__, DpaAcceptance.__tablename__,
                         "contract_ends", "destruction_certificates"})


class ContractError(ValueError):
    """A contract operation refused with a translated reason about ``field`` (or none)."""

    def __init__(self, message: object, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def contract_end(session: Session, tenant_id: int) -> ContractEnd | None:
    return session.scalar(select(ContractEnd).where(ContractEnd.tenant_id == tenant_id))


def end_contract(session: Session, tenant: Tenant, reason: str, *,
                 account_id: int | None = None,
                 window_days: int = DEFAULT_WINDOW_DAYS) -> ContractEnd:
    """End ``tenant``'s contract now: the tenant is closed (``ENDED``) and its export bundle
    queued. Called by the owner's termination and by billing when the subscription is deleted.

    Idempotent: a contract already ended is returned unchanged (a webhook delivered twice, an
    owner who terminated before the subscription ran out).
    """
    if reason not in REASONS:
        raise ValueError(f"unknown contract end reason {reason!r}")
    existing = contract_end(session, tenant.id)
    if existing is not None:
        return existing
    check_window(window_days)
    now = utcnow()
    end = ContractEnd(tenant_id=tenant.id, reason=reason, requested_by=account_id, ended_at=now,
                      window_days=window_days, return_until=now + timedelta(days=window_days))
    session.add(end)
    tenant.status = TenantStatus.ENDED
    session.flush()
    enqueue(prepare_bundle, end.id)
    return end


def check_window(days: int | None) -> int:
    if days is None or not MIN_WINDOW_DAYS <= days <= MAX_WINDOW_DAYS:
        raise ContractError(_l("Choose a return window between %(low)s and %(high)s days.",
                               low=MIN_WINDOW_DAYS, high=MAX_WINDOW_DAYS), "window_days")
    return days


def paid_through_stripe(session: Session, tenant_id: int) -> bool:
    """A Stripe subscription still runs. Its contract ends with it (cancelled in the Customer
    Portal, at the end of the paid period), not by a termination here, which would leave the
    subscription charging a closed space."""
    subscription = session.scalar(select(Subscription).where(
        Subscription.tenant_id == tenant_id))
    return (subscription is not None and subscription.stripe_subscription_id is not None
            and subscription.status not in ENDED)


def terminate(session: Session, tenant: Tenant, account: Account, password: str,
              window_days: int | None) -> ContractEnd:
    """The owner's termination, confirmed with their password; effective at once."""
    if contract_end(session, tenant.id) is not None:
        raise ContractError(_l("This contract has already ended."))
    if paid_through_stripe(session, tenant.id):
        raise ContractError(_l("Your subscription is still running: cancel it from the "
                               "Subscription page, and the contract ends with it."))
    if not passwords.verify(account.password_hash, password or ""):
        raise ContractError(_l("This password is not right."), "password")
    return end_contract(session, tenant, OWNER_REQUEST, account_id=account.id,
                        window_days=check_window(window_days))


def change_window(session: Session, end: ContractEnd, days: int | None) -> None:
    """Lengthen or shorten the return window, counted from the end of the contract."""
    days = check_window(days)
    if end.destroyed_at is not None:
        raise ContractError(_l("The data has already been destroyed."))
    until = end.ended_at + timedelta(days=days)
    if until <= utcnow():
        raise ContractError(_l("That window would already be over: choose a longer one."),
                            "window_days")
    end.window_days, end.return_until = days, until
    session.flush()


# --- the bundle ---------------------------------------------------------------------------------


def bundle_folder() -> Path:
    return Path(current_app.instance_path) / BUNDLE_FOLDER


def bundle_path(end: ContractEnd) -> Path | None:
    return bundle_folder() / end.bundle_file if end.bundle_file else None


def build_bundle(session: Session, end: ContractEnd) -> None:
    """Write the tenant's export bundle under the instance path and record it on ``end``.

    A random part in the file name: a name that can be guessed is one step from a leak.
    """
    tenant = session.get(Tenant, end.tenant_id)
    assert tenant is not None
    folder = bundle_folder()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{tenant.slug}-{end.id}-{uuid.uuid4().hex}.zip"
    manifest = tenants_api.export_bundle(tenant.slug, folder / name,
                                         revision=tenant.schema_revision,
                                         generated_at=utcnow())
    old = bundle_path(end)
    end.bundle_file, end.bundle_ready_at = name, utcnow()
    end.bundle_rows = manifest["total_rows"]
    session.flush()
    if old is not None:
        old.unlink(missing_ok=True)


def bundles_missing(session: Session) -> list[ContractEnd]:
    """Open return windows without a bundle an hour after the end: a build whose retries all
    failed (the database was down, the disk full) is tried again."""
    return list(session.scalars(select(ContractEnd).where(
        ContractEnd.bundle_file.is_(None), ContractEnd.destroyed_at.is_(None),
        ContractEnd.ended_at < utcnow() - timedelta(hours=1),
        ContractEnd.return_until > utcnow())))


def download_open(end: ContractEnd) -> bool:
    """The bundle is ready and the return window still open."""
    return (end.bundle_file is not None and end.destroyed_at is None
            and utcnow() < end.return_until)


def record_download(session: Session, end: ContractEnd, account_id: int) -> Path:
    """The bundle's path for ``account_id``, the download logged; refused outside the window."""
    path = bundle_path(end)
    if not download_open(end) or path is None or not path.exists():
        raise ContractError(_l("The export bundle is not available any more."))
    session.add(BundleDownload(contract_end_id=end.id, account_id=account_id, at=utcnow()))
    session.flush()
    return path


def downloads(session: Session, end: ContractEnd) -> list[BundleDownload]:
    return list(session.scalars(select(BundleDownload).where(
        BundleDownload.contract_end_id == end.id).order_by(BundleDownload.at.desc())))


# --- destruction --------------------------------------------------------------------------------


def due(session: Session) -> list[ContractEnd]:
    """Contract ends whose return window is over and whose data is not destroyed yet."""
    return list(session.scalars(select(ContractEnd).where(
        ContractEnd.return_until <= utcnow(), ContractEnd.destroyed_at.is_(None))
        .order_by(ContractEnd.return_until)))


def _tenant_linked(table: Table) -> ForeignKey | None:
    for fk in table.foreign_keys:
        if fk.column.table.name == "tenants":
            return fk
    return None


def _delete_control_rows(session: Session, tenant_id: int) -> dict[str, int]:
    """Delete every control row linked to the tenant, except the kept tables; counts per
    table. Found from the metadata, so a table added later is covered too."""

    deleted: dict[str, int] = {}
    for table in reversed(ControlBase.metadata.sorted_tables):  # children first
        fk = _tenant_linked(table)
        if fk is None or table.name in KEPT_TABLES:
            continue
        result = session.execute(delete(table).where(fk.parent == tenant_id))
        if rowcount(result):
            deleted[table.name] = rowcount(result)
    return deleted


def destroy(session: Session, end: ContractEnd) -> DestructionCertificate:
    """Destroy the ended tenant's data and issue the certificate (see the module's doc)."""
    existing = session.scalar(select(DestructionCertificate).where(
        DestructionCertificate.contract_end_id == end.id))
    if existing is not None:
        return existing
    if utcnow() < end.return_until:
        raise ContractError(_l("The return window is still open."))
    tenant = session.get(Tenant, end.tenant_id)
    assert tenant is not None
    if end.inventory is None:
        # Committed before anything irreversible: a rerun after the drop still knows the counts.
        end.inventory = (tenants_api.table_counts(tenant.slug)
                         if tenants_api.exists(tenant.slug) else {})
        end.former_owner_id = session.scalar(select(Membership.account_id).where(
            Membership.tenant_id == tenant.id, Membership.role == "owner")
            .order_by(Membership.id).limit(1))
        session.commit()
    tenants_api.drop(tenant.slug)
    bundle = bundle_path(end)
    bundle_deleted = bundle is not None
    if bundle is not None:
        bundle.unlink(missing_ok=True)
        bundle.with_name(bundle.name + ".part").unlink(missing_ok=True)
    download_count = session.scalar(select(func.count()).select_from(BundleDownload).where(
        BundleDownload.contract_end_id == end.id)) or 0
    session.execute(delete(BundleDownload).where(BundleDownload.contract_end_id == end.id))
    control_rows = _delete_control_rows(session, tenant.id)
    now = utcnow()
    certificate = DestructionCertificate(
        reference=str(uuid.uuid4()), contract_end_id=end.id, tenant_number=tenant.id,
        tenant_slug=tenant.slug, tenant_name=tenant.name, contract_ended_at=end.ended_at,
        end_reason=end.reason, window_days=end.window_days,
        schema_name=tenants_api.schema_for(tenant.slug), tables=dict(end.inventory),
        control_rows=control_rows, bundle_deleted=bundle_deleted,
        bundle_downloads=download_count, destroyed_at=now)
    session.add(certificate)
    end.destroyed_at = now
    tenant.status = TenantStatus.DESTROYED  # no schema any more: the fleet migration skips it
    session.flush()
    return certificate


def former_organisations(session: Session, account_id: int) -> list[Tenant]:
    """The destroyed organisations ``account_id`` owned at their destruction."""
    return list(session.scalars(select(Tenant).join(ContractEnd).where(
        ContractEnd.former_owner_id == account_id, ContractEnd.destroyed_at.is_not(None))
        .order_by(Tenant.name)))


def certificates(session: Session, page: int = 1) -> Page[DestructionCertificate]:
    """A page of the certificates, newest first, with how many there are (one statement)."""
    return paginate(session, select(DestructionCertificate).order_by(
        DestructionCertificate.destroyed_at.desc(), DestructionCertificate.id.desc()), page)


def certificate_for(session: Session, end: ContractEnd) -> DestructionCertificate | None:
    return session.scalar(select(DestructionCertificate).where(
        DestructionCertificate.contract_end_id == end.id))


def certificate_by_reference(session: Session, reference: str) -> DestructionCertificate | None:
    if len(reference) > 36:
        return None
    return session.scalar(select(DestructionCertificate).where(
        DestructionCertificate.reference == reference))


# --- invoices -----------------------------------------------------------------------------------

INVOICE_YEARS = 10  # Code de commerce L123-22: accounting records and invoices, 10 years


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def purge_invoices(session: Session) -> int:
    """Delete invoice records paid more than 10 years ago; returns how many."""
    cutoff = years_before(utcnow(), INVOICE_YEARS)
    result = session.execute(delete(Invoice).where(Invoice.paid_at < cutoff))
    return rowcount(result) or 0


PROOF_YEARS = 5  # Code de commerce L110-4: claims between traders are time-barred after 5 years


def purge_contract_proofs(session: Session) -> int:
    """Delete the DPA acceptances of tenants destroyed more than 5 years ago (until then they
    prove what the organisation agreed to, by whom and when); returns how many."""
    cutoff = years_before(utcnow(), PROOF_YEARS)
    destroyed = select(ContractEnd.tenant_id).where(ContractEnd.destroyed_at < cutoff)
    result = session.execute(delete(DpaAcceptance).where(DpaAcceptance.tenant_id.in_(destroyed)))
    return rowcount(result) or 0


# The jobs this module queues are declared here (tasks.py holds the periodic ones): they call
# back into this module, so in tasks.py they would make an import circle.


@task(formerly=("webapp.contract.tasks:build_bundle",))
def prepare_bundle(contract_end_id: int) -> bool:
    """Export the ended tenant's data to its bundle; False if there is nothing to export."""
    session = control_db.session()
    end = session.get(ContractEnd, contract_end_id)
    if end is None or end.destroyed_at is not None:
        return False
    first = end.bundle_ready_at is None
    build_bundle(session, end)
    if first:
        enqueue(send_notice, contract_end_id, "ready")
    return True


@task(formerly=("webapp.contract.tasks:send_notice",))
def send_notice(contract_end_id: int, kind: str) -> int:
    """E-mail the organisation's owners and admins that its data is ready to download
    ("ready"), or will be destroyed in a week ("reminder"); returns how many."""
    session = control_db.session()
    end = session.get(ContractEnd, contract_end_id)
    if end is None or end.destroyed_at is not None or end.bundle_ready_at is None:
        return 0
    tenant = session.get(Tenant, end.tenant_id)
    assert tenant is not None  # kept with the contract record
    return members.email_owners_and_admins(
        session, end.tenant_id, "contract/email/notice", kind=kind, organisation=tenant.name,
        until=end.return_until, link=external_url("contract.contract", slug=tenant.slug))
