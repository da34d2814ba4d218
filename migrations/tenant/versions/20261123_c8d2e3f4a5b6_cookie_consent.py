"""cookie consent and the consent ledger

Revision ID: c8d2e3f4a5b6
Revises: b7c1d2e3f4a5
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'c8d2e3f4a5b6'
down_revision: str | None = 'b7c1d2e3f4a5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('consent_services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('cookies', JSON, nullable=False),
    sa.Column('location', sa.String(length=100), nullable=False),
    sa.Column('load_kind', sa.String(length=10), nullable=False),
    sa.Column('load_url', sa.String(length=500), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_services'))
    )
    op.create_table('consent_config',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('texts', JSON, nullable=False),
    sa.Column('lifetime_months', sa.Integer(), nullable=False),
    sa.Column('retention_years', sa.Integer(), nullable=False),
    sa.Column('link_participant', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('texts_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_config'))
    )
    op.create_table('consent_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.String(length=43), nullable=False),
    sa.Column('chain_id', sa.String(length=43), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('choices', JSON, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('texts_hash', sa.String(length=64), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_ledger')),
    sa.UniqueConstraint('consent_id', name=op.f('uq_consent_ledger_consent_id'))
    )
    with op.batch_alter_table('consent_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_consent_ledger_chain_id', ['chain_id'], unique=False)
        batch_op.create_index('ix_consent_ledger_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_consent_ledger_participant_id', ['participant_id'], unique=False)


def downgrade() -> None:
    op.drop_table('consent_ledger')
    op.drop_table('consent_config')
    op.drop_table('consent_services')
