"""plans, subscriptions, Stripe events, invoices

Revision ID: f1b0000000b1
Revises: d93b212a4b38
Create Date: 2026-11-23 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f1b0000000b1'
down_revision: str | None = 'd93b212a4b38'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dt() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'billing_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('plan', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('trial_ends_at', _dt(), nullable=True),
        sa.Column('stripe_customer_id', sa.String(length=255), nullable=True),
        sa.Column('stripe_subscription_id', sa.String(length=255), nullable=True),
        sa.Column('cancel_at_period_end', sa.Boolean(), nullable=False),
        sa.Column('current_period_end', _dt(), nullable=True),
        sa.Column('past_due_since', _dt(), nullable=True),
        sa.Column('tenant_status', sa.String(length=20), nullable=True),
        sa.Column('created_at', _dt(), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('updated_at', _dt(), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='SET NULL',
                                name=op.f('fk_billing_subscriptions_account_id_accounts')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE',
                                name=op.f('fk_billing_subscriptions_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscriptions')),
        sa.UniqueConstraint('stripe_subscription_id',
                            name=op.f('uq_billing_subscriptions_stripe_subscription_id')),
        sa.UniqueConstraint('tenant_id', name=op.f('uq_billing_subscriptions_tenant_id')),
    )
    op.create_index(op.f('ix_billing_subscriptions_account_id'), 'billing_subscriptions',
                    ['account_id'])
    op.create_index(op.f('ix_billing_subscriptions_stripe_customer_id'),
                    'billing_subscriptions', ['stripe_customer_id'])
    op.create_table(
        'billing_stripe_events',
        sa.Column('id', sa.String(length=255), nullable=False),
        sa.Column('type', sa.String(length=100), nullable=False),
        sa.Column('received_at', _dt(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_stripe_events')),
    )
    op.create_table(
        'billing_invoices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('stripe_invoice_id', sa.String(length=255), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=True),
        sa.Column('tenant_slug', sa.String(length=41), nullable=False),
        sa.Column('number', sa.String(length=100), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('billing_name', sa.String(length=200), nullable=False),
        sa.Column('billing_email', sa.String(length=254), nullable=False),
        sa.Column('billing_address', sa.Text(), nullable=False),
        sa.Column('tax_ids', sa.String(length=500), nullable=False),
        sa.Column('paid_at', _dt(), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='SET NULL',
                                name=op.f('fk_billing_invoices_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_invoices')),
        sa.UniqueConstraint('stripe_invoice_id',
                            name=op.f('uq_billing_invoices_stripe_invoice_id')),
    )
    op.create_index(op.f('ix_billing_invoices_tenant_id'), 'billing_invoices', ['tenant_id'])
    # --- signup and operator console (helper "signup") ---
    op.create_table('pending_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('plan', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_signups')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_pending_signups_token_hash'))
    )
    op.create_index(op.f('ix_pending_signups_email'), 'pending_signups', ['email'], unique=False)
    op.create_index(op.f('ix_pending_signups_expires_at'), 'pending_signups', ['expires_at'], unique=False)
    op.create_table('terms_acceptances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('account_email', sa.String(length=254), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_terms_acceptances_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_terms_acceptances_tenant_id_tenants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terms_acceptances'))
    )
    op.create_index(op.f('ix_terms_acceptances_account_id'), 'terms_acceptances', ['account_id'], unique=False)
    op.create_index(op.f('ix_terms_acceptances_tenant_id'), 'terms_acceptances', ['tenant_id'], unique=False)
    op.create_table('tenant_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.Enum('provisioning', 'active', 'read_only', 'suspended', 'ended', name='tenantstatus', native_enum=False, length=20), nullable=False),
    sa.Column('to_status', sa.Enum('provisioning', 'active', 'read_only', 'suspended', 'ended', name='tenantstatus', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('account_email', sa.String(length=254), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_tenant_status_changes_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_status_changes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_status_changes'))
    )
    op.create_index(op.f('ix_tenant_status_changes_account_id'), 'tenant_status_changes', ['account_id'], unique=False)
    op.create_index(op.f('ix_tenant_status_changes_tenant_id'), 'tenant_status_changes', ['tenant_id'], unique=False)
    op.create_table('controller_identities',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('legal_name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('dpo_name', sa.String(length=200), nullable=False),
    sa.Column('dpo_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_controller_identities_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_controller_identities'))
    )
    # --- end of signup and operator console ---


def downgrade() -> None:
    # --- signup and operator console (helper "signup") ---
    op.drop_table('controller_identities')
    op.drop_index(op.f('ix_tenant_status_changes_tenant_id'), table_name='tenant_status_changes')
    op.drop_index(op.f('ix_tenant_status_changes_account_id'), table_name='tenant_status_changes')
    op.drop_table('tenant_status_changes')
    op.drop_index(op.f('ix_terms_acceptances_tenant_id'), table_name='terms_acceptances')
    op.drop_index(op.f('ix_terms_acceptances_account_id'), table_name='terms_acceptances')
    op.drop_table('terms_acceptances')
    op.drop_index(op.f('ix_pending_signups_expires_at'), table_name='pending_signups')
    op.drop_index(op.f('ix_pending_signups_email'), table_name='pending_signups')
    op.drop_table('pending_signups')
    # --- end of signup and operator console ---
    op.drop_index(op.f('ix_billing_invoices_tenant_id'), table_name='billing_invoices')
    op.drop_table('billing_invoices')
    op.drop_table('billing_stripe_events')
    op.drop_index(op.f('ix_billing_subscriptions_stripe_customer_id'),
                  table_name='billing_subscriptions')
    op.drop_index(op.f('ix_billing_subscriptions_account_id'), table_name='billing_subscriptions')
    op.drop_table('billing_subscriptions')
