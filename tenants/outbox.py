"""Each tenant's job outbox (``core.outbox`` says how the outbox works)."""

from __future__ import annotations

from core.outbox import OutboxRow, outbox_index
from tenants.db import TenantBase
from tenants.personal_data import PersonalData


class TenantJob(OutboxRow, TenantBase):
    __tablename__ = "job_outbox"
    __table_args__ = (outbox_index(),)


# Declared for ``tenants.privacy``: a queued e-mail holds its recipient's address and name.
PERSONAL_DATA = (
    PersonalData(
        "queued_emails", (TenantJob.args,),
        kept="until sent: a job's arguments (a queued e-mail's address, name and message) are "
             "emptied when it is done or given up, and the row is deleted a day later "
             "(KEEP_DONE)"),
)
