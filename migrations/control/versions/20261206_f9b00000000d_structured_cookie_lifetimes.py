"""structured cookie lifetimes in the services catalogue

Revision ID: f9b00000000d
Revises: f9b00000000b
Create Date: 2026-12-06 05:40:00

As the tenants' consent services (tenant migration e7a00000000d): each catalogue cookie's free
text lifetime becomes {"name", "duration", "unit"} when it reads as one within 13 months; the
others stay as {"name", "text"} and the operators' catalogue page lists them to correct (an
entry with one cannot be enabled until then). Versions do not change: the facts are the same.
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from core.cookie_lifetimes import structure, unstructure

revision: str = 'f9b00000000d'
down_revision: str | None = 'f9b00000000b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rewrite(convert: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    entries = sa.table('third_party_services', sa.column('id', sa.Integer()),
                       sa.column('cookies', sa.JSON()))
    bind = op.get_bind()
    for entry_id, cookies in bind.execute(sa.select(entries.c.id, entries.c.cookies)).all():
        changed = [convert(cookie) for cookie in cookies or ()]
        if changed != (cookies or []):
            bind.execute(entries.update().where(entries.c.id == entry_id)
                         .values(cookies=changed))


def upgrade() -> None:
    _rewrite(structure)


def downgrade() -> None:
    _rewrite(unstructure)
