"""Recording staff access to participants' data."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.web.pagination import Page, paginate
from tenants import pagecache
from tenants.audit.models import AccessLog

pagecache.not_shown(AccessLog.__tablename__)  # staff reading data changes no public page

# What the access log says of each action, in the reader's language.
ACTIONS = {
    "participant.read": _l("Read a participant's full record"),
    "participant.kept": _l("Read what is kept about a participant, and why"),
    "participant.export": _l("Exported a participant's data"),
    "participant.erase": _l("Erased a participant"),
    "rights_request.read": _l("Read a rights request"),
    "participants.export": _l("Exported the list of participants (filters in the target)"),
    "registrations.read": _l("Read the registrations of an event"),
    "registrations.export": _l("Exported the registrations of an event"),
    "consent_lookup": _l("Looked up a visitor's consent"),
    "consent_ledger_export": _l("Exported the consent ledger"),
    "support.read": _l("Read a page under a support grant"),
}


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def target_label(target: str) -> str:
    """``participant:12`` reads "participant no. 12"; a page path or anything else as is."""
    kind, _sep, number = target.partition(":")
    labels = {"participant": _("participant no. %(id)s"), "event": _("event no. %(id)s"),
              "rights_request": _("request no. %(id)s")}
    return labels[kind] % {"id": number} if kind in labels and number.isdigit() else target


def record(db: Session, *, member_id: int | None, action: str, target: str) -> None:
    db.add(AccessLog(member_id=member_id, action=action, target=target, at=utcnow()))


def record_many(db: Session, *, member_id: int | None, action: str,
                targets: Iterable[str]) -> None:
    """One entry per target, in one statement (a page showing several events' registrants)."""
    now = utcnow()
    rows = [{"member_id": member_id, "action": action, "target": target, "at": now}
            for target in targets]
    if rows:
        db.execute(insert(AccessLog), rows)


def page(db: Session, number: int) -> Page[AccessLog]:
    """A page of the log, newest first (the index on ``at`` serves the order), with the number
    of entries: one statement."""
    return paginate(db, select(AccessLog).order_by(AccessLog.at.desc(), AccessLog.id.desc()),
                    number)
