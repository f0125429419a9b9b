"""Writing one applied group: its balance rows, its transfers and the new heads of the shard
chains it joined, in as few round trips as each database allows.

On PostgreSQL that is one statement: the balances upserted and the transfers inserted in
data-modifying CTEs of the heads' UPDATE, each fed by ``unnest`` over one array per column (a
fixed handful of parameters whatever the group's size, so the statement is prepared once and
no group runs into the 65,535-parameter limit). SQLite has no data-modifying CTEs, and no
network either, so there it is three statements (an upsert, an insert, an update), each an
executemany.

The caller holds the locks of those shards' heads (``LedgerRepository.lock_accounts``), so
nothing else writes these rows meanwhile: a member account's row belongs to its shard, and a
system account's row written here is the stripe of a locked shard. The upsert only saves
telling new balance rows from stored ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db import UtcDateTime
from ledger.model import Balance, Transfer
from ledger.shards import StripeKey
from ledger.store.balances import BalanceRow, balance_values
from ledger.store.transfers import ShardHeadRow, TransferRow, transfer_values

BalanceKey = StripeKey
ShardHeads = Mapping[int, tuple[int, str]]  # shard → (shard_seq, hash) of its last transfer

_UTC = UtcDateTime()
_POSTGRESQL = postgresql.dialect()

_BALANCE_TOTALS = tuple(balance_values(Balance()))
_TRANSFER_COLUMNS: tuple[tuple[str, str], ...] = (  # (column, its PostgreSQL array type)
    ("seq", "BIGINT[]"),
    ("id", "VARCHAR[]"),
    ("kind", "VARCHAR[]"),
    ("debit_account", "VARCHAR[]"),
    ("credit_account", "VARCHAR[]"),
    ("asset", "VARCHAR[]"),
    ("amount", "BIGINT[]"),
    ("reason", "VARCHAR[]"),
    ("reference", "VARCHAR[]"),
    ("metadata", "JSON[]"),
    ("pending_id", "VARCHAR[]"),
    ("timeout_seconds", "INTEGER[]"),
    ("timeout_at", "TIMESTAMPTZ[]"),
    ("reversal_of", "VARCHAR[]"),
    ("created_at", "TIMESTAMPTZ[]"),
    ("prev_hash", "VARCHAR[]"),
    ("hash", "VARCHAR[]"),
    ("shard", "INTEGER[]"),
    ("shard_seq", "BIGINT[]"),
)


def _unnest(prefix: str, columns: Sequence[tuple[str, str]]) -> str:
    arrays = ", ".join(f"CAST(:{prefix}{name} AS {kind})" for name, kind in columns)
    return f"SELECT * FROM unnest({arrays})"


_BALANCE_ARRAYS = (
    ("account", "VARCHAR[]"),
    ("asset", "VARCHAR[]"),
    ("stripe", "INTEGER[]"),
) + tuple((name, "BIGINT[]") for name in _BALANCE_TOTALS)
_BALANCES_CTE = (
    "balances AS (INSERT INTO ledger_balances (account, asset, stripe, "
    + ", ".join(_BALANCE_TOTALS)
    + ") "
    + _unnest("b_", _BALANCE_ARRAYS)
    + " ON CONFLICT (account, asset, stripe) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _BALANCE_TOTALS)
    + ")"
)
_TRANSFERS_CTE = (
    "transfers AS (INSERT INTO ledger_transfers ("
    + ", ".join(name for name, _ in _TRANSFER_COLUMNS)
    + ") "
    + _unnest("t_", _TRANSFER_COLUMNS)
    + ")"
)
_HEADS_UPDATE = (
    "UPDATE ledger_heads SET last_seq = moved.last_seq, last_hash = moved.last_hash FROM "
    "unnest(CAST(:h_shard AS INTEGER[]), CAST(:h_seq AS BIGINT[]), CAST(:h_hash AS VARCHAR[]))"
    " AS moved (shard, last_seq, last_hash) WHERE ledger_heads.shard = moved.shard"
)


def write_group(
    connection: Connection,
    balances: Mapping[BalanceKey, Balance],
    transfers: Sequence[Transfer],
    *,
    heads: ShardHeads,
) -> None:
    """Store ``balances`` (new values, rows or not), append ``transfers`` and move the shard
    heads to ``heads`` (shard → its last shard_seq and hash)."""
    if connection.dialect.name == "postgresql":
        _write_postgresql(connection, balances, transfers, heads)
    else:
        _write_sqlite(connection, balances, transfers, heads)


def _write_postgresql(
    connection: Connection,
    balances: Mapping[BalanceKey, Balance],
    transfers: Sequence[Transfer],
    heads: ShardHeads,
) -> None:
    ctes = [cte for cte, rows in ((_BALANCES_CTE, balances), (_TRANSFERS_CTE, transfers)) if rows]
    statement = ("WITH " + ", ".join(ctes) + " " if ctes else "") + _HEADS_UPDATE
    params: dict[str, Any] = {
        "h_shard": list(heads),
        "h_seq": [seq for seq, _ in heads.values()],
        "h_hash": [hash_ for _, hash_ in heads.values()],
    }
    if balances:
        params["b_account"] = [account for account, _, _ in balances]
        params["b_asset"] = [asset for _, asset, _ in balances]
        params["b_stripe"] = [stripe for _, _, stripe in balances]
        for name in _BALANCE_TOTALS:
            params[f"b_{name}"] = [getattr(balance, name) for balance in balances.values()]
    if transfers:
        rows = [_column_values(t) for t in transfers]
        for name, _ in _TRANSFER_COLUMNS:
            params[f"t_{name}"] = [row[name] for row in rows]
    connection.execute(text(statement), params)


def _column_values(transfer: Transfer) -> dict[str, Any]:
    """A transfer by column name, its metadata as JSON text (cast to ``json`` in the array)."""
    values = transfer_values(transfer)
    values["metadata"] = json.dumps(values.pop("meta"))
    for name in ("created_at", "timeout_at"):  # what ``UtcDateTime`` does for ORM binds
        values[name] = _UTC.process_bind_param(values[name], _POSTGRESQL)
    return values


def _write_sqlite(
    connection: Connection,
    balances: Mapping[BalanceKey, Balance],
    transfers: Sequence[Transfer],
    heads: ShardHeads,
) -> None:
    if balances:
        upsert = sqlite.insert(BalanceRow)
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=[BalanceRow.account, BalanceRow.asset, BalanceRow.stripe],
                set_={name: upsert.excluded[name] for name in _BALANCE_TOTALS},
            ),
            [
                {"account": account, "asset": asset, "stripe": stripe, **balance_values(balance)}
                for (account, asset, stripe), balance in balances.items()
            ],
        )
    if transfers:
        values = [transfer_values(t) for t in transfers]
        for row in values:
            row["metadata"] = row.pop("meta")  # the column's name
        connection.execute(insert(TransferRow), values)
    connection.execute(
        update(ShardHeadRow)
        .where(ShardHeadRow.shard == bindparam("moved_shard"))
        .values(last_seq=bindparam("seq"), last_hash=bindparam("hash")),
        [{"moved_shard": s, "seq": seq, "hash": hash_} for s, (seq, hash_) in heads.items()],
    )
