"""tenant keys bigint: every tenant primary key and the columns that refer to one

Revision ID: e9a00000a018
Revises: e8b00000b001
Create Date: 2026-12-06 08:10:00

Issue 18, item 6: on a Citus cluster a tenant schema's tables live on a worker, and Citus
generates serial keys on a node other than the coordinator only for bigint columns (each node
draws from its own range; an integer column fails: "nextval(sequence) calls in worker nodes are
not supported for column defaults of type int or smallint"). So the keys become bigint, and
so do the columns that hold one (foreign keys, the consent ledger's participant id).

Citus refuses to change the type of a column that owns its sequence, and to give a sequence of
a distributed table an owner, so each key's sequence is replaced: default dropped, sequence
dropped, type changed, a new sequence of that type started after the largest key, set as the
default, and renamed to the usual ``<table>_id_seq`` (creating it under that name in the same
transaction as the drop deadlocks Citus's workers). The same on plain PostgreSQL: one path. The
new sequences are not owned by their columns (tenants provisioned after this revision own
theirs): a later migration that drops one of these tables drops its sequence too.
SQLite: nothing to do; INTEGER holds 64-bit values and INTEGER PRIMARY KEY stays the rowid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e9a00000a018'
down_revision: str | None = 'e8b00000b001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose key ``id`` is drawn from a sequence.
SERIAL = (
    'access_log', 'answer_changes', 'answers', 'consent_config', 'consent_ledger',
    'consent_services', 'custom_fields', 'email_templates', 'event_messages', 'events',
    'instructions', 'message_deliveries', 'participant_login_failures', 'participants',
    'rating_reports', 'ratings', 'registrations', 'retention_runs', 'rights_request_steps',
    'rights_requests', 'sent_reminders', 'settings',
)
# Columns holding a key of another tenant table.
REFERENCES = (
    ('answer_changes', 'registration_id'), ('answers', 'field_id'),
    ('answers', 'participant_id'), ('answers', 'registration_id'),
    ('consent_ledger', 'participant_id'), ('custom_fields', 'condition_field_id'),
    ('event_messages', 'event_id'), ('message_deliveries', 'message_id'),
    ('message_deliveries', 'registration_id'), ('participant_tokens', 'participant_id'),
    ('privacy_choices', 'participant_id'), ('rating_counts', 'event_id'),
    ('rating_reports', 'rating_id'), ('ratings', 'event_id'), ('ratings', 'participant_id'),
    ('registrations', 'event_id'), ('registrations', 'participant_id'),
    ('retention_counts', 'run_id'), ('rights_request_steps', 'request_id'),
    ('rights_requests', 'participant_id'), ('sent_reminders', 'registration_id'),
)

# The sequence a table's ``id`` default draws from (owned or not), in the migrated schema.
DEFAULT_SEQUENCE = sa.text("""
    SELECT s.relname FROM pg_attrdef a
    JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = a.oid
                    AND d.refclassid = 'pg_class'::regclass
    JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
    WHERE a.adrelid = CAST(:table AS regclass)
      AND a.adnum = (SELECT attnum FROM pg_attribute
                     WHERE attrelid = CAST(:table AS regclass) AND attname = 'id')
""")


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger(), 'bigint')


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer(), 'integer')


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine, sql_type: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    for table in SERIAL:
        sequence = bind.scalar(DEFAULT_SEQUENCE, {'table': table})
        op.alter_column(table, 'id', server_default=None, existing_type=old)
        if sequence is not None:
            op.execute(f'DROP SEQUENCE "{sequence}"')
        # Left behind when a downgrade dropped this table: its name is taken below.
        op.execute(f'DROP SEQUENCE IF EXISTS "{table}_id_seq"')
    for table in SERIAL:
        op.alter_column(table, 'id', type_=new, existing_type=old, existing_nullable=False)
    for table, column in REFERENCES:
        op.alter_column(table, column, type_=new, existing_type=old)
    for table in SERIAL:
        start = (bind.scalar(sa.text(f'SELECT max(id) FROM "{table}"')) or 0) + 1  # noqa: S608
        op.execute(f'CREATE SEQUENCE "{table}_id_seq_new" AS {sql_type} START WITH {start}')
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN id '
                   f"SET DEFAULT nextval('\"{table}_id_seq_new\"'::regclass)")
        op.execute(f'ALTER SEQUENCE "{table}_id_seq_new" RENAME TO "{table}_id_seq"')
