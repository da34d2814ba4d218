"""Plans and what each one entitles a tenant to: the one place these numbers live.

``None`` means "no limit". The data plane enforces the tenant-side limits (events per month,
participants, custom fields) from the ``Entitlements`` the control plane hands over with the
tenant (``TenantInfo.limits``); the control plane enforces the members limit itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from tenants.api import Limits

# A tenant created by an operator outside billing (``flask tenants create``, the demo) has no
# subscription: it is managed by hand and nothing is limited.
UNLIMITED = Limits(events_per_month=None, participants=None, custom_fields=None, members=None)


@dataclass(frozen=True)
class Plan:
    code: str
    name: object  # a lazy translated string
    price_cents: int  # per month, excluding VAT
    limits: Limits
    trial_days: int


PLANS: dict[str, Plan] = {plan.code: plan for plan in (
    Plan("starter", _l("Starter"), 1900,
         Limits(events_per_month=4, participants=500, custom_fields=5, members=3),
         trial_days=14),
    Plan("team", _l("Team"), 4900,
         Limits(events_per_month=20, participants=5000, custom_fields=20, members=10),
         trial_days=14),
    Plan("organisation", _l("Organisation"), 14900,
         Limits(events_per_month=None, participants=None, custom_fields=None, members=None),
         trial_days=30),
)}
DEFAULT_PLAN = "team"


def get(code: str) -> Plan | None:
    return PLANS.get(code)


def limits_of(code: str | None) -> Limits:
    """The limits of the plan ``code``; no plan (an operator's tenant): no limit."""
    plan = PLANS.get(code) if code else None
    return plan.limits if plan is not None else UNLIMITED
