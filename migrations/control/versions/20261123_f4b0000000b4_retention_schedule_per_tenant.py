"""retention schedule per tenant

Revision ID: f4b0000000b4
Revises: f3b0000000b3
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f4b0000000b4'
down_revision: str | None = 'f3b0000000b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('retention_schedules',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('next_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('swept_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                            name=op.f('fk_retention_schedules_tenant_id_tenants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_retention_schedules'))
    )
    op.create_index(op.f('ix_retention_schedules_next_due_at'), 'retention_schedules',
                    ['next_due_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_retention_schedules_next_due_at'), table_name='retention_schedules')
    op.drop_table('retention_schedules')
