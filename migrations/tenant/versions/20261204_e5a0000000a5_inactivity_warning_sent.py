"""when each inactivity warning e-mail actually went out

Revision ID: e5a0000000a5
Revises: e4a0000000a4
Create Date: 2026-12-04 15:10:00

The 30 days before an inactive account is deactivated now count from the e-mail, and a
warning whose e-mail was lost is sent again. Accounts already warned are taken as told at the
time they were marked.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e5a0000000a5'
down_revision: str | None = 'e4a0000000a4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inactivity_warning_sent_at', sa.DateTime(timezone=True),
                                      nullable=True))
    participants = sa.table('participants', sa.column('inactivity_warned_at'),
                            sa.column('inactivity_warning_sent_at'))
    op.execute(participants.update()
               .where(participants.c.inactivity_warned_at.is_not(None))
               .values(inactivity_warning_sent_at=participants.c.inactivity_warned_at))


def downgrade() -> None:
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_column('inactivity_warning_sent_at')
