"""The DPA as operations: accept it, tell whether an organisation still has to, list the
acceptances. Services validate, flush and raise ``ProcessorError``; they never commit.

``ProcessorError``, ``insert_once`` and ``INFORMED`` are shared by the processor duties built
on the agreement (``webapp.subprocessors``, ``webapp.catalogue``, ``webapp.registers``).
"""

from __future__ import annotations

from collections.abc import Collection

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, ScalarSelect, exists, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from webapp import db as control_db
from webapp.auth.models import Account, Membership
from webapp.dpa import versions
from webapp.dpa.models import DpaAcceptance
from webapp.organisations.models import Tenant, TenantStatus

# The tenants the agreement binds, whose owners are told about sub-processor changes and whose
# registers are kept: those whose data Parvis holds.
INFORMED = (TenantStatus.ACTIVE, TenantStatus.READ_ONLY, TenantStatus.SUSPENDED)
_TITLES = {404: _l("Not found"), 409: _l("Not possible any more")}


def is_informed() -> ColumnElement[bool]:
    """The tenant's status is one of ``INFORMED``, as three bound values written into the
    statement once (``in_(INFORMED)`` would expand its list again at every execution: a
    statement built once per process, as the request's standing is, would pay it each time)."""
    return Tenant.status.in_([literal(status, Tenant.status.type) for status in INFORMED])


class ProcessorError(ValueError):
    """A refused operation of a processor duty: ``status`` is the HTTP status a view answers
    with, ``field`` the form field at fault (None: the whole request)."""

    def __init__(self, message: object, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field

    @property
    def title(self) -> str | None:
        """The error page's title for ``status`` (None: the page's default)."""
        title = _TITLES.get(self.status)
        return str(title) if title is not None else None


def insert_once(session: Session, row: object) -> bool:
    """Insert ``row`` in a savepoint; False if a unique constraint refused it (a concurrent
    request inserted the same row), leaving the rest of the unit of work intact."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def dpa_pending(tenant_id: int) -> bool:
    """True until the tenant has accepted the current DPA version (one indexed query)."""
    return not control_db.session().scalar(select(exists().where(
        DpaAcceptance.tenant_id == tenant_id,
        DpaAcceptance.version == versions.current().id)))


def accepted_version(session: Session, tenant_id: int) -> DpaAcceptance | None:
    """The tenant's acceptance of the current DPA version, or None while it is pending."""
    return session.scalar(select(DpaAcceptance).where(
        DpaAcceptance.tenant_id == tenant_id, DpaAcceptance.version == versions.current().id))


def pending_dpa_slugs(account_id: int | ColumnElement[int],
                      version: str | ColumnElement[str]) -> ScalarSelect[str]:
    """The open tenants this account owns that have not accepted DPA ``version`` (the current
    one), as one column of a larger statement (the request's standing, ``webapp.tenancy``,
    which passes bound parameters): their slugs, separated by spaces (a slug has none), or NULL
    for none."""
    accepted = exists().where(DpaAcceptance.tenant_id == Tenant.id,
                              DpaAcceptance.version == version)
    # Correlated with nothing: the larger statement reads memberships and tenants too.
    return (select(func.aggregate_strings(Tenant.slug, " ")).select_from(Tenant)
            .join(Membership, Membership.tenant_id == Tenant.id)
            .where(Membership.account_id == account_id, Membership.role == "owner",
                   is_informed(), ~accepted)
            .correlate(None).scalar_subquery())


def accept(session: Session, tenant_id: int, account_id: int, version: str,
           language: str = "fr") -> DpaAcceptance:
    """Record that ``account_id`` accepted DPA ``version`` for ``tenant_id``.

    Only the current version can be accepted (a form left open over a new release is refused
    with 409); accepting it twice returns the first acceptance. The caller checks the role:
    signup (issue 7) calls this for the account creating the tenant.
    """
    current = versions.current()
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
    if language not in versions.LANGUAGES:
        language = versions.LANGUAGES[0]
    acceptance = DpaAcceptance(tenant_id=tenant_id, version=version, account_id=account_id,
                               account_email=account.email, language=language,
                               text_sha256=current.sha256(language),
                               accepted_at=utcnow())
    if not insert_once(session, acceptance):  # another owner's click got there first
        return session.scalars(select(DpaAcceptance).where(
            DpaAcceptance.tenant_id == tenant_id, DpaAcceptance.version == version)).one()
    return acceptance


def acceptances(session: Session, tenant_id: int | None = None, *,
                tenant_ids: Collection[int] | None = None) -> list[DpaAcceptance]:
    """Acceptances, newest first: all, one tenant's or those of ``tenant_ids``."""
    query = select(DpaAcceptance).order_by(DpaAcceptance.accepted_at.desc(),
                                           DpaAcceptance.id.desc())
    if tenant_id is not None:
        query = query.where(DpaAcceptance.tenant_id == tenant_id)
    if tenant_ids is not None:
        query = query.where(DpaAcceptance.tenant_id.in_(list(tenant_ids)))
    return list(session.scalars(query))


def acceptances_by_tenant(session: Session,
                          tenant_ids: Collection[int]) -> dict[int, list[DpaAcceptance]]:
    """For the operators' page: the acceptances of a page of tenants, newest first, by id."""
    found: dict[int, list[DpaAcceptance]] = {}
    for acceptance in acceptances(session, tenant_ids=tenant_ids):
        found.setdefault(acceptance.tenant_id, []).append(acceptance)
    return found
