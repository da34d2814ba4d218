"""breaches and support-access grants

Revision ID: f6b0000000b6
Revises: f5b0000000b5
Create Date: 2026-11-23 18:00:00

Breaches (the incident, the organisations it affects with their CNIL draft and participant
notice, the register of steps) and support-access grants.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f6b0000000b6'
down_revision: str | None = 'f5b0000000b5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('breaches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nature', sa.Text(), nullable=False),
    sa.Column('data_categories', sa.Text(), nullable=False),
    sa.Column('people_estimate', sa.Integer(), nullable=False),
    sa.Column('records_estimate', sa.Integer(), nullable=True),
    sa.Column('consequences', sa.Text(), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('aware_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scope', sa.Enum('platform', 'component', 'tenants', name='scope', native_enum=False, length=20), nullable=False),
    sa.Column('component', sa.String(length=40), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by'], ['accounts.id'], name=op.f('fk_breaches_recorded_by_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breaches'))
    )
    op.create_table('support_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.Integer(), nullable=True),
    sa.Column('granted_by_email', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_email', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['granted_by'], ['accounts.id'], name=op.f('fk_support_grants_granted_by_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_support_grants_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_grants'))
    )
    op.create_index(op.f('ix_support_grants_tenant_id'), 'support_grants', ['tenant_id'], unique=False)
    op.create_table('breach_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('breach_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['breach_id'], ['breaches.id'], name=op.f('fk_breach_events_breach_id_breaches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_breach_events_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_events'))
    )
    op.create_index(op.f('ix_breach_events_breach_id'), 'breach_events', ['breach_id'], unique=False)
    op.create_index(op.f('ix_breach_events_tenant_id'), 'breach_events', ['tenant_id'], unique=False)
    op.create_table('breach_tenants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('breach_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('tenant_name', sa.String(length=200), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_to', sa.Text(), nullable=False),
    sa.Column('cnil_draft', sa.JSON(), nullable=False),
    sa.Column('cnil_filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late_reason', sa.Text(), nullable=False),
    sa.Column('notice', sa.JSON(), nullable=False),
    sa.Column('notice_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notice_recipients', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['breach_id'], ['breaches.id'], name=op.f('fk_breach_tenants_breach_id_breaches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_breach_tenants_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_tenants')),
    sa.UniqueConstraint('breach_id', 'tenant_id', name=op.f('uq_breach_tenants_breach_id_tenant_id'))
    )
    op.create_index(op.f('ix_breach_tenants_tenant_id'), 'breach_tenants', ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_breach_tenants_tenant_id'), table_name='breach_tenants')
    op.drop_table('breach_tenants')
    op.drop_index(op.f('ix_breach_events_tenant_id'), table_name='breach_events')
    op.drop_index(op.f('ix_breach_events_breach_id'), table_name='breach_events')
    op.drop_table('breach_events')
    op.drop_index(op.f('ix_support_grants_tenant_id'), table_name='support_grants')
    op.drop_table('support_grants')
    op.drop_table('breaches')
