"""corporate_actions (dividends, splits) and corporate_action_applications (once per account)

Revision ID: 0023
Revises: 0024
Create Date: 2026-12-03 15:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0023'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'corporate_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('symbol', sa.String(length=32), nullable=False),
        sa.Column('ex_date', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('cash_per_share', core.db.Amount(precision=20, scale=6), nullable=False),
        sa.Column('ratio_numerator', sa.Integer(), nullable=False),
        sa.Column('ratio_denominator', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('dividend', 'split')", name=op.f('ck_corporate_actions_known_kind')
        ),
        sa.CheckConstraint(
            'cash_per_share >= 0 AND ratio_numerator > 0 AND ratio_denominator > 0',
            name=op.f('ck_corporate_actions_positive_terms'),
        ),
        sa.ForeignKeyConstraint(
            ['symbol'], ['instruments.symbol'],
            name=op.f('fk_corporate_actions_symbol_instruments'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_corporate_actions')),
        sa.UniqueConstraint(
            'symbol', 'ex_date', 'kind', name=op.f('uq_corporate_actions_symbol_ex_date_kind')
        ),
    )
    op.create_index(
        'ix_corporate_actions_ex_date_symbol', 'corporate_actions', ['ex_date', 'symbol'],
        unique=False,
    )
    op.create_table(
        'corporate_action_applications',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('action_id', sa.Integer(), nullable=False),
        sa.Column('contest_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reference_price', core.db.Amount(precision=20, scale=6), nullable=False),
        sa.Column('whole_shares', sa.Boolean(), nullable=False),
        sa.Column('qty_before', core.db.Amount(precision=24, scale=9), nullable=False),
        sa.Column('qty_after', core.db.Amount(precision=24, scale=9), nullable=False),
        sa.Column('cash', core.db.Amount(precision=20, scale=2), nullable=False),
        sa.Column('released_cost', core.db.Amount(precision=20, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'], ['trading_accounts.id'],
            name=op.f('fk_corporate_action_applications_account_id_trading_accounts'),
        ),
        sa.ForeignKeyConstraint(
            ['action_id'], ['corporate_actions.id'],
            name=op.f('fk_corporate_action_applications_action_id_corporate_actions'),
        ),
        sa.ForeignKeyConstraint(
            ['contest_id'], ['contests.id'],
            name=op.f('fk_corporate_action_applications_contest_id_contests'),
        ),
        sa.PrimaryKeyConstraint(
            'account_id', 'action_id', name=op.f('pk_corporate_action_applications')
        ),
    )
    op.create_index(
        'ix_corporate_action_applications_contest_day', 'corporate_action_applications',
        ['contest_id', 'day'], unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        'ix_corporate_action_applications_contest_day',
        table_name='corporate_action_applications',
    )
    op.drop_table('corporate_action_applications')
    op.drop_index('ix_corporate_actions_ex_date_symbol', table_name='corporate_actions')
    op.drop_table('corporate_actions')
