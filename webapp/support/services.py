"""Support-access grants as operations. Services validate, flush and raise ``SupportError``;
they never commit."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from webapp.auth.models import Account
from webapp.support.models import SupportGrant

# Hours a grant may last: short by default, a week at most.
DURATIONS = {1: _l("1 hour"), 8: _l("8 hours"), 24: _l("1 day"), 72: _l("3 days"),
             168: _l("7 days")}
REASON_MAX = 1000


class SupportError(ValueError):
    """A refused operation: ``status`` is the HTTP status, ``field`` the form field at fault."""

    def __init__(self, message: object, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


def active_grant(session: Session, tenant_id: int) -> SupportGrant | None:
    """The grant letting the support read this tenant's data right now, if any."""
    now = utcnow()
    return session.scalar(
        select(SupportGrant).where(SupportGrant.tenant_id == tenant_id,
                                   SupportGrant.revoked_at.is_(None),
                                   SupportGrant.granted_at <= now, SupportGrant.expires_at > now)
        .order_by(SupportGrant.expires_at.desc()).limit(1))


def active_grants(session: Session) -> list[SupportGrant]:
    """Every grant active now, for the operators' list."""
    now = utcnow()
    return list(session.scalars(
        select(SupportGrant).where(SupportGrant.revoked_at.is_(None),
                                   SupportGrant.granted_at <= now, SupportGrant.expires_at > now)
        .order_by(SupportGrant.expires_at)))


def grants(session: Session, tenant_id: int) -> list[SupportGrant]:
    return list(session.scalars(select(SupportGrant).where(SupportGrant.tenant_id == tenant_id)
                                .order_by(SupportGrant.granted_at.desc(),
                                          SupportGrant.id.desc())))


def grant(session: Session, tenant_id: int, account: Account, hours: int,
          reason: str) -> SupportGrant:
    if hours not in DURATIONS:
        raise SupportError(_("Choose a duration from the list."), field="hours")
    reason = reason.strip()
    if not reason:
        raise SupportError(_("Say why the support needs access."), field="reason")
    if len(reason) > REASON_MAX:
        raise SupportError(_("At most %(max)d characters.", max=REASON_MAX), field="reason")
    if active_grant(session, tenant_id) is not None:
        raise SupportError(_("Access is already granted: revoke it before granting another."),
                           field="hours")
    now = utcnow()
    created = SupportGrant(tenant_id=tenant_id, granted_by=account.id,
                           granted_by_email=account.email, reason=reason, granted_at=now,
                           expires_at=now + timedelta(hours=hours))
    session.add(created)
    session.flush()
    return created


def revoke(session: Session, tenant_id: int, grant_id: int, account: Account) -> SupportGrant:
    """End a grant at once. Another tenant's grant does not exist for this one (404)."""
    found = session.get(SupportGrant, grant_id)
    if found is None or found.tenant_id != tenant_id:
        raise SupportError(_("No such grant for this organisation."), status=404)
    if not found.active(utcnow()):
        raise SupportError(_("This grant has already ended."), status=409)
    found.revoked_at, found.revoked_by_email = utcnow(), account.email
    return found


def operator_emails(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Account.id, Account.email).where(Account.id.in_(wanted)))
    return {account_id: email for account_id, email in rows}
