"""minute_bars: stored minute bars (symbol + start unique), their exchange-local day

Revision ID: 0022
Revises: 0018
Create Date: 2026-12-03 14:51:05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0022'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('minute_bars',
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('start', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('open', core.db.Amount(precision=20, scale=6), nullable=False),
    sa.Column('high', core.db.Amount(precision=20, scale=6), nullable=False),
    sa.Column('low', core.db.Amount(precision=20, scale=6), nullable=False),
    sa.Column('close', core.db.Amount(precision=20, scale=6), nullable=False),
    sa.Column('volume', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.CheckConstraint('low <= open AND low <= close AND high >= open AND high >= close', name=op.f('ck_minute_bars_high_low')),
    sa.CheckConstraint('low > 0', name=op.f('ck_minute_bars_positive_low')),
    sa.CheckConstraint('volume >= 0', name=op.f('ck_minute_bars_non_negative_volume')),
    sa.ForeignKeyConstraint(['symbol'], ['instruments.symbol'], name=op.f('fk_minute_bars_symbol_instruments')),
    sa.PrimaryKeyConstraint('symbol', 'start', name=op.f('pk_minute_bars'))
    )
    with op.batch_alter_table('minute_bars', schema=None) as batch_op:
        batch_op.create_index('ix_minute_bars_day_symbol', ['day', 'symbol'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('minute_bars', schema=None) as batch_op:
        batch_op.drop_index('ix_minute_bars_day_symbol')

    op.drop_table('minute_bars')
