"""content review: the review policy action and content_reviews

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-03 12:00:00.000000

- ``content_policy``: ``near_duplicate_action`` and ``compliance_action`` may be ``review``
  (register, but hold the piece for an operator's decision before it is anchored).
- ``content_reviews``: one row per held piece: why (compliance, near-duplicate), its status
  (pending, approved, rejected) and the decision (who, when, why), decided once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0016'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS_BEFORE = "IN ('flag', 'block')"
ACTIONS = "IN ('flag', 'review', 'block')"
COLUMNS = ('near_duplicate_action', 'compliance_action')


def _policy_checks(before: str, after: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_policy_checks(before, after)
        return
    with op.batch_alter_table('content_policy', schema=None) as batch_op:
        for column in COLUMNS:
            name = batch_op.f(f'ck_content_policy_known_{column}')
            batch_op.drop_constraint(name, type_='check')
            batch_op.create_check_constraint(name, f"{column} {after}")


def _sqlite_policy_checks(before: str, after: str) -> None:
    """SQLite cannot alter a CHECK: the one-row table is copied aside, created again from its
    own CREATE TABLE with the new CHECKs, and refilled (nothing references it)."""
    bind = op.get_bind()
    table = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'content_policy'")
    ).scalar_one()
    for column in COLUMNS:
        if f"{column} {before}" not in table:
            raise RuntimeError(f"content_policy: expected CHECK ({column} {before}) in {table}")
        table = table.replace(f"{column} {before}", f"{column} {after}")
    bind.execute(sa.text("CREATE TEMP TABLE content_policy_0016 AS SELECT * FROM content_policy"))
    bind.execute(sa.text("DROP TABLE content_policy"))
    bind.execute(sa.text(table))
    bind.execute(sa.text("INSERT INTO content_policy SELECT * FROM content_policy_0016"))
    bind.execute(sa.text("DROP TABLE content_policy_0016"))


def upgrade() -> None:
    _policy_checks(ACTIONS_BEFORE, ACTIONS)
    op.create_table('content_reviews',
    sa.Column('content_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('for_compliance', sa.Boolean(), nullable=False),
    sa.Column('for_near_duplicate', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.String(length=1000), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_content_reviews_known_status')),
    sa.CheckConstraint('for_compliance OR for_near_duplicate', name=op.f('ck_content_reviews_has_reason')),
    sa.CheckConstraint(
        "(status = 'pending' AND decided_by IS NULL AND decided_at IS NULL"
        " AND decision_reason IS NULL) OR (status <> 'pending' AND decided_by IS NOT NULL"
        " AND decided_at IS NOT NULL AND decision_reason IS NOT NULL)",
        name=op.f('ck_content_reviews_decision_whole'),
    ),
    sa.ForeignKeyConstraint(['content_id'], ['content_registrations.id'], name=op.f('fk_content_reviews_content_id_content_registrations')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_content_reviews_decided_by_users')),
    sa.PrimaryKeyConstraint('content_id', name=op.f('pk_content_reviews'))
    )
    with op.batch_alter_table('content_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_content_reviews_status', ['status', 'content_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('content_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_content_reviews_status')
    op.drop_table('content_reviews')
    op.execute(
        "UPDATE content_policy SET near_duplicate_action = 'flag'"
        " WHERE near_duplicate_action = 'review'"
    )
    op.execute(
        "UPDATE content_policy SET compliance_action = 'flag' WHERE compliance_action = 'review'"
    )
    _policy_checks(ACTIONS, ACTIONS_BEFORE)
