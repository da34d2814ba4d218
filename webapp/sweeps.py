"""Every module with periodic tasks, imported so the job worker (``flask jobs worker``)
registers them all: retention sweeps, billing's lifecycle, contract ends and destruction,
expired signups, accounts left without a membership."""

from webapp.billing import tasks as _billing_tasks  # noqa: F401
from webapp.contract import tasks as _contract_tasks  # noqa: F401
from webapp.members import tasks as _members_tasks  # noqa: F401
from webapp.retention import tasks as _retention_tasks  # noqa: F401
from webapp.signup import tasks as _signup_tasks  # noqa: F401
