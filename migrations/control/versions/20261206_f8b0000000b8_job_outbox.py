"""the control plane's job outbox

Revision ID: f8b0000000b8
Revises: f7b0000000b7
Create Date: 2026-12-06 01:30:00

A job queued by a control-plane unit of work (signup, billing, contract, processor e-mails) is a
row written in the same transaction; the queue only wakes workers up (core/jobs.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f8b0000000b8'
down_revision: str | None = 'f7b0000000b7'
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
