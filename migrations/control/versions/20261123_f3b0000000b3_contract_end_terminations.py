"""contract end: terminations, bundle downloads, destruction certificates

Revision ID: f3b0000000b3
Revises: f2b0000000b2
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f3b0000000b3'
down_revision: str | None = 'f2b0000000b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('contract_ends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('return_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('bundle_file', sa.String(length=200), nullable=True),
    sa.Column('bundle_ready_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bundle_rows', sa.Integer(), nullable=True),
    sa.Column('former_owner_id', sa.Integer(), nullable=True),
    sa.Column('inventory', sa.JSON(), nullable=True),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['former_owner_id'], ['accounts.id'], name=op.f('fk_contract_ends_former_owner_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by'], ['accounts.id'], name=op.f('fk_contract_ends_requested_by_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_contract_ends_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_ends')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_contract_ends_tenant_id'))
    )
    op.create_index(op.f('ix_contract_ends_former_owner_id'), 'contract_ends', ['former_owner_id'], unique=False)
    op.create_index(op.f('ix_contract_ends_requested_by'), 'contract_ends', ['requested_by'], unique=False)
    op.create_index(op.f('ix_contract_ends_return_until'), 'contract_ends', ['return_until'], unique=False)
    op.create_table('bundle_downloads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_end_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bundle_downloads_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contract_end_id'], ['contract_ends.id'], name=op.f('fk_bundle_downloads_contract_end_id_contract_ends'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bundle_downloads'))
    )
    op.create_index(op.f('ix_bundle_downloads_contract_end_id'), 'bundle_downloads', ['contract_end_id'], unique=False)
    op.create_table('destruction_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=36), nullable=False),
    sa.Column('contract_end_id', sa.Integer(), nullable=False),
    sa.Column('tenant_number', sa.Integer(), nullable=False),
    sa.Column('tenant_slug', sa.String(length=41), nullable=False),
    sa.Column('tenant_name', sa.String(length=200), nullable=False),
    sa.Column('contract_ended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_reason', sa.String(length=30), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('schema_name', sa.String(length=64), nullable=False),
    sa.Column('tables', sa.JSON(), nullable=False),
    sa.Column('control_rows', sa.JSON(), nullable=False),
    sa.Column('bundle_deleted', sa.Boolean(), nullable=False),
    sa.Column('bundle_downloads', sa.Integer(), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contract_end_id'], ['contract_ends.id'], name=op.f('fk_destruction_certificates_contract_end_id_contract_ends')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_certificates')),
    sa.UniqueConstraint('contract_end_id', name=op.f('uq_destruction_certificates_contract_end_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_destruction_certificates_reference'))
    )


def downgrade() -> None:
    op.drop_table('destruction_certificates')
    op.drop_index(op.f('ix_bundle_downloads_contract_end_id'), table_name='bundle_downloads')
    op.drop_table('bundle_downloads')
    op.drop_index(op.f('ix_contract_ends_return_until'), table_name='contract_ends')
    op.drop_index(op.f('ix_contract_ends_requested_by'), table_name='contract_ends')
    op.drop_index(op.f('ix_contract_ends_former_owner_id'), table_name='contract_ends')
    op.drop_table('contract_ends')
