"""contests: bar_interval (daily | minute), the intraday tick pointer and the feed-stale pause

Revision ID: 0025
Revises: 0019
Create Date: 2026-12-03 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0025'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('bar_interval', sa.String(length=8), nullable=False, server_default='daily')
        )
        batch_op.add_column(
            sa.Column('intraday_bar', core.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('feed_stale_since', core.db.UtcDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_column('feed_stale_since')
        batch_op.drop_column('intraday_bar')
        batch_op.drop_column('bar_interval')
