"""ledger: append-only transfers (hash-chained), balances, chain head, failed ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 09:44:19.284541
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

GENESIS_HASH = "0" * 64
APPEND_ONLY_TABLES = ("ledger_transfers",)

PG_FUNCTION = """
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def _create_append_only_triggers() -> None:
    """Transfers are never updated or deleted, whatever client touches the database."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
            )
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
                )


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_balances',
    sa.Column('account', sa.String(length=96), nullable=False),
    sa.Column('asset', sa.String(length=80), nullable=False),
    sa.Column('debits_posted', sa.BigInteger(), nullable=False),
    sa.Column('credits_posted', sa.BigInteger(), nullable=False),
    sa.Column('debits_pending', sa.BigInteger(), nullable=False),
    sa.Column('credits_pending', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("account LIKE 'system:%' OR credits_posted - debits_posted - debits_pending >= 0", name=op.f('ck_ledger_balances_non_negative_unless_system')),
    sa.PrimaryKeyConstraint('account', 'asset', name=op.f('pk_ledger_balances'))
    )
    op.create_table('ledger_failed_transfers',
    sa.Column('id', sa.String(length=160), nullable=False),
    sa.Column('request_digest', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.String(length=512), nullable=False),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_failed_transfers'))
    )
    op.create_table('ledger_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_ledger_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_head'))
    )
    op.create_table('ledger_transfers',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('id', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('debit_account', sa.String(length=96), nullable=False),
    sa.Column('credit_account', sa.String(length=96), nullable=False),
    sa.Column('asset', sa.String(length=80), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('reference', sa.String(length=256), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('pending_id', sa.String(length=160), nullable=True),
    sa.Column('timeout_seconds', sa.Integer(), nullable=True),
    sa.Column('timeout_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reversal_of', sa.String(length=160), nullable=True),
    sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('posted', 'pending', 'post_pending', 'void_pending', 'expire_pending')", name=op.f('ck_ledger_transfers_known_kind')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_ledger_transfers_positive_amount')),
    sa.CheckConstraint('debit_account <> credit_account', name=op.f('ck_ledger_transfers_distinct_accounts')),
    sa.ForeignKeyConstraint(['pending_id'], ['ledger_transfers.id'], name=op.f('fk_ledger_transfers_pending_id_ledger_transfers')),
    sa.ForeignKeyConstraint(['reversal_of'], ['ledger_transfers.id'], name=op.f('fk_ledger_transfers_reversal_of_ledger_transfers')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_transfers')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_transfers_id')),
    sa.UniqueConstraint('pending_id', name=op.f('uq_ledger_transfers_pending_id')),
    sa.UniqueConstraint('reversal_of', name=op.f('uq_ledger_transfers_reversal_of'))
    )
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transfers_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_ledger_transfers_credit', ['credit_account', 'asset', 'seq'], unique=False)
        batch_op.create_index('ix_ledger_transfers_debit', ['debit_account', 'asset', 'seq'], unique=False)
    head = sa.table("ledger_head", sa.column("id"), sa.column("last_seq"), sa.column("last_hash"))
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}])
    _create_append_only_triggers()



def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transfers_debit')
        batch_op.drop_index('ix_ledger_transfers_credit')
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_created_at'))

    op.drop_table('ledger_transfers')
    op.drop_table('ledger_head')
    op.drop_table('ledger_failed_transfers')
    op.drop_table('ledger_balances')
