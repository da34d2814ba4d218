"""Every control-plane model, imported once so ``ControlBase.metadata`` is complete."""

from webapp.auth.models import Account, LoginFailure, LoginSession, Membership, OperatorRole
from webapp.breaches.models import AffectedTenant, Breach, BreachEvent
from webapp.db import ControlBase
from webapp.organisations.models import Tenant, TenantStatus
from webapp.processor.models import (
    DpaAcceptance,
    Objection,
    RegisterVersion,
    SubProcessor,
    SubProcessorChange,
    ThirdPartyService,
    TransferAuthorisation,
)
from webapp.support.models import SupportGrant
from webapp.sweeps import RetentionSchedule

__all__ = ["Account", "AffectedTenant", "Breach", "BreachEvent", "ControlBase", "DpaAcceptance",
           "LoginFailure", "LoginSession", "Membership", "Objection", "OperatorRole",
           "RegisterVersion", "RetentionSchedule", "SubProcessor", "SubProcessorChange",
           "SupportGrant", "Tenant", "TenantStatus", "ThirdPartyService", "TransferAuthorisation"]
