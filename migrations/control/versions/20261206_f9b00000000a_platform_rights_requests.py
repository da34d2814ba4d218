"""rights requests sent to the platform, and their forwarding log

Revision ID: f9b00000000a
Revises: f8b0000000b8
Create Date: 2026-12-06 05:00:00

A rights request sent to Parvis itself waits for its e-mailed code, then is forwarded to the
tenants that hold data with its address; the log keeps, per tenant, the id the request has in
that tenant's inbox (webapp/rights_intake).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f9b00000000a'
down_revision: str | None = 'f8b0000000b8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'platform_rights_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=43), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('forwarded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('code_attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_rights_requests')),
        sa.UniqueConstraint('token', name=op.f('uq_platform_rights_requests_token')),
    )
    op.create_index(op.f('ix_platform_rights_requests_email'), 'platform_rights_requests',
                    ['email'], unique=False)
    op.create_index(op.f('ix_platform_rights_requests_status'), 'platform_rights_requests',
                    ['status'], unique=False)
    op.create_table(
        'rights_forwardings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('tenant_request_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['request_id'], ['platform_rights_requests.id'],
            name=op.f('fk_rights_forwardings_request_id_platform_rights_requests'),
            ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_rights_forwardings_tenant_id_tenants'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_forwardings')),
    )
    op.create_index(op.f('ix_rights_forwardings_request_id'), 'rights_forwardings',
                    ['request_id'], unique=False)
    op.create_index(op.f('ix_rights_forwardings_tenant_id'), 'rights_forwardings',
                    ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rights_forwardings_tenant_id'), table_name='rights_forwardings')
    op.drop_index(op.f('ix_rights_forwardings_request_id'), table_name='rights_forwardings')
    op.drop_table('rights_forwardings')
    op.drop_index(op.f('ix_platform_rights_requests_status'),
                  table_name='platform_rights_requests')
    op.drop_index(op.f('ix_platform_rights_requests_email'),
                  table_name='platform_rights_requests')
    op.drop_table('platform_rights_requests')
