"""Every control-plane model, imported once so ``ControlBase.metadata`` is complete."""

from webapp.auth.models import Account, LoginFailure, LoginSession, Membership, OperatorRole
from webapp.db import ControlBase
from webapp.organisations.models import Tenant, TenantStatus
from webapp.processor.models import DpaAcceptance, Objection, SubProcessor, SubProcessorChange
from webapp.sweeps import RetentionSchedule

__all__ = ["Account", "ControlBase", "DpaAcceptance", "LoginFailure", "LoginSession",
           "Membership", "Objection", "OperatorRole", "RetentionSchedule", "SubProcessor",
           "SubProcessorChange", "Tenant", "TenantStatus"]
