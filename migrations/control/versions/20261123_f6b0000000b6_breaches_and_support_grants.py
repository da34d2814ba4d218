"""breaches and support-access grants

Revision ID: f6b0000000b6
Revises: f5b0000000b5
Create Date: 2026-11-23 18:00:00

Reserved by the lead for the processor duties (issue 8) work (filled in by it; kept in the chain so parallel
work never forks the history).
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = 'f6b0000000b6'
down_revision: str | None = 'f5b0000000b5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
