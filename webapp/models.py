"""Every control-plane model, imported once so ``ControlBase.metadata`` is complete."""

from webapp.auth.models import Account, LoginFailure, LoginSession, Membership, OperatorRole
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

__all__ = ["Account", "ControlBase", "DpaAcceptance", "LoginFailure", "LoginSession",
           "Membership", "Objection", "OperatorRole", "RegisterVersion", "SubProcessor",
           "SubProcessorChange", "Tenant", "TenantStatus", "ThirdPartyService",
           "TransferAuthorisation"]
