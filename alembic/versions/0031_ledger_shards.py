"""ledger_shards: one hash chain per shard of accounts, striped system balances, sealed roots

Existing transfers stay as they are: the legacy global chain (shard NULL), still verified the
old way, its head frozen in ``ledger_head``. Each shard chain's genesis hash is derived from
that head (``ledger.shards.shard_genesis``), so no row is rewritten (transfers are append-only)
and the whole history stays one tamper-evident structure. Existing balance rows become stripe
0. On PostgreSQL the global seq comes from a sequence from now on, started after the greatest
seq stored.

Downgrade refuses once a sharded transfer exists: the single chain cannot take them back.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

import core.db
from alembic import op
from core.hashchain import chain_hash

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEDGER_SHARDS = 16  # as in ledger.shards, frozen here: the schema records it
GENESIS_HASH = "0" * 64
TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
NON_NEGATIVE = "account LIKE 'system:%' OR credits_posted - debits_posted - debits_pending >= 0"


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "ledger_heads",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            f"shard >= 0 AND shard < {LEDGER_SHARDS}", name=op.f("ck_ledger_heads_known_shard")
        ),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_ledger_heads")),
    )
    legacy = bind.execute(sa.text("SELECT last_hash FROM ledger_head WHERE id = 1")).scalar()
    heads = sa.table(
        "ledger_heads", sa.column("shard"), sa.column("last_seq"), sa.column("last_hash")
    )
    op.bulk_insert(
        heads,
        [
            {
                "shard": s,
                "last_seq": 0,
                "last_hash": chain_hash(legacy or GENESIS_HASH, ["shard", s]),
            }
            for s in range(LEDGER_SHARDS)
        ],
    )
    op.create_table(
        "ledger_roots",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("heads", sa.JSON(), nullable=False),
        sa.Column("prev_root", sa.String(length=64), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_roots")),
    )
    op.add_column("ledger_transfers", sa.Column("shard", sa.Integer(), nullable=True))
    op.add_column("ledger_transfers", sa.Column("shard_seq", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_ledger_transfers_shard_chain", "ledger_transfers", ["shard", "shard_seq"], unique=True
    )
    _rekey_balances(("account", "asset", "stripe"))
    if bind.dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE ledger_transfers_seq OWNED BY ledger_transfers.seq")
        op.execute(
            "SELECT setval('ledger_transfers_seq', max(seq)) FROM ledger_transfers"
            " HAVING count(*) > 0"
        )


def downgrade() -> None:
    bind = op.get_bind()
    sharded = bind.execute(
        sa.text("SELECT count(*) FROM ledger_transfers WHERE shard IS NOT NULL")
    ).scalar()
    if sharded:
        raise RuntimeError(
            f"{sharded} transfers are on shard chains: the single chain of 0030 cannot hold them"
        )
    if bind.dialect.name == "postgresql":
        op.execute("DROP SEQUENCE ledger_transfers_seq")
    _rekey_balances(("account", "asset"))
    op.drop_index("ix_ledger_transfers_shard_chain", table_name="ledger_transfers")
    # Plain ALTERs: a batch rebuild would drop the append-only triggers with the table.
    op.execute("ALTER TABLE ledger_transfers DROP COLUMN shard_seq")
    op.execute("ALTER TABLE ledger_transfers DROP COLUMN shard")
    op.drop_table("ledger_roots")
    op.drop_table("ledger_heads")


def _rekey_balances(key: tuple[str, ...]) -> None:
    """``ledger_balances`` keyed by ``key``, with a ``stripe`` column iff the key has one
    (existing rows: stripe 0). PostgreSQL alters the key in place; SQLite, which cannot,
    copies the rows into a new table."""
    striped = "stripe" in key
    if op.get_bind().dialect.name == "postgresql":
        if striped:
            op.add_column(
                "ledger_balances",
                sa.Column("stripe", sa.Integer(), nullable=False, server_default="0"),
            )
            op.alter_column("ledger_balances", "stripe", server_default=None)
        op.drop_constraint("pk_ledger_balances", "ledger_balances", type_="primary")
        if not striped:
            op.drop_column("ledger_balances", "stripe")
        op.create_primary_key("pk_ledger_balances", "ledger_balances", list(key))
        return
    stripe = [sa.Column("stripe", sa.Integer(), autoincrement=False, nullable=False)]
    op.create_table(
        "ledger_balances_rekeyed",
        sa.Column("account", sa.String(length=96), nullable=False),
        sa.Column("asset", sa.String(length=80), nullable=False),
        *(stripe if striped else []),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in TOTALS),
        sa.CheckConstraint(
            NON_NEGATIVE, name=op.f("ck_ledger_balances_non_negative_unless_system")
        ),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_ledger_balances")),
    )
    into = ", ".join(("account", "asset", *(["stripe"] if striped else []), *TOTALS))
    values = ", ".join(("account", "asset", *(["0"] if striped else []), *TOTALS))
    op.execute(f"INSERT INTO ledger_balances_rekeyed ({into}) SELECT {values} FROM ledger_balances")
    op.drop_table("ledger_balances")
    op.rename_table("ledger_balances_rekeyed", "ledger_balances")
