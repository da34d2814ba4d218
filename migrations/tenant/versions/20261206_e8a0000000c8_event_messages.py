"""organisers' messages, their deliveries, and the tenant's e-mail texts

Revision ID: e8a0000000c8
Revises: e7a00000000d
Create Date: 2026-12-06 05:30:00

Issue 19 item 4 (docs/messaging.md): a message to an event's registrants is logged with its
counts; each recipient has a delivery row, queued once by a batch job; the tenant may replace
the texts of the confirmation, reminder and follow-up e-mails per language.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e8a0000000c8'
down_revision: str | None = 'e7a00000000d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        'event_messages',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('events.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('news', sa.Boolean(), nullable=False),
        sa.Column('subject', JSON, nullable=False),
        sa.Column('body', JSON, nullable=False),
        sa.Column('audiences', JSON, nullable=False),
        sa.Column('sent_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('left_out_restricted', sa.Integer(), nullable=False),
        sa.Column('left_out_news', sa.Integer(), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('next_batch_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_event_messages_event_id', 'event_messages', ['event_id'])
    op.create_table(
        'message_deliveries',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('message_id', sa.Integer(),
                  sa.ForeignKey('event_messages.id', ondelete='CASCADE'), nullable=False),
        sa.Column('registration_id', sa.Integer(),
                  sa.ForeignKey('registrations.id', ondelete='CASCADE'), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('message_id', 'registration_id'),
    )
    op.create_index('ix_message_deliveries_registration_id', 'message_deliveries',
                    ['registration_id'])
    op.create_table(
        'email_templates',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('language', sa.String(5), nullable=False),
        sa.Column('subject', sa.String(200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('kind', 'language'),
    )


def downgrade() -> None:
    op.drop_table('email_templates')
    op.drop_table('message_deliveries')
    op.drop_table('event_messages')
