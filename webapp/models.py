"""Every control-plane model, imported once so ``ControlBase.metadata`` is complete."""

from webapp.auth.models import (
    Account,
    LoginFailure,
    LoginSession,
    Membership,
    OperatorRole,
    RecoveryCode,
)
from webapp.billing.models import Invoice, StripeEvent, Subscription
from webapp.contract.models import BundleDownload, ContractEnd, DestructionCertificate
from webapp.db import ControlBase
from webapp.members.models import Invitation, MemberPolicy
from webapp.organisations.models import ControllerIdentity, StatusChange, Tenant, TenantStatus
from webapp.processor.models import DpaAcceptance, Objection, SubProcessor, SubProcessorChange
from webapp.signup.models import PendingSignup, TermsAcceptance

__all__ = ["Account", "ControlBase", "DpaAcceptance", "LoginFailure", "LoginSession",
           "Membership", "Objection", "OperatorRole", "SubProcessor", "SubProcessorChange",
           "Tenant", "TenantStatus"]
__all__ += ["Invitation", "MemberPolicy", "RecoveryCode"]
__all__ += ["Invoice", "StripeEvent", "Subscription"]
__all__ += ["BundleDownload", "ContractEnd", "DestructionCertificate"]
__all__ += ["ControllerIdentity", "PendingSignup", "StatusChange", "TermsAcceptance"]
