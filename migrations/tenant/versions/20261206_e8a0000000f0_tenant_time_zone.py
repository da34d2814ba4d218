"""tenant time zone: the zone of the times a tenant's pages and e-mails show

Revision ID: e8a0000000f0
Revises: e8a0000000ea
Create Date: 2026-12-06 07:50:00

Issue 19, item 3: times are shown and sent in the tenant's time zone (a setting), with the
zone named; a new event starts in it. Existing tenants keep the zone they were shown in
until now (Europe/Paris).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e8a0000000f0'
down_revision: str | None = 'e8a0000000ea'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('settings') as batch:
        batch.add_column(sa.Column('timezone', sa.String(length=64),
                                   server_default='Europe/Paris', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('settings') as batch:
        batch.drop_column('timezone')
