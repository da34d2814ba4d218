"""the tenant's job outbox

Revision ID: e6a0000000a6
Revises: e5a0000000a5
Create Date: 2026-12-06 01:30:00

A job queued by a tenant's unit of work (confirmation e-mails, reminders, sweeps' warnings) is
a row written in the same transaction; the queue only wakes workers up (tenants/outbox.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e6a0000000a6'
down_revision: str | None = 'e5a0000000a5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'job_outbox',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('task', sa.String(length=120), nullable=False),
        sa.Column('args', sa.JSON(), nullable=True),
        sa.Column('run_after', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_outbox')),
    )
    op.create_index('ix_job_outbox_pending', 'job_outbox', ['done_at', 'run_after'])


def downgrade() -> None:
    op.drop_index('ix_job_outbox_pending', table_name='job_outbox')
    op.drop_table('job_outbox')
