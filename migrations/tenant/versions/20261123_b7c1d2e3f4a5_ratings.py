"""ratings and reviews

Revision ID: b7c1d2e3f4a5
Revises: a1a111c947f1
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b7c1d2e3f4a5'
down_revision: str | None = 'a1a111c947f1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The ratings settings, with the application's defaults for the existing row.
SETTINGS_COLUMNS = [
    ('ratings_raters', sa.String(length=12), 'attended'),
    ('ratings_window_days', sa.Integer(), '30'),
    ('ratings_edit_days', sa.Integer(), '30'),
    ('ratings_autopublish_stars', sa.Boolean(), sa.true()),
    ('ratings_premoderate_comments', sa.Boolean(), sa.true()),
    ('ratings_visibility', sa.String(length=12), 'public'),
    ('ratings_order', sa.String(length=10), 'newest'),
]


def upgrade() -> None:
    with op.batch_alter_table('settings', schema=None) as batch_op:
        for name, type_, default in SETTINGS_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=False, server_default=default))
    with op.batch_alter_table('settings', schema=None) as batch_op:
        for name, _type, _default in SETTINGS_COLUMNS:
            batch_op.alter_column(name, server_default=None)

    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attended_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('hidden_reason', sa.String(length=500), nullable=False),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moderated_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name=op.f('ck_ratings_stars_range')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_ratings_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_ratings_participant_id_participants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('event_id', 'participant_id', name=op.f('uq_ratings_event_id_participant_id'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index('ix_ratings_event_status_created', ['event_id', 'status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_ratings_event_status_stars', ['event_id', 'status', 'stars', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ratings_participant_id'), ['participant_id'], unique=False)

    op.create_table('rating_counts',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('ratings', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_rating_counts_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'status', 'stars', name=op.f('pk_rating_counts'))
    )
    op.create_table('rating_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('reporter_key', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('details', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_rating_reports_rating_id_ratings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_reports')),
    sa.UniqueConstraint('rating_id', 'reporter_key', name=op.f('uq_rating_reports_rating_id_reporter_key'))
    )
    with op.batch_alter_table('rating_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_reports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_reports_reporter_key'), ['reporter_key'], unique=False)


def downgrade() -> None:
    op.drop_table('rating_reports')
    op.drop_table('rating_counts')
    op.drop_table('ratings')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_column('attended_at')
    with op.batch_alter_table('settings', schema=None) as batch_op:
        for name, _type, _default in reversed(SETTINGS_COLUMNS):
            batch_op.drop_column(name)
