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
from webapp.breaches.models import AffectedTenant, Breach, BreachEvent
from webapp.catalogue.models import ThirdPartyService, TransferAuthorisation
from webapp.contract.models import BundleDownload, ContractEnd, DestructionCertificate
from webapp.db import ControlBase
from webapp.dpa.models import DpaAcceptance
from webapp.members.models import Invitation, MemberPolicy
from webapp.organisations.models import (
    ControllerIdentity,
    ProvisioningInstruction,
    StatusChange,
    Tenant,
    TenantStatus,
)
from webapp.outbox import ControlJob
from webapp.registers.models import RegisterVersion
from webapp.retention.models import (
    ControlRetentionReceipt,
    ControlRetentionRule,
    RetentionSchedule,
)
from webapp.rights_intake.models import PlatformRightsRequest, RightsForwarding
from webapp.signup.models import PendingSignup, TermsAcceptance
from webapp.subprocessors.models import Objection, SubProcessor, SubProcessorChange
from webapp.support.models import SupportGrant

__all__ = [
    "Account",
    "AffectedTenant",
    "Breach",
    "BreachEvent",
    "BundleDownload",
    "ContractEnd",
    "ControlBase",
    "ControlJob",
    "ControlRetentionReceipt",
    "ControlRetentionRule",
    "ControllerIdentity",
    "DestructionCertificate",
    "DpaAcceptance",
    "Invitation",
    "Invoice",
    "LoginFailure",
    "LoginSession",
    "MemberPolicy",
    "Membership",
    "Objection",
    "OperatorRole",
    "PendingSignup",
    "PlatformRightsRequest",
    "ProvisioningInstruction",
    "RecoveryCode",
    "RegisterVersion",
    "RetentionSchedule",
    "RightsForwarding",
    "StatusChange",
    "StripeEvent",
    "SubProcessor",
    "SubProcessorChange",
    "Subscription",
    "SupportGrant",
    "Tenant",
    "TenantStatus",
    "TermsAcceptance",
    "ThirdPartyService",
    "TransferAuthorisation",
]
