"""personal join links and calendar sequences

Revision ID: e8a0000000b7
Revises: e8a0000000c8
Create Date: 2026-12-06 05:30:00

Issue 19, items 2 and 3: each registration gets the secret of its personal join link
(``/t/<slug>/join/<token>``, 256 random bits; existing registrations get one here), each event
how long before its start that link works (15 minutes by default, 0 to 1440) and the sequence
of its calendar files; a registration its own part of that sequence.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e8a0000000b7'
down_revision: str | None = 'e8a0000000c8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

registrations = sa.table('registrations', sa.column('id'), sa.column('join_token'))


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('join_opens_minutes', sa.Integer(), nullable=False,
                                      server_default='15'))
        batch_op.add_column(sa.Column('calendar_sequence', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('join_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('calendar_sequence', sa.Integer(), nullable=False,
                                      server_default='0'))
    connection = op.get_bind()
    ids = list(connection.execute(sa.select(registrations.c.id)).scalars())
    for start in range(0, len(ids), 1000):
        connection.execute(
            registrations.update().where(registrations.c.id == sa.bindparam('rid'))
            .values(join_token=sa.bindparam('token')),
            [{'rid': rid, 'token': secrets.token_urlsafe(32)} for rid in ids[start:start + 1000]])
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.alter_column('join_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_registrations_join_token'),
                                          ['join_token'])


def downgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_registrations_join_token'), type_='unique')
        batch_op.drop_column('calendar_sequence')
        batch_op.drop_column('join_token')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('calendar_sequence')
        batch_op.drop_column('join_opens_minutes')
