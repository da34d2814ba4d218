"""The personal data of the access log: which member read or exported which participant's data
(declared for ``tenants.privacy``; see ``tenants.personal_data``)."""

from __future__ import annotations

from tenants.audit.models import AccessLog
from tenants.personal_data import PersonalData

PERSONAL_DATA = (
    PersonalData(
        "access_log", (AccessLog.member_id, AccessLog.target, AccessLog.at),
        kept="for the life of the space: the tenant's record of who read or exported "
             "participants' data (accountability, GDPR art. 5(2)); members are control-plane "
             "ids and participants are named by id only (never a name or an address); "
             "returned in the contract-end bundle, destroyed with the space"),
)
