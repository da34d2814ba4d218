"""rights requests, restriction, directives

Revision ID: e2a0000000a2
Revises: e1a0000000a1
Create Date: 2026-11-23 18:00:00

Reserved by the lead for the rights (issue 6) work (filled in by it; kept in the chain so parallel
work never forks the history).
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = 'e2a0000000a2'
down_revision: str | None = 'e1a0000000a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
