"""Every control-plane model, imported once so ``ControlBase.metadata`` is complete."""

from webapp.auth.models import Account, LoginFailure, LoginSession, Membership, OperatorRole
from webapp.db import ControlBase
from webapp.organisations.models import Tenant, TenantStatus

__all__ = ["Account", "ControlBase", "LoginFailure", "LoginSession", "Membership",
           "OperatorRole", "Tenant", "TenantStatus"]
