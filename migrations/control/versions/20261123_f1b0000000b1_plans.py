"""plans, subscriptions, Stripe events, invoices

Revision ID: f1b0000000b1
Revises: d93b212a4b38
Create Date: 2026-11-23 18:00:00

Reserved by the lead for the billing (issue 7) work (filled in by it; kept in the chain so parallel
work never forks the history).
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = 'f1b0000000b1'
down_revision: str | None = 'd93b212a4b38'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
