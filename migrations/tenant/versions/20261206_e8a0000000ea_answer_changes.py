"""answer changes: which answers a registrant changed before the event, and when

Revision ID: e8a0000000ea
Revises: e8a0000000b7
Create Date: 2026-12-06 05:40:00

Issue 19, item 6: a registrant may change their answers to the registration form until the
event starts; the organiser sees which questions changed and when (not the former values).
The rows go with their registration.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e8a0000000ea'
down_revision: str | None = 'e8a0000000b7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'answer_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('registration_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                   'postgresql'), nullable=False),
        sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'],
                                name=op.f('fk_answer_changes_registration_id_registrations'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_changes')))
    with op.batch_alter_table('answer_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_changes_registration_id'),
                              ['registration_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('answer_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_changes_registration_id'))
    op.drop_table('answer_changes')
