"""ratings and reviews

Revision ID: b7c1d2e3f4a5
Revises: a1a111c947f1
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

revision: str = 'b7c1d2e3f4a5'
down_revision: str | None = 'a1a111c947f1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
