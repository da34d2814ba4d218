"""rights requests, restriction, directives

Revision ID: e2a0000000a2
Revises: e1a0000000a1
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e2a0000000a2'
down_revision: str | None = 'e1a0000000a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rights_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('extended_to', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
              nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_attempts', sa.Integer(), nullable=False),
    sa.Column('download_hash', sa.String(length=64), nullable=False),
    sa.Column('download_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'],
                            name=op.f('fk_rights_requests_participant_id_participants'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_requests'))
    )
    op.create_index(op.f('ix_rights_requests_email'), 'rights_requests', ['email'], unique=False)
    op.create_index(op.f('ix_rights_requests_participant_id'), 'rights_requests',
                    ['participant_id'], unique=False)
    op.create_index(op.f('ix_rights_requests_status'), 'rights_requests', ['status'],
                    unique=False)
    op.create_table('rights_request_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['rights_requests.id'],
                            name=op.f('fk_rights_request_steps_request_id_rights_requests'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_request_steps'))
    )
    op.create_index(op.f('ix_rights_request_steps_request_id'), 'rights_request_steps',
                    ['request_id'], unique=False)
    op.create_table('privacy_choices',
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('restricted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('objected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('objection', sa.Text(), nullable=False),
    sa.Column('directive', sa.String(length=10), nullable=True),
    sa.Column('directive_name', sa.String(length=200), nullable=False),
    sa.Column('directive_email', sa.String(length=254), nullable=False),
    sa.Column('directive_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'],
                            name=op.f('fk_privacy_choices_participant_id_participants'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', name=op.f('pk_privacy_choices'))
    )
    op.create_index(op.f('ix_privacy_choices_restricted_at'), 'privacy_choices',
                    ['restricted_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_privacy_choices_restricted_at'), table_name='privacy_choices')
    op.drop_table('privacy_choices')
    op.drop_index(op.f('ix_rights_request_steps_request_id'), table_name='rights_request_steps')
    op.drop_table('rights_request_steps')
    op.drop_index(op.f('ix_rights_requests_status'), table_name='rights_requests')
    op.drop_index(op.f('ix_rights_requests_participant_id'), table_name='rights_requests')
    op.drop_index(op.f('ix_rights_requests_email'), table_name='rights_requests')
    op.drop_table('rights_requests')
