"""engagement: levels, earning rules, check-ins, tasks, referrals, catalog

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 09:48:06.397751
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_reward_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('cost_points', sa.BigInteger(), nullable=False),
    sa.Column('min_level', sa.Integer(), nullable=False),
    sa.Column('per_member_limit', sa.Integer(), nullable=True),
    sa.Column('valid_from', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('valid_until', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('needs_fulfilment', sa.Boolean(), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cost_points > 0', name=op.f('ck_ledger_reward_items_positive_cost')),
    sa.CheckConstraint('min_level >= 1', name=op.f('ck_ledger_reward_items_min_level_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_reward_items')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_reward_items_key'))
    )
    op.create_table('ledger_checkins',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.String(length=10), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('xp', sa.BigInteger(), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_ledger_checkins_member_id_users')),
    sa.PrimaryKeyConstraint('member_id', 'local_date', name=op.f('pk_ledger_checkins'))
    )
    op.create_table('ledger_earning_rules',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_ledger_earning_rules_created_by_users')),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_ledger_earning_rules'))
    )
    op.create_table('ledger_level_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('lifetime_xp', sa.BigInteger(), nullable=False),
    sa.Column('table_version', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.String(length=160), nullable=False),
    sa.Column('occurred_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_ledger_level_events_member_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_level_events'))
    )
    with op.batch_alter_table('ledger_level_events', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_level_events_member', ['member_id', 'level'], unique=False)

    op.create_table('ledger_level_tables',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_ledger_level_tables_created_by_users')),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_ledger_level_tables'))
    )
    op.create_table('ledger_redemptions',
    sa.Column('id', sa.String(length=160), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('cost_points', sa.BigInteger(), nullable=False),
    sa.Column('points_transfer_id', sa.String(length=160), nullable=False),
    sa.Column('stock_transfer_id', sa.String(length=160), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['ledger_reward_items.id'], name=op.f('fk_ledger_redemptions_item_id_ledger_reward_items')),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_ledger_redemptions_member_id_users')),
    sa.ForeignKeyConstraint(['points_transfer_id'], ['ledger_transfers.id'], name=op.f('fk_ledger_redemptions_points_transfer_id_ledger_transfers')),
    sa.ForeignKeyConstraint(['stock_transfer_id'], ['ledger_transfers.id'], name=op.f('fk_ledger_redemptions_stock_transfer_id_ledger_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_redemptions'))
    )
    with op.batch_alter_table('ledger_redemptions', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_redemptions_member_item', ['member_id', 'item_id'], unique=False)

    op.create_table('ledger_referrals',
    sa.Column('invitee_id', sa.Integer(), nullable=False),
    sa.Column('inviter_id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('invitee_id <> inviter_id', name=op.f('ck_ledger_referrals_no_self_referral')),
    sa.ForeignKeyConstraint(['invitee_id'], ['users.id'], name=op.f('fk_ledger_referrals_invitee_id_users')),
    sa.ForeignKeyConstraint(['inviter_id'], ['users.id'], name=op.f('fk_ledger_referrals_inviter_id_users')),
    sa.PrimaryKeyConstraint('invitee_id', name=op.f('pk_ledger_referrals'))
    )
    with op.batch_alter_table('ledger_referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_referrals_inviter_id'), ['inviter_id'], unique=False)

    op.create_table('ledger_task_completions',
    sa.Column('id', sa.String(length=160), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('task_key', sa.String(length=64), nullable=False),
    sa.Column('local_date', sa.String(length=10), nullable=False),
    sa.Column('iso_week', sa.String(length=8), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('xp', sa.BigInteger(), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_ledger_task_completions_member_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_task_completions'))
    )
    with op.batch_alter_table('ledger_task_completions', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_task_completions_member_task', ['member_id', 'task_key', 'local_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_task_completions', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_task_completions_member_task')

    op.drop_table('ledger_task_completions')
    with op.batch_alter_table('ledger_referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_referrals_inviter_id'))

    op.drop_table('ledger_referrals')
    with op.batch_alter_table('ledger_redemptions', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_redemptions_member_item')

    op.drop_table('ledger_redemptions')
    op.drop_table('ledger_level_tables')
    with op.batch_alter_table('ledger_level_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_level_events_member')

    op.drop_table('ledger_level_events')
    op.drop_table('ledger_earning_rules')
    op.drop_table('ledger_checkins')
    op.drop_table('ledger_reward_items')
