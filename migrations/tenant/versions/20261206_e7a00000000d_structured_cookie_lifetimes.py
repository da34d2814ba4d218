"""structured cookie lifetimes (a number and a unit, at most 13 months)

Revision ID: e7a00000000d
Revises: e7a00000000c
Create Date: 2026-12-06 05:40:00

Each cookie a consent service declares had its lifetime as free text ({"name", "lifetime":
"13 mois"}). Texts that read as a lifetime within 13 months ("13 mois", "1 year", "30 days",
"session"…) become {"name", "duration", "unit"}; the others ("2 ans", "persistent") are kept
as {"name", "text"}: the consent admin page lists them for the admin to correct
(core/cookie_lifetimes.py; PRODUCT.md, "Cookie consent"). Nothing else changes: the banner's
version and hash stay until the admin's next change.
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.cookie_lifetimes import structure, unstructure

revision: str = 'e7a00000000d'
down_revision: str | None = 'e7a00000000c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _rewrite(convert: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    services = sa.table('consent_services', sa.column('id', sa.Integer()),
                        sa.column('cookies', JSON))
    bind = op.get_bind()
    for service_id, cookies in bind.execute(sa.select(services.c.id, services.c.cookies)).all():
        changed = [convert(cookie) for cookie in cookies or ()]
        if changed != (cookies or []):
            bind.execute(services.update().where(services.c.id == service_id)
                         .values(cookies=changed))


def upgrade() -> None:
    _rewrite(structure)


def downgrade() -> None:
    _rewrite(unstructure)
