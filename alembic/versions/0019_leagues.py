"""weekly leagues: settings, members, weeks, cohorts, entries, payouts

Revision ID: 0019
Revises: 0021
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = '0019'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('league_weeks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('starts_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('opened_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finalized_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_league_weeks_window')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_league_weeks')),
    sa.UniqueConstraint('starts_at', name=op.f('uq_league_weeks_starts_at'))
    )
    op.create_table('league_cohorts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.CheckConstraint('tier BETWEEN 1 AND 10', name=op.f('ck_league_cohorts_tier_range')),
    sa.ForeignKeyConstraint(['week_id'], ['league_weeks.id'], name=op.f('fk_league_cohorts_week_id_league_weeks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_league_cohorts')),
    sa.UniqueConstraint('week_id', 'tier', 'number', name=op.f('uq_league_cohorts_week_id_tier_number'))
    )
    op.create_table('league_members',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('joined_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('tier BETWEEN 1 AND 10', name=op.f('ck_league_members_tier_range')),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_league_members_member_id_users')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_league_members'))
    )
    op.create_table('league_payouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('xp', sa.BigInteger(), nullable=False),
    sa.Column('award_id', sa.String(length=120), nullable=False),
    sa.Column('paid_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_league_payouts_member_id_users')),
    sa.ForeignKeyConstraint(['week_id'], ['league_weeks.id'], name=op.f('fk_league_payouts_week_id_league_weeks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_league_payouts')),
    sa.UniqueConstraint('award_id', name=op.f('uq_league_payouts_award_id')),
    sa.UniqueConstraint('week_id', 'member_id', name=op.f('uq_league_payouts_week_id_member_id'))
    )
    with op.batch_alter_table('league_payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_league_payouts_member_id'), ['member_id'], unique=False)

    op.create_table('league_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_league_settings_single_row')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_league_settings_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_league_settings'))
    )
    op.create_table('league_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('activity_band', sa.Integer(), nullable=False),
    sa.Column('utc_offset_minutes', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('score', core.db.Amount(precision=24, scale=6), nullable=True),
    sa.Column('zone', sa.String(length=16), nullable=True),
    sa.Column('next_tier', sa.Integer(), nullable=True),
    sa.CheckConstraint('tier BETWEEN 1 AND 10', name=op.f('ck_league_entries_tier_range')),
    sa.ForeignKeyConstraint(['cohort_id'], ['league_cohorts.id'], name=op.f('fk_league_entries_cohort_id_league_cohorts')),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_league_entries_member_id_users')),
    sa.ForeignKeyConstraint(['week_id'], ['league_weeks.id'], name=op.f('fk_league_entries_week_id_league_weeks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_league_entries')),
    sa.UniqueConstraint('week_id', 'member_id', name=op.f('uq_league_entries_week_id_member_id'))
    )
    with op.batch_alter_table('league_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_league_entries_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_league_entries_member_id'), ['member_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('league_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_league_entries_member_id'))
        batch_op.drop_index(batch_op.f('ix_league_entries_cohort_id'))

    op.drop_table('league_entries')
    op.drop_table('league_settings')
    with op.batch_alter_table('league_payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_league_payouts_member_id'))

    op.drop_table('league_payouts')
    op.drop_table('league_members')
    op.drop_table('league_cohorts')
    op.drop_table('league_weeks')
