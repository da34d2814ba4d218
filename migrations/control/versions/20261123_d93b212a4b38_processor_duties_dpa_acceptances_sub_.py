"""processor duties: DPA acceptances, sub-processors, objections

Revision ID: d93b212a4b38
Revises: f3bd9c50a5d8
Create Date: 2026-11-23 15:15:44.772268

Also fills the public sub-processor list with the providers the DPA's first version relies on.
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = 'd93b212a4b38'
down_revision: str | None = 'f3bd9c50a5d8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ALL_DATA_FR = ("Toutes les données des espaces clients : participants, inscriptions, réponses "
               "aux champs personnalisés, avis, preuves de consentement, journaux")
ALL_DATA_EN = ("All data of client spaces: participants, registrations, answers to custom "
               "fields, ratings, consent proofs, logs")
INITIAL_SUB_PROCESSORS = [
    ("Scaleway SAS", "Hébergement de la plateforme (serveurs et bases de données)",
     "Hosting of the platform (servers and databases)", ALL_DATA_FR, ALL_DATA_EN,
     "France (Paris)"),
    ("OVH SAS", "Hébergement des sauvegardes chiffrées", "Hosting of encrypted backups",
     ALL_DATA_FR, ALL_DATA_EN, "France (Roubaix)"),
    ("Brevo (Sendinblue SAS)", "Envoi des e-mails transactionnels (confirmations, liens, "
     "rappels, notifications)", "Sending transactional e-mails (confirmations, links, "
     "reminders, notifications)", "Adresse e-mail, nom, contenu des e-mails envoyés",
     "E-mail address, name, content of the e-mails sent", "France (Paris)"),
]


def upgrade() -> None:
    op.create_table('sub_processors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose_fr', sa.Text(), nullable=False),
    sa.Column('purpose_en', sa.Text(), nullable=False),
    sa.Column('data_fr', sa.Text(), nullable=False),
    sa.Column('data_en', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('safeguard', sa.Enum('eu', 'adequacy', 'scc', name='safeguard', native_enum=False, length=20), nullable=False),
    sa.Column('listed_from', sa.Date(), nullable=True),
    sa.Column('listed_until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sub_processors'))
    )
    op.create_table('dpa_acceptances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('account_email', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_dpa_acceptances_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_dpa_acceptances_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dpa_acceptances')),
    sa.UniqueConstraint('tenant_id', 'version', name=op.f('uq_dpa_acceptances_tenant_id_version'))
    )
    with op.batch_alter_table('dpa_acceptances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dpa_acceptances_account_id'), ['account_id'], unique=False)

    op.create_table('sub_processor_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sub_processor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('added', 'changed', 'removed', name='changekind', native_enum=False, length=20), nullable=False),
    sa.Column('note_fr', sa.Text(), nullable=False),
    sa.Column('note_en', sa.Text(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('objection_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('announced_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['announced_by'], ['accounts.id'], name=op.f('fk_sub_processor_changes_announced_by_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sub_processor_id'], ['sub_processors.id'], name=op.f('fk_sub_processor_changes_sub_processor_id_sub_processors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sub_processor_changes'))
    )
    with op.batch_alter_table('sub_processor_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sub_processor_changes_sub_processor_id'), ['sub_processor_id'], unique=False)

    op.create_table('sub_processor_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('account_email', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sub_processor_objections_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['change_id'], ['sub_processor_changes.id'], name=op.f('fk_sub_processor_objections_change_id_sub_processor_changes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sub_processor_objections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sub_processor_objections')),
    sa.UniqueConstraint('change_id', 'tenant_id', name=op.f('uq_sub_processor_objections_change_id_tenant_id'))
    )
    with op.batch_alter_table('sub_processor_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sub_processor_objections_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sub_processor_objections_tenant_id'), ['tenant_id'], unique=False)

    listed = sa.table('sub_processors', *(sa.column(name) for name in (
        'name', 'purpose_fr', 'purpose_en', 'data_fr', 'data_en', 'location', 'safeguard',
        'listed_from')))
    op.bulk_insert(listed, [
        {'name': name, 'purpose_fr': purpose_fr, 'purpose_en': purpose_en, 'data_fr': data_fr,
         'data_en': data_en, 'location': location, 'safeguard': 'eu',
         'listed_from': date(2026, 11, 23)}
        for name, purpose_fr, purpose_en, data_fr, data_en, location in INITIAL_SUB_PROCESSORS])



def downgrade() -> None:
    with op.batch_alter_table('sub_processor_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sub_processor_objections_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_sub_processor_objections_account_id'))

    op.drop_table('sub_processor_objections')
    with op.batch_alter_table('sub_processor_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sub_processor_changes_sub_processor_id'))

    op.drop_table('sub_processor_changes')
    with op.batch_alter_table('dpa_acceptances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dpa_acceptances_account_id'))

    op.drop_table('dpa_acceptances')
    op.drop_table('sub_processors')
