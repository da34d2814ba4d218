"""one-row tables stored: every tenant has its settings row and its cookie banner row

Revision ID: e8b00000b001
Revises: e8c00000c001
Create Date: 2026-12-06 07:45:00

Issue 18, item 3: the rows every page reads exist from provisioning, so no first read of a
page inserts them. Tenants provisioned before provisioning made them get them here, with the
defaults provisioning gives (tenants/settings/services.defaults, tenants/consent/banner.get_row).
A tenant that has them already is left as it is. The downgrade removes nothing: the rows are
the tenant's settings, valid at every earlier revision. A stored settings row gets a random
configuration version of its own, as e8c00000c001 gave every row (0 would mean "unknown").
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e8b00000b001'
down_revision: str | None = 'e8c00000c001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# The columns as they are at this revision (updated_at and timezone: server defaults).
settings = sa.table(
    'settings', sa.column('id', sa.Integer), sa.column('languages', JSON),
    sa.column('max_visibility', sa.String), sa.column('ratings_raters', sa.String),
    sa.column('ratings_window_days', sa.Integer), sa.column('ratings_edit_days', sa.Integer),
    sa.column('ratings_autopublish_stars', sa.Boolean),
    sa.column('ratings_premoderate_comments', sa.Boolean),
    sa.column('ratings_visibility', sa.String), sa.column('ratings_order', sa.String),
    sa.column('config_version', sa.BigInteger))
consent_config = sa.table(
    'consent_config', sa.column('id', sa.Integer), sa.column('texts', JSON),
    sa.column('lifetime_months', sa.Integer), sa.column('retention_years', sa.Integer),
    sa.column('link_participant', sa.Boolean), sa.column('version', sa.Integer),
    sa.column('texts_hash', sa.String))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.select(settings.c.id).limit(1)).first() is None:
        op.execute(settings.insert().values(
            id=1, languages=['fr', 'en'], max_visibility='participants',
            ratings_raters='attended', ratings_window_days=30, ratings_edit_days=30,
            ratings_autopublish_stars=True, ratings_premoderate_comments=True,
            ratings_visibility='public', ratings_order='newest',
            config_version=secrets.randbits(62) + 1))
    if bind.execute(sa.select(consent_config.c.id).limit(1)).first() is None:
        op.execute(consent_config.insert().values(
            id=1, texts={}, lifetime_months=13, retention_years=5, link_participant=False,
            version=1, texts_hash=''))


def downgrade() -> None:
    pass
