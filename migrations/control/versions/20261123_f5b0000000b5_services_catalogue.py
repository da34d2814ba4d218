"""services catalogue, transfer authorisations, register versions

Revision ID: f5b0000000b5
Revises: f4b0000000b4
Create Date: 2026-11-23 18:00:00

Also fills the catalogue with a few real services tenants commonly use: two video platforms
(one in France, one in the United States), an analytics tool hosted in the EU and a US CRM.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'f5b0000000b5'
down_revision: str | None = 'f4b0000000b4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFEGUARD = sa.Enum('eu', 'adequacy', 'scc', name='safeguard', native_enum=False, length=20)
NOW = sa.text('(CURRENT_TIMESTAMP)')

CATALOGUE = [
    {'name': 'Dailymotion', 'provider': 'Dailymotion SA', 'purpose': 'embedded',
     'description_fr': "Lecteur vidéo intégré aux pages de l'organisation (replays, "
                       "présentations).",
     'description_en': "Video player embedded in the organisation's pages (replays, talks).",
     'data_fr': "Adresse IP, identifiant de l'appareil, vidéos regardées",
     'data_en': 'IP address, device identifier, videos watched',
     'location': 'France', 'safeguard': 'eu',
     'cookies': [{'name': 'v1st', 'lifetime': '13 months'},
                 {'name': 'dmvk', 'lifetime': 'session'}],
     'load_kind': 'embed', 'load_url': 'https://geo.dailymotion.com'},
    {'name': 'Vimeo', 'provider': 'Vimeo.com, Inc.', 'purpose': 'embedded',
     'description_fr': "Lecteur vidéo intégré aux pages de l'organisation (replays, "
                       "présentations).",
     'description_en': "Video player embedded in the organisation's pages (replays, talks).",
     'data_fr': "Adresse IP, identifiant de l'appareil, vidéos regardées",
     'data_en': 'IP address, device identifier, videos watched',
     'location': 'United States', 'safeguard': 'scc',
     'cookies': [{'name': 'vuid', 'lifetime': '2 years'},
                 {'name': '__cf_bm', 'lifetime': '30 minutes'}],
     'load_kind': 'embed', 'load_url': 'https://player.vimeo.com'},
    {'name': 'Matomo Cloud', 'provider': 'InnoCraft Ltd', 'purpose': 'audience',
     'description_fr': "Mesure d'audience des pages de l'organisation.",
     'description_en': "Audience measurement of the organisation's pages.",
     'data_fr': 'Adresse IP tronquée, pages vues, navigateur, identifiant de visite',
     'data_en': 'Truncated IP address, pages viewed, browser, visit identifier',
     'location': 'Germany', 'safeguard': 'eu',
     'cookies': [{'name': '_pk_id', 'lifetime': '13 months'},
                 {'name': '_pk_ses', 'lifetime': '30 minutes'}],
     'load_kind': 'script', 'load_url': 'https://cdn.matomo.cloud'},
    {'name': 'HubSpot', 'provider': 'HubSpot, Inc.', 'purpose': 'marketing',
     'description_fr': 'Gestion de la relation avec les contacts (CRM) et suivi des visites '
                       'pour le marketing.',
     'description_en': 'Contact relationship management (CRM) and visit tracking for '
                       'marketing.',
     'data_fr': 'Adresse IP, pages vues, identifiant de visite, adresse e-mail si saisie',
     'data_en': 'IP address, pages viewed, visit identifier, e-mail address if entered',
     'location': 'United States', 'safeguard': 'scc',
     'cookies': [{'name': 'hubspotutk', 'lifetime': '6 months'},
                 {'name': '__hstc', 'lifetime': '6 months'},
                 {'name': '__hssc', 'lifetime': '30 minutes'}],
     'load_kind': 'script', 'load_url': 'https://js.hs-scripts.com'},
]


def upgrade() -> None:
    op.create_table('third_party_services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('description_fr', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('data_fr', sa.Text(), nullable=False),
    sa.Column('data_en', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=100), nullable=False),
    sa.Column('safeguard', SAFEGUARD, nullable=False),
    sa.Column('cookies', sa.JSON(), nullable=False),
    sa.Column('load_kind', sa.String(length=10), nullable=False),
    sa.Column('load_url', sa.String(length=500), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_third_party_services'))
    )
    op.create_table('transfer_authorisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('service_version', sa.Integer(), nullable=False),
    sa.Column('service_name', sa.String(length=100), nullable=False),
    sa.Column('destination', sa.String(length=100), nullable=False),
    sa.Column('safeguard', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('account_email', sa.String(length=254), nullable=False),
    sa.Column('authorised_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_transfer_authorisations_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['third_party_services.id'], name=op.f('fk_transfer_authorisations_service_id_third_party_services'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_transfer_authorisations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_authorisations')),
    sa.UniqueConstraint('tenant_id', 'service_id', 'service_version', name=op.f('uq_transfer_authorisations_tenant_id_service_id_service_version'))
    )
    with op.batch_alter_table('transfer_authorisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_authorisations_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_authorisations_service_id'), ['service_id'], unique=False)
    op.create_table('register_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_register_versions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_versions'))
    )
    with op.batch_alter_table('register_versions', schema=None) as batch_op:
        batch_op.create_index('ix_register_versions_tenant_id_number', ['tenant_id', 'number'], unique=False)

    catalogue = sa.table('third_party_services', sa.column('cookies', sa.JSON()), *(
        sa.column(name) for name in (*CATALOGUE[0], 'version') if name != 'cookies'))
    op.bulk_insert(catalogue, [{**entry, 'version': 1} for entry in CATALOGUE])


def downgrade() -> None:
    with op.batch_alter_table('register_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_register_versions_tenant_id_number')
    op.drop_table('register_versions')
    with op.batch_alter_table('transfer_authorisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_authorisations_service_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_authorisations_account_id'))
    op.drop_table('transfer_authorisations')
    op.drop_table('third_party_services')
