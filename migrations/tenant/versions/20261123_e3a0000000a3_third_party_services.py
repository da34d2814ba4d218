"""third-party services from the operators' catalogue (tenant side)

Revision ID: e3a0000000a3
Revises: e2a0000000a2
Create Date: 2026-11-23 18:00:00

A consent service may come from the catalogue; one processing data outside the EU stays
blocked until the tenant owner authorises the transfer.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e3a0000000a3'
down_revision: str | None = 'e2a0000000a2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('consent_services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catalogue_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('catalogue_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('transfer_safeguard', sa.String(length=20),
                                      nullable=True))
        batch_op.add_column(sa.Column('blocked', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_unique_constraint(batch_op.f('uq_consent_services_catalogue_id'),
                                          ['catalogue_id'])


def downgrade() -> None:
    with op.batch_alter_table('consent_services', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_consent_services_catalogue_id'), type_='unique')
        batch_op.drop_column('blocked')
        batch_op.drop_column('transfer_safeguard')
        batch_op.drop_column('catalogue_version')
        batch_op.drop_column('catalogue_id')
