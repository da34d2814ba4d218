"""Every control-plane model, imported once so ``ControlBase.metadata`` is complete."""

from webapp.auth.models import Account, LoginFailure, LoginSession, Membership, OperatorRole
from webapp.billing.models import Invoice, StripeEvent, Subscription
from webapp.contract.models import BundleDownload, ContractEnd, DestructionCertificate
from webapp.db import ControlBase
from webapp.organisations.models import Tenant, TenantStatus
from webapp.processor.models import DpaAcceptance, Objection, SubProcessor, SubProcessorChange

__all__ = ["Account", "ControlBase", "DpaAcceptance", "LoginFailure", "LoginSession",
           "Membership", "Objection", "OperatorRole", "SubProcessor", "SubProcessorChange",
           "Tenant", "TenantStatus"]
__all__ += ["Invoice", "StripeEvent", "Subscription"]
__all__ += ["BundleDownload", "ContractEnd", "DestructionCertificate"]
