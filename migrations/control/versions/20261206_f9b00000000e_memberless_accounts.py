"""memberless accounts: since when an account has had no membership

Revision ID: f9b00000000e
Revises: f9b00000000d
Create Date: 2026-12-06 08:00:00

The controller's register promises that a member account is deleted within 30 days of the end
of its last membership; the daily sweep (webapp/members/services.py) notes when it first finds
an account without one, and deletes it 30 days later.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f9b00000000e'
down_revision: str | None = 'f9b00000000d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('memberless_since', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('memberless_since')
