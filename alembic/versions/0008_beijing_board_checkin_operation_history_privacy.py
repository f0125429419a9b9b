"""Beijing board, check-in operation ids, rank-history privacy

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:00:00.000000

- ``instruments.board`` may be ``beijing`` (Beijing Stock Exchange, ±30%).
- ``ledger_checkins.operation_id``: the operation id derived from the request's
  Idempotency-Key, committed with the check-in so a retry finds it (unique when set).
- ``users.rank_history_public``: whether other members may read the user's rank history
  (true for everyone already signed up).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOARDS = "board IN ('main', 'chinext', 'star', 'st', 'beijing')"
BOARDS_BEFORE = "board IN ('main', 'chinext', 'star', 'st')"


def _board_check(before: str, after: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_board_check(before, after)
        return
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_instruments_known_board'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_instruments_known_board'), after)


def _sqlite_board_check(before: str, after: str) -> None:
    """SQLite cannot alter a CHECK, and batch mode's copy-then-drop fails once bars reference
    the instruments (foreign keys are on and cannot be switched off inside the migration's
    transaction). So the rows are kept aside, the table is dropped with foreign-key checks
    deferred, created again with the new CHECK and refilled: putting the parent rows back
    settles the deferred checks, and the commit fails if anything were left dangling."""
    bind = op.get_bind()
    master = "SELECT sql FROM sqlite_master WHERE tbl_name = 'instruments' AND sql IS NOT NULL"
    table = bind.execute(sa.text(master + " AND type = 'table'")).scalar_one()
    indexes = bind.execute(sa.text(master + " AND type = 'index'")).scalars().all()
    if before not in table:
        raise RuntimeError(f"instruments: expected CHECK ({before}) in {table}")
    bind.execute(sa.text("CREATE TEMP TABLE instruments_0008 AS SELECT * FROM instruments"))
    bind.execute(sa.text("PRAGMA defer_foreign_keys = ON"))  # until this transaction ends
    bind.execute(sa.text("DROP TABLE instruments"))
    bind.execute(sa.text(table.replace(before, after)))
    for index in indexes:
        bind.execute(sa.text(index))
    bind.execute(sa.text("INSERT INTO instruments SELECT * FROM instruments_0008"))
    bind.execute(sa.text("DROP TABLE instruments_0008"))


def upgrade() -> None:
    _board_check(BOARDS_BEFORE, BOARDS)
    with op.batch_alter_table('ledger_checkins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('operation_id', sa.String(length=160), nullable=True))
        batch_op.create_index(batch_op.f('ix_ledger_checkins_operation_id'), ['operation_id'], unique=True)
    # Not in batch mode: on SQLite that would copy and drop ``users`` and cascade to its roles.
    op.add_column('users', sa.Column('rank_history_public', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    op.drop_column('users', 'rank_history_public')
    with op.batch_alter_table('ledger_checkins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_checkins_operation_id'))
        batch_op.drop_column('operation_id')
    _board_check(BOARDS, BOARDS_BEFORE)
