"""sign-in records' retention and receipts; on whose instruction the console opened a tenant

Revision ID: f9b00000000b
Revises: f9b00000000a
Create Date: 2026-12-06 05:00:00

The platform's retention of its own sign-in records (a setting within the bounds of the
tenants' connection logs) and the receipts of their daily sweep; the record of who asked an
operator to open a tenant, whose DPA acceptance is then pending.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f9b00000000b'
down_revision: str | None = 'f9b00000000a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'control_retention_rules',
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('duration', sa.Integer(), nullable=False),
        sa.Column('unit', sa.String(length=6), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_by_email', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['updated_by_id'], ['accounts.id'],
                                name=op.f('fk_control_retention_rules_updated_by_id_accounts'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('kind', name=op.f('pk_control_retention_rules')),
    )
    op.create_table(
        'control_retention_receipts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('session_months', sa.Integer(), nullable=False),
        sa.Column('session_cutoff', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sessions_deleted', sa.Integer(), nullable=False),
        sa.Column('failure_window', sa.Integer(), nullable=False),
        sa.Column('failures_deleted', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_control_retention_receipts')),
    )
    op.create_index(op.f('ix_control_retention_receipts_started_at'),
                    'control_retention_receipts', ['started_at'], unique=False)
    op.create_table(
        'tenant_provisioning_instructions',
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('instructed_by_name', sa.String(length=200), nullable=False),
        sa.Column('instructed_by_email', sa.String(length=254), nullable=False),
        sa.Column('operator_id', sa.Integer(), nullable=True),
        sa.Column('operator_email', sa.String(length=254), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['operator_id'], ['accounts.id'],
            name=op.f('fk_tenant_provisioning_instructions_operator_id_accounts'),
            ondelete='SET NULL'),
        sa.ForeignKeyConstraint(
            ['tenant_id'], ['tenants.id'],
            name=op.f('fk_tenant_provisioning_instructions_tenant_id_tenants'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_tenant_provisioning_instructions')),
    )
    op.create_index(op.f('ix_tenant_provisioning_instructions_operator_id'),
                    'tenant_provisioning_instructions', ['operator_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_tenant_provisioning_instructions_operator_id'),
                  table_name='tenant_provisioning_instructions')
    op.drop_table('tenant_provisioning_instructions')
    op.drop_index(op.f('ix_control_retention_receipts_started_at'),
                  table_name='control_retention_receipts')
    op.drop_table('control_retention_receipts')
    op.drop_table('control_retention_rules')
