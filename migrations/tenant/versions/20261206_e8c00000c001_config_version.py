"""configuration version: processes keep the registration form they built until it changes

Revision ID: e8c00000c001
Revises: e8a0000000f0
Create Date: 2026-12-06 08:00:00

Issue 18, item 1: ``settings.config_version`` is replaced by a new random number with every
change to the form's design (settings, standard and custom fields), in the same transaction;
each process keeps the form class it built for a version (tenants/settings/version.py). Each
tenant's row gets a random version of its own here (0 would mean "unknown, keep nothing").
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e8c00000c001'
down_revision: str | None = 'e8a0000000f0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

settings = sa.table('settings', sa.column('config_version', sa.BigInteger))


def upgrade() -> None:
    with op.batch_alter_table('settings') as batch:
        batch.add_column(sa.Column('config_version', sa.BigInteger(), server_default='0',
                                   nullable=False))
    op.execute(settings.update().values(config_version=secrets.randbits(62) + 1))


def downgrade() -> None:
    with op.batch_alter_table('settings') as batch:
        batch.drop_column('config_version')
