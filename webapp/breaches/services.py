"""The breach workflow as operations: record an incident, compute and notify the organisations
it affects, keep each one's CNIL draft and participant notice, log every step in the register.
Services validate, flush and raise ``BreachError``; they never commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.web.pagination import Page, paginate
from tenants import api as tenants_api
from webapp.auth.models import Account
from webapp.breaches.models import AffectedTenant, Breach, BreachEvent, Scope
from webapp.organisations.models import ControllerIdentity, Tenant, TenantStatus

NOTIFY_WITHIN = timedelta(hours=24)  # Parvis's target to tell each controller (the DPA's)
CNIL_WITHIN = timedelta(hours=72)    # Art. 33(1), counted from the processor's awareness
TEXT_MAX = 5000
# Organisations whose data Parvis still holds: a breach may touch any of them.
HOLDING = (TenantStatus.ACTIVE, TenantStatus.READ_ONLY, TenantStatus.SUSPENDED,
           TenantStatus.ENDED)
CNIL_FIELDS = ("nature", "categories", "people", "records", "dpo_contact", "consequences",
               "measures")
NOTICE_FIELDS = ("subject", "nature", "consequences", "measures", "contact")


class BreachError(ValueError):
    """A refused operation: ``status`` is the HTTP status, ``field`` the form field at fault."""

    def __init__(self, message: object, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


# --- what an incident touches ------------------------------------------------------------------


def _has_participants(slug: str) -> bool:
    return tenants_api.count_participants(slug) > 0


def _has_custom_fields(slug: str) -> bool:
    return bool(tenants_api.processing_config(slug)["custom_fields"])


def _has_banner_services(slug: str) -> bool:
    return bool(tenants_api.processing_config(slug)["services"])


@dataclass(frozen=True)
class Component:
    label: Any
    used_by: Callable[[str], bool]  # does the organisation with this slug use it?


# A component touches the organisations whose live configuration or data uses it: an
# organisation without custom fields has no registration answers to leak.
COMPONENTS = {
    "participant_accounts": Component(
        _l("Participant accounts (names, e-mail addresses, password hashes)"), _has_participants),
    "registration_answers": Component(_l("Registration answers (custom form fields)"),
                                      _has_custom_fields),
    "email_relay": Component(_l("E-mail relay (messages sent to participants)"),
                             _has_participants),
    "banner_services": Component(_l("Third-party services of the cookie banner"),
                                 _has_banner_services),
}
SCOPES = {
    "platform": _l("The whole platform: every organisation"),
    "component": _l("A component or kind of data: the organisations that use it"),
    "tenants": _l("Specific organisations"),
}


def candidates(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).where(Tenant.status.in_(HOLDING))
                                .order_by(Tenant.name, Tenant.id)))


def affected_tenants(session: Session, scope: Scope, component: str = "",
                     tenant_ids: Iterable[int] = ()) -> list[Tenant]:
    """The organisations an incident with this scope touches, computed now."""
    found = candidates(session)
    if scope == Scope.PLATFORM:
        return found
    if scope == Scope.COMPONENT:
        if component not in COMPONENTS:
            raise BreachError(_("Choose the component the incident touches."), field="component")
        return [t for t in found if COMPONENTS[component].used_by(t.slug)]
    chosen = set(tenant_ids)
    listed = [t for t in found if t.id in chosen]
    if not chosen or len(listed) != len(chosen):
        raise BreachError(_("Choose at least one organisation from the list."), field="tenants")
    return listed


def scope_label(breach: Breach) -> str:
    if breach.scope == Scope.COMPONENT and breach.component in COMPONENTS:
        return str(COMPONENTS[breach.component].label)
    return str(SCOPES[breach.scope.value])


# --- recording -----------------------------------------------------------------------------


@dataclass
class Facts:
    nature: str
    data_categories: str
    people_estimate: int
    records_estimate: int | None
    consequences: str
    measures: str
    aware_at: datetime
    scope: Scope
    component: str = ""
    tenant_ids: list[int] = field(default_factory=list)


def log(session: Session, breach_id: int, action: str, *, tenant_id: int | None = None,
        actor: str = "", detail: str = "") -> None:
    session.add(BreachEvent(breach_id=breach_id, tenant_id=tenant_id, at=utcnow(),
                            action=action, actor=actor, detail=detail))


def record(session: Session, facts: Facts, account: Account) -> Breach:
    """Record an incident and the organisations it affects (computed now, then kept: the list
    says who was told, even if configurations change later)."""
    now = utcnow()
    if facts.aware_at > now:
        raise BreachError(_("The time of awareness cannot be in the future."), field="aware_at")
    tenants = affected_tenants(session, facts.scope, facts.component, facts.tenant_ids)
    breach = Breach(nature=facts.nature, data_categories=facts.data_categories,
                    people_estimate=facts.people_estimate,
                    records_estimate=facts.records_estimate, consequences=facts.consequences,
                    measures=facts.measures, aware_at=facts.aware_at, scope=facts.scope,
                    component=facts.component if facts.scope == Scope.COMPONENT else "",
                    recorded_at=now, recorded_by=account.id)
    session.add(breach)
    session.flush()
    log(session, breach.id, "recorded", actor=account.email,
        detail=_("%(scope)s; organisations affected: %(count)d", scope=scope_label(breach),
                 count=len(tenants)))
    for tenant in tenants:
        session.add(AffectedTenant(breach_id=breach.id, tenant_id=tenant.id,
                                   tenant_name=tenant.name,
                                   participants=tenants_api.count_participants(tenant.slug),
                                   cnil_draft={}, notice={}))
        log(session, breach.id, "affected", tenant_id=tenant.id)
    session.flush()
    return breach


def breaches(session: Session, page: int = 1) -> Page[Breach]:
    """A page of the incidents, newest first, and how many there are (one statement)."""
    return paginate(session, select(Breach).order_by(Breach.recorded_at.desc(),
                                                     Breach.id.desc()), page)


def notified_counts(session: Session, breach_ids: list[int]) -> dict[int, tuple[int, int]]:
    """For each incident: (organisations notified, organisations affected), one grouped
    query (a platform-wide incident affects every organisation: never load them all)."""
    return {breach_id: (int(notified), int(total)) for breach_id, notified, total in
            session.execute(select(AffectedTenant.breach_id, func.count(AffectedTenant.notified_at),
                                   func.count()).where(AffectedTenant.breach_id.in_(breach_ids))
                            .group_by(AffectedTenant.breach_id))}


def affected_names(session: Session, breach_id: int, tenant_ids: set[int]) -> dict[int, str]:
    """The names the incident recorded for these organisations (kept after one is destroyed)."""
    return dict(session.execute(select(AffectedTenant.tenant_id, AffectedTenant.tenant_name).where(
        AffectedTenant.breach_id == breach_id, AffectedTenant.tenant_id.in_(tenant_ids))).all())


def affected_page(session: Session, breach_id: int, page: int) -> Page[AffectedTenant]:
    """A page of the organisations an incident affects, by name, and how many (one
    statement)."""
    return paginate(session, select(AffectedTenant).where(AffectedTenant.breach_id == breach_id)
                    .order_by(AffectedTenant.tenant_name, AffectedTenant.id), page)


def affected_of(session: Session, tenant_id: int) -> list[AffectedTenant]:
    return list(session.scalars(
        select(AffectedTenant).join(Breach).where(AffectedTenant.tenant_id == tenant_id)
        .order_by(Breach.aware_at.desc(), Breach.id.desc())))


def affected_one(session: Session, tenant_id: int, breach_id: int) -> AffectedTenant:
    """This organisation's part in an incident; 404 for an incident that does not affect it
    (another organisation's incidents do not exist for it)."""
    found = session.scalar(select(AffectedTenant).where(AffectedTenant.tenant_id == tenant_id,
                                                        AffectedTenant.breach_id == breach_id))
    if found is None:
        raise BreachError(_("No such incident for this organisation."), status=404)
    return found


# --- notifying controllers ---------------------------------------------------------------------


def dpo_address(session: Session, tenant_id: int) -> str | None:
    """The DPO's e-mail the owner gave at onboarding, if any: told alongside owners and admins."""
    identity = session.get(ControllerIdentity, tenant_id)
    return identity.dpo_email if identity is not None and identity.dpo_email else None


def mark_notified(session: Session, affected: AffectedTenant, addresses: list[str]) -> None:
    affected.notified_at = utcnow()
    affected.notified_to = "\n".join(addresses)
    log(session, affected.breach_id, "notified", tenant_id=affected.tenant_id,
        detail=", ".join(addresses) or _("nobody: the organisation has no owner or admin"))


# --- clocks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """A deadline, when the step was done (if it was), and now."""

    deadline: datetime
    done_at: datetime | None
    now: datetime

    @property
    def remaining(self) -> timedelta:
        return self.deadline - self.now

    @property
    def late(self) -> bool:
        return (self.done_at or self.now) > self.deadline


def notify_clock(affected: AffectedTenant, now: datetime) -> Clock:
    return Clock(affected.breach.aware_at + NOTIFY_WITHIN, affected.notified_at, now)


def cnil_clock(affected: AffectedTenant, now: datetime) -> Clock:
    return Clock(affected.breach.aware_at + CNIL_WITHIN, affected.cnil_filed_at, now)


# --- the organisation's CNIL draft and participant notice --------------------------------------


def cnil_draft(affected: AffectedTenant) -> dict[str, str]:
    """The organisation's draft, pre-filled from the incident where it has written nothing."""
    breach = affected.breach
    people = breach.people_estimate
    if affected.participants:  # an organisation cannot have more people affected than it holds
        people = min(people, affected.participants) if people else affected.participants
    prefill = {"nature": breach.nature, "categories": breach.data_categories,
               "people": str(people), "records": str(breach.records_estimate or ""),
               "dpo_contact": affected.notified_to.replace("\n", ", "),
               "consequences": breach.consequences, "measures": breach.measures}
    return prefill | dict(affected.cnil_draft or {})


def participant_notice(affected: AffectedTenant) -> dict[str, str]:
    breach = affected.breach
    prefill = {"subject": _("Information about a personal data breach"),
               "nature": breach.nature, "consequences": breach.consequences,
               "measures": breach.measures, "contact": ""}
    return prefill | dict(affected.notice or {})


def _clean(values: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: (values.get(name) or "").strip() for name in names}


def save_cnil_draft(session: Session, affected: AffectedTenant, values: dict[str, str],
                    actor: str) -> None:
    affected.cnil_draft = _clean(values, CNIL_FIELDS)
    log(session, affected.breach_id, "cnil_draft_saved", tenant_id=affected.tenant_id,
        actor=actor)


def record_cnil_filed(session: Session, affected: AffectedTenant, values: dict[str, str],
                      late_reason: str, actor: str) -> None:
    """The organisation says it has notified the CNIL (on the CNIL's site) with this draft."""
    if affected.cnil_filed_at is not None:
        raise BreachError(_("The notification to the CNIL is already recorded."), status=409)
    late_reason = late_reason.strip()
    if cnil_clock(affected, utcnow()).late and not late_reason:
        raise BreachError(_("The 72 hours have passed: give the reasons for the delay, as "
                            "the CNIL asks for them."), field="late_reason")
    affected.cnil_draft = _clean(values, CNIL_FIELDS)
    affected.cnil_filed_at, affected.late_reason = utcnow(), late_reason
    log(session, affected.breach_id, "cnil_filed", tenant_id=affected.tenant_id, actor=actor,
        detail=late_reason)


def save_notice(session: Session, affected: AffectedTenant, values: dict[str, str],
                actor: str) -> None:
    if affected.notice_sent_at is not None:
        raise BreachError(_("The notice was already sent; it cannot change any more."),
                          status=409)
    affected.notice = _clean(values, NOTICE_FIELDS)
    log(session, affected.breach_id, "notice_saved", tenant_id=affected.tenant_id, actor=actor)


def send_notice(session: Session, affected: AffectedTenant, values: dict[str, str],
                actor: str) -> None:
    """Freeze the notice as sent; the caller queues ``tasks.send_notice`` after the commit."""
    if affected.notice_sent_at is not None:
        raise BreachError(_("The notice was already sent."), status=409)
    notice = _clean(values, NOTICE_FIELDS)
    for name in NOTICE_FIELDS:  # Art. 34(2): every part is required, the contact included
        if not notice[name]:
            raise BreachError(_("This field is required to send the notice."), field=name)
    affected.notice, affected.notice_sent_at = notice, utcnow()
    log(session, affected.breach_id, "notice_sent", tenant_id=affected.tenant_id, actor=actor)


# --- the register ------------------------------------------------------------------------------

ACTIONS = {
    "recorded": _l("Incident recorded"),
    "affected": _l("Organisation found affected"),
    "notified": _l("Organisation notified"),
    "cnil_draft_saved": _l("CNIL draft saved"),
    "cnil_filed": _l("Notification to the CNIL recorded"),
    "notice_saved": _l("Participant notice saved"),
    "notice_sent": _l("Participant notice sent"),
    "notice_emailed": _l("Participant notice e-mailed"),
}


def register(session: Session, *, breach_id: int | None = None,
             tenant_id: int | None = None) -> list[BreachEvent]:
    """Steps, oldest first: all, one incident's, or those an organisation may see (its own
    steps and the incidents' own, never another organisation's)."""
    return list(session.scalars(_register(breach_id=breach_id, tenant_id=tenant_id)))


def register_page(session: Session, page: int, *,
                  breach_id: int | None = None) -> Page[BreachEvent]:
    """A page of the whole register (or one incident's), oldest first, with the number of
    steps (one statement)."""
    return paginate(session, _register(breach_id=breach_id), page)


def _register(*, breach_id: int | None = None, tenant_id: int | None = None) -> Select:
    stmt = select(BreachEvent).order_by(BreachEvent.at, BreachEvent.id)
    if breach_id is not None:
        stmt = stmt.where(BreachEvent.breach_id == breach_id)
    if tenant_id is not None:
        mine = select(AffectedTenant.breach_id).where(AffectedTenant.tenant_id == tenant_id)
        stmt = stmt.where(BreachEvent.breach_id.in_(mine), or_(
            BreachEvent.tenant_id == tenant_id, BreachEvent.tenant_id.is_(None)))
    return stmt
