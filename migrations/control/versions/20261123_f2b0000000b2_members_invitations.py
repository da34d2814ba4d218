"""members: invitations, two-factor authentication

Revision ID: f2b0000000b2
Revises: f1b0000000b1
Create Date: 2026-11-23 18:00:00

Reserved by the lead for the members (issue 7) work (filled in by it; kept in the chain so parallel
work never forks the history).
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = 'f2b0000000b2'
down_revision: str | None = 'f1b0000000b1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
