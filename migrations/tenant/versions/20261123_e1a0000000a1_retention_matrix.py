"""retention matrix, receipts, participant lifecycle

Revision ID: e1a0000000a1
Revises: d1e2f3a4b5c6
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e1a0000000a1'
down_revision: str | None = 'd1e2f3a4b5c6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('retention_rules',
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_retention_rules'))
    )
    op.create_table('retention_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_runs'))
    )
    op.create_index(op.f('ix_retention_runs_started_at'), 'retention_runs', ['started_at'],
                    unique=False)
    op.create_table('retention_counts',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('step', sa.String(length=12), nullable=False),
    sa.Column('duration', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=6), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['retention_runs.id'],
                            name=op.f('fk_retention_counts_run_id_retention_runs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'kind', 'step', name=op.f('pk_retention_counts'))
    )
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inactivity_warned_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('deactivation_reason', sa.String(length=10),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_participants_deactivated_at'), ['deactivated_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_participants_last_active_at'), ['last_active_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participants_last_active_at'))
        batch_op.drop_index(batch_op.f('ix_participants_deactivated_at'))
        batch_op.drop_column('deactivation_reason')
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('inactivity_warned_at')
    op.drop_table('retention_counts')
    op.drop_index(op.f('ix_retention_runs_started_at'), table_name='retention_runs')
    op.drop_table('retention_runs')
    op.drop_table('retention_rules')
