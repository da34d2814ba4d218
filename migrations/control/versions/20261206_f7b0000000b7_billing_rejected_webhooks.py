"""billing: refused Stripe webhooks

Revision ID: f7b0000000b7
Revises: f6b0000000b6
Create Date: 2026-12-06 01:00:00

Signed webhooks refused for good (a body not of the expected shape, a signature dated outside
the tolerance): the reason, the field and the event's id and type, never the body.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f7b0000000b7'
down_revision: str | None = 'f6b0000000b6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'billing_rejected_webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('body_sha256', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=30), nullable=False),
        sa.Column('field', sa.String(length=200), nullable=False),
        sa.Column('event_id', sa.String(length=100), nullable=False),
        sa.Column('event_type', sa.String(length=100), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deliveries', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_rejected_webhooks')),
        sa.UniqueConstraint('body_sha256', name=op.f('uq_billing_rejected_webhooks_body_sha256')),
    )
    op.create_index(op.f('ix_billing_rejected_webhooks_last_received_at'),
                    'billing_rejected_webhooks', ['last_received_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_billing_rejected_webhooks_last_received_at'),
                  table_name='billing_rejected_webhooks')
    op.drop_table('billing_rejected_webhooks')
