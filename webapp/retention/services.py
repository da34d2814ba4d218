"""Retention of the control plane's own personal data: the members' and operators' sign-in
records (PRODUCT.md, "Retention and deletion": connection logs, 12 months by default, within
1 to 12 months; "Security": connection data kept for security, within retention).

What is stored is ``webapp.auth.models``: ``login_sessions`` (a hash of the session token, the
account, when it began, expires, was revoked) and ``login_failures`` (a keyed hash of the
e-mail or client address, and when). A session is kept ``sign_in_months`` after it ended (its
expiry or its revocation, whichever came first), then deleted by the daily sweep
(``tasks.sweep_sign_in_records``), which leaves a receipt. Failed sign-ins serve throttling only:
each new failure deletes those older than the window, and the sweep deletes the rest.
The platform's register of processing (``webapp.registers.controller``) is generated from
``facts()``: the same rule, durations and columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import rowcount
from core.web.pagination import Page, paginate
from tenants import api as tenants_api
from webapp.auth.models import Account, LoginFailure, LoginSession
from webapp.retention.models import ControlRetentionReceipt, ControlRetentionRule

SIGN_IN_RECORDS = "sign_in_records"
# The tenants' connection logs give the default, the bounds and the unit (months): staff
# sign-ins are the same kind of data, held by the platform as controller.
KIND = tenants_api.connection_logs
BATCH = 10_000


class SettingError(ValueError):
    """A refused change of the platform's retention; ``str()`` is the translated reason."""


@dataclass(frozen=True)
class Rule:
    kind: str
    duration: int
    unit: str
    updated_at: datetime | None = None
    updated_by_email: str = ""

    def cutoff(self, now: datetime) -> datetime:
        """Records that ended before this moment have expired at ``now``."""
        return tenants_api.retention_shift(now, self.unit, -self.duration)


def months_text(n: int) -> str:
    return ngettext("%(num)d month", "%(num)d months", n)


def sign_in_rule(session: Session) -> Rule:
    row = session.get(ControlRetentionRule, SIGN_IN_RECORDS)
    if row is None:
        return Rule(SIGN_IN_RECORDS, KIND.default, KIND.unit)
    return Rule(SIGN_IN_RECORDS, row.duration, row.unit, row.updated_at, row.updated_by_email)


def set_sign_in_months(session: Session, months: object, operator: Account) -> Rule:
    """Keep sign-in records ``months`` after they ended; refused (``SettingError``, nothing
    changed) outside the bounds of the tenants' connection logs."""
    low, high = KIND.bounds
    if not isinstance(months, int) or isinstance(months, bool) or not low <= months <= high:
        raise SettingError(_(
            "Sign-in records: the duration must be between %(low)s and %(high)s (the bounds "
            "of the organisations' connection logs).",
            low=months_text(low), high=months_text(high)))
    row = session.get(ControlRetentionRule, SIGN_IN_RECORDS)
    if row is None:
        row = ControlRetentionRule(kind=SIGN_IN_RECORDS, unit=KIND.unit)
        session.add(row)
    row.duration, row.updated_at = months, utcnow()
    row.updated_by_id, row.updated_by_email = operator.id, operator.email
    session.flush()
    return sign_in_rule(session)


def failure_window() -> int:
    """Seconds a failed sign-in counts for throttling (``LOGIN_FAILURE_WINDOW``)."""
    return int(current_app.config["LOGIN_FAILURE_WINDOW"])


# --- the sweep -----------------------------------------------------------------------------------


def _ended_before(cutoff: datetime) -> ColumnElement[bool]:
    # A session ends at its expiry or at its revocation, whichever came first.
    return or_(LoginSession.expires_at < cutoff, LoginSession.revoked_at < cutoff)


def start_receipt(session: Session, now: datetime | None = None) -> ControlRetentionReceipt:
    now = now or utcnow()
    rule = sign_in_rule(session)
    receipt = ControlRetentionReceipt(
        started_at=now, session_months=rule.duration, session_cutoff=rule.cutoff(now),
        failure_window=failure_window(), sessions_deleted=0, failures_deleted=0)
    session.add(receipt)
    session.flush()
    return receipt


def delete_sessions_batch(session: Session, receipt: ControlRetentionReceipt,
                          limit: int = BATCH) -> int:
    """Delete at most ``limit`` sessions ended before the receipt's cut-off, counted on the
    receipt in the same unit of work; returns how many."""
    due = (select(LoginSession.token_hash).where(_ended_before(receipt.session_cutoff))
           .limit(limit).scalar_subquery())
    deleted = rowcount(session.execute(delete(LoginSession).where(
        LoginSession.token_hash.in_(due)).execution_options(synchronize_session=False)))
    receipt.sessions_deleted += deleted
    session.flush()
    return deleted


def delete_failures(session: Session, receipt: ControlRetentionReceipt) -> int:
    """Failed sign-ins older than the throttling window (no new failure came to delete them)."""
    since = receipt.started_at - timedelta(seconds=receipt.failure_window)
    deleted = rowcount(session.execute(delete(LoginFailure).where(LoginFailure.at < since)
                                       .execution_options(synchronize_session=False)))
    receipt.failures_deleted += deleted
    session.flush()
    return deleted


def receipts(session: Session, page: int = 1) -> Page[ControlRetentionReceipt]:
    """A page of the sweep's receipts, newest first, with how many there are (one statement)."""
    return paginate(session, select(ControlRetentionReceipt).order_by(
        ControlRetentionReceipt.started_at.desc(), ControlRetentionReceipt.id.desc()), page)


# --- what the register is generated from ---------------------------------------------------------


@dataclass(frozen=True)
class SignInFacts:
    """What is really stored about sign-ins, and for how long."""

    months: int  # sessions kept after they ended
    session_hours: int  # a session's lifetime
    failure_minutes: int  # the throttling window
    session_columns: tuple[str, ...]
    failure_columns: tuple[str, ...]


def facts(session: Session) -> SignInFacts:
    return SignInFacts(
        months=sign_in_rule(session).duration,
        session_hours=int(current_app.config["PERMANENT_SESSION_LIFETIME"]) // 3600,
        failure_minutes=failure_window() // 60,
        session_columns=tuple(c.name for c in LoginSession.__table__.columns),
        failure_columns=tuple(c.name for c in LoginFailure.__table__.columns))
