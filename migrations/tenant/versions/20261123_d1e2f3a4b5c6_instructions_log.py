"""the tenant's instructions log

Revision ID: d1e2f3a4b5c6
Revises: c8d2e3f4a5b6
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd1e2f3a4b5c6'
down_revision: str | None = 'c8d2e3f4a5b6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('instructions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('area', sa.String(length=20), nullable=False),
    sa.Column('summary', sa.String(length=500), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instructions'))
    )
    op.create_index(op.f('ix_instructions_area'), 'instructions', ['area'], unique=False)
    op.create_index(op.f('ix_instructions_at'), 'instructions', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_instructions_at'), table_name='instructions')
    op.drop_index(op.f('ix_instructions_area'), table_name='instructions')
    op.drop_table('instructions')
