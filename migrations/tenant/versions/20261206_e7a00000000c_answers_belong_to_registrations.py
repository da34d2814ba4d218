"""answers belong to the registration they were given for

Revision ID: e7a00000000c
Revises: e6a0000000a6
Create Date: 2026-12-06 05:00:00

PRODUCT.md, "Retention and deletion": registrations and custom-field answers are kept from the
event's end. Answers were kept while their author held any registration; each now belongs to
a registration and follows its clock (tenants/fields/answers.py). An existing answer goes to
the registration, among those it served, whose event ends last: a registration of its author
made at or after its last change (made with it on file), or whose event had not ended when it
last changed (its organiser saw it), and, for a question since removed from the form, made
before the removal. An answer that served none keeps counting from its last change.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e7a00000000c'
down_revision: str | None = 'e6a0000000a6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


answers = sa.table('answers', sa.column('participant_id'), sa.column('field_id'),
                   sa.column('updated_at'), sa.column('registration_id'))
registrations = sa.table('registrations', sa.column('id'), sa.column('participant_id'),
                         sa.column('event_id'), sa.column('created_at'))
events = sa.table('events', sa.column('id'), sa.column('ends_at'))
fields = sa.table('custom_fields', sa.column('id'), sa.column('archived_at'))


def served_registration() -> sa.ScalarSelect:
    """The registration each answer belongs to (a subquery correlated to ``answers``)."""
    removed_before = (sa.exists().where(fields.c.id == answers.c.field_id,
                                        fields.c.archived_at < registrations.c.created_at)
                      .correlate(answers, registrations))
    return (sa.select(registrations.c.id)
            .join(events, events.c.id == registrations.c.event_id)
            .where(registrations.c.participant_id == answers.c.participant_id,
                   sa.or_(registrations.c.created_at >= answers.c.updated_at,
                          events.c.ends_at > answers.c.updated_at),
                   ~removed_before)
            .order_by(events.c.ends_at.desc(), registrations.c.id.desc())
            .limit(1).correlate(answers).scalar_subquery())


def upgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_answers_registration_id'), ['registration_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_answers_registration_id_registrations'),
                                    'registrations', ['registration_id'], ['id'],
                                    ondelete='CASCADE')
    op.execute(answers.update().values(registration_id=served_registration()))


def downgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_answers_registration_id_registrations'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_answers_registration_id'))
        batch_op.drop_column('registration_id')
