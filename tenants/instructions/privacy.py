"""The personal data of the instructions log: which member changed a privacy-relevant setting
(declared for ``tenants.privacy``; see ``tenants.personal_data``)."""

from __future__ import annotations

from tenants.instructions.models import Instruction
from tenants.personal_data import PersonalData

PERSONAL_DATA = (
    PersonalData(
        "instructions", (Instruction.member_id, Instruction.at),
        kept="for the life of the space: the tenant's documented instructions to its "
             "processor (GDPR art. 28(3)(a)), naming the member by control-plane id and never "
             "a participant; returned in the contract-end bundle, destroyed with the space"),
)
