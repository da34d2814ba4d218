"""retention matrix, receipts, participant lifecycle

Revision ID: e1a0000000a1
Revises: d1e2f3a4b5c6
Create Date: 2026-11-23 18:00:00

Reserved by the lead for the retention (issue 6) work (filled in by it; kept in the chain so parallel
work never forks the history).
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = 'e1a0000000a1'
down_revision: str | None = 'd1e2f3a4b5c6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
