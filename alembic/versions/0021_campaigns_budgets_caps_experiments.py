"""campaigns: budgets, frequency caps, experiments, sticky assignments, member time zones

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('experiments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('variants', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_experiments_created_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments')),
    sa.UniqueConstraint('key', name=op.f('uq_experiments_key'))
    )
    op.create_table('member_time_zones',
    sa.Column('member_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('updated_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_member_time_zones_member_id_users')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_time_zones'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('item_key', sa.String(length=64), nullable=True),
    sa.Column('budget', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('reward', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('cap_count', sa.Integer(), nullable=True),
    sa.Column('cap_period', sa.String(length=8), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('experiment_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("cap_period IS NULL OR cap_period IN ('day', 'week')", name=op.f('ck_campaigns_cap_period')),
    sa.CheckConstraint("kind IN ('points', 'item')", name=op.f('ck_campaigns_kind')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_campaigns_window')),
    sa.CheckConstraint('remaining >= 0 AND remaining <= budget', name=op.f('ck_campaigns_remaining_in_budget')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_campaigns_created_by_users')),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_campaigns_experiment_id_experiments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    sa.UniqueConstraint('key', name=op.f('uq_campaigns_key'))
    )
    op.create_table('experiment_assignments',
    sa.Column('experiment_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('variant', sa.String(length=64), nullable=False),
    sa.Column('exposed_on', sa.String(length=10), nullable=False),
    sa.Column('assigned_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_experiment_assignments_experiment_id_experiments')),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_experiment_assignments_member_id_users')),
    sa.PrimaryKeyConstraint('experiment_id', 'member_id', name=op.f('pk_experiment_assignments'))
    )
    with op.batch_alter_table('experiment_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experiment_assignments_member_id'), ['member_id'], unique=False)

    op.create_table('campaign_grants',
    sa.Column('id', sa.String(length=160), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('variant', sa.String(length=64), nullable=True),
    sa.Column('local_period', sa.String(length=10), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_campaign_grants_positive_amount')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_grants_campaign_id_campaigns')),
    sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_campaign_grants_member_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_grants'))
    )
    with op.batch_alter_table('campaign_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_grants_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_campaign_grants_member_period', ['campaign_id', 'member_id', 'local_period'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('campaign_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_grants_member_period')
        batch_op.drop_index(batch_op.f('ix_campaign_grants_member_id'))

    op.drop_table('campaign_grants')
    with op.batch_alter_table('experiment_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experiment_assignments_member_id'))

    op.drop_table('experiment_assignments')
    op.drop_table('campaigns')
    op.drop_table('member_time_zones')
    op.drop_table('experiments')
