"""the requester's language on each rights request

Revision ID: e4a0000000a4
Revises: e3a0000000a3
Create Date: 2026-12-04 15:00:00

E-mails about a request (code, extension, answer) go out in the requester's language, not in
the language of the staff member who extends or answers it. Older requests have none: they
get the platform's default language.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e4a0000000a4'
down_revision: str | None = 'e3a0000000a3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rights_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rights_requests', schema=None) as batch_op:
        batch_op.drop_column('language')
