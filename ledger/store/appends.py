"""Writing one applied group: its balances, its transfers and the new chain head, in as few
round trips as each database allows.

On PostgreSQL that is one statement: the balances upserted and the transfers inserted in
data-modifying CTEs of the head's UPDATE, each fed by ``unnest`` over one array per column (a
fixed handful of parameters whatever the group's size, so the statement is prepared once and
no group runs into the 65,535-parameter limit). SQLite has no data-modifying CTEs, and no
network either, so there it is three statements (an upsert, an insert, an update), each an
executemany.

The caller holds the chain-head lock (``LedgerRepository.lock_head``), so nothing else writes
these rows meanwhile; the upsert only saves telling new balance rows from stored ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, text, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db import UtcDateTime
from ledger.model import AccountId, Asset, Balance, Transfer
from ledger.store.balances import BalanceRow, balance_values
from ledger.store.transfers import LedgerHeadRow, TransferRow, transfer_values

BalanceKey = tuple[AccountId, Asset]

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
)


def _unnest(prefix: str, columns: Sequence[tuple[str, str]]) -> str:
    arrays = ", ".join(f"CAST(:{prefix}{name} AS {kind})" for name, kind in columns)
    return f"SELECT * FROM unnest({arrays})"


_BALANCE_ARRAYS = (("account", "VARCHAR[]"), ("asset", "VARCHAR[]")) + tuple(
    (name, "BIGINT[]") for name in _BALANCE_TOTALS
)
_BALANCES_CTE = (
    "balances AS (INSERT INTO ledger_balances (account, asset, "
    + ", ".join(_BALANCE_TOTALS)
    + ") "
    + _unnest("b_", _BALANCE_ARRAYS)
    + " ON CONFLICT (account, asset) DO UPDATE SET "
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
_HEAD_UPDATE = "UPDATE ledger_head SET last_seq = :last_seq, last_hash = :last_hash WHERE id = 1"


def write_group(
    connection: Connection,
    balances: Mapping[BalanceKey, Balance],
    transfers: Sequence[Transfer],
    *,
    head: tuple[int, str],
) -> None:
    """Store ``balances`` (new values, rows or not), append ``transfers`` and move the chain
    head to ``head`` (last seq, last hash)."""
    if connection.dialect.name == "postgresql":
        _write_postgresql(connection, balances, transfers, head)
    else:
        _write_sqlite(connection, balances, transfers, head)


def _write_postgresql(
    connection: Connection,
    balances: Mapping[BalanceKey, Balance],
    transfers: Sequence[Transfer],
    head: tuple[int, str],
) -> None:
    ctes = [cte for cte, rows in ((_BALANCES_CTE, balances), (_TRANSFERS_CTE, transfers)) if rows]
    statement = ("WITH " + ", ".join(ctes) + " " if ctes else "") + _HEAD_UPDATE
    params: dict[str, Any] = {"last_seq": head[0], "last_hash": head[1]}
    if balances:
        params["b_account"] = [account for account, _ in balances]
        params["b_asset"] = [asset for _, asset in balances]
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
    head: tuple[int, str],
) -> None:
    if balances:
        upsert = sqlite.insert(BalanceRow)
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=[BalanceRow.account, BalanceRow.asset],
                set_={name: upsert.excluded[name] for name in _BALANCE_TOTALS},
            ),
            [
                {"account": account, "asset": asset, **balance_values(balance)}
                for (account, asset), balance in balances.items()
            ],
        )
    if transfers:
        values = [transfer_values(t) for t in transfers]
        for row in values:
            row["metadata"] = row.pop("meta")  # the column's name
        connection.execute(insert(TransferRow), values)
    connection.execute(
        update(LedgerHeadRow)
        .where(LedgerHeadRow.id == 1)
        .values(last_seq=bindparam("seq"), last_hash=bindparam("hash")),
        {"seq": head[0], "hash": head[1]},
    )
