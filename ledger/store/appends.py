"""Writing one applied group: its balance rows, its transfers and the new heads of the shard
chains it joined, in as few round trips as each database allows.

On PostgreSQL that is one statement: the balances upserted and the transfers inserted in
data-modifying CTEs of the heads' UPDATE, each table's rows bound as one JSON array and turned
into rows by ``json_populate_recordset`` (three parameters whatever the group's size, so the
statement is prepared once and no group runs into the 65,535-parameter limit; and encoded by
``json``'s C encoder, where an array per column was quoted element by element in Python, a
fifth of a 1,000-transfer batch's time). SQLite has no data-modifying CTEs, and no
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
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Connection, TextClause, bindparam, insert, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from core.clock import as_utc
from ledger.model import Balance, Transfer
from ledger.shards import StripeKey
from ledger.store.balances import BalanceRow, balance_values
from ledger.store.transfers import ShardHeadRow, TransferRow, transfer_values

BalanceKey = StripeKey
ShardHeads = Mapping[int, tuple[int, str]]  # shard → (shard_seq, hash) of its last transfer

_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: ``json.dumps`` makes one per call

_BALANCE_TOTALS = tuple(balance_values(Balance()))
_TRANSFER_COLUMNS: tuple[tuple[str, str], ...] = (  # (column, its type in the JSON rows)
    ("seq", "BIGINT"),
    ("id", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("debit_account", "VARCHAR"),
    ("credit_account", "VARCHAR"),
    ("asset", "VARCHAR"),
    ("amount", "BIGINT"),
    ("reason", "VARCHAR"),
    ("reference", "VARCHAR"),
    ("metadata", "TEXT"),  # JSON text in a JSON string: cast to ``json`` as it was encoded
    ("pending_id", "VARCHAR"),
    ("timeout_seconds", "INTEGER"),
    ("timeout_at", "TIMESTAMPTZ"),
    ("reversal_of", "VARCHAR"),
    ("created_at", "TIMESTAMPTZ"),
    ("prev_hash", "VARCHAR"),
    ("hash", "VARCHAR"),
    ("shard", "INTEGER"),
    ("shard_seq", "BIGINT"),
)


def _rows(table: str, parameter: str) -> str:
    """The rows of ``table`` in the JSON array bound as ``parameter`` (objects keyed by column)."""
    return f"json_populate_recordset(NULL::{table}, CAST(:{parameter} AS JSON))"


_BALANCES_CTE = (
    "balances AS (INSERT INTO ledger_balances (account, asset, stripe, "
    + ", ".join(_BALANCE_TOTALS)
    + ") SELECT account, asset, stripe, "
    + ", ".join(_BALANCE_TOTALS)
    + " FROM "
    + _rows("ledger_balances", "balances")
    + " ON CONFLICT (account, asset, stripe) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _BALANCE_TOTALS)
    + ")"
)
# The transfers by an explicit record type, not the table's row type: a ``json`` column of a
# recordset is parsed, and PostgreSQL's parser refuses the ``\u0000`` escape the ``json``
# type itself keeps, so the metadata comes as text and is cast.
_TRANSFERS_CTE = (
    "transfers AS (INSERT INTO ledger_transfers ("
    + ", ".join(name for name, _ in _TRANSFER_COLUMNS)
    + ") SELECT "
    + ", ".join(
        "CAST(metadata AS JSON)" if name == "metadata" else name for name, _ in _TRANSFER_COLUMNS
    )
    + " FROM json_to_recordset(CAST(:transfers AS JSON)) AS t("
    + ", ".join(f"{name} {kind}" for name, kind in _TRANSFER_COLUMNS)
    + "))"
)
_HEADS_UPDATE = (
    "UPDATE ledger_heads SET last_seq = moved.last_seq, last_hash = moved.last_hash FROM "
    + _rows("ledger_heads", "heads")
    + " AS moved WHERE ledger_heads.shard = moved.shard"
)


@cache
def _statement(balances: bool, transfers: bool) -> TextClause:
    """The one write statement, with the CTEs of what there is to write (built once each)."""
    parts = ((_BALANCES_CTE, balances), (_TRANSFERS_CTE, transfers))
    ctes = [cte for cte, wanted in parts if wanted]
    return text(("WITH " + ", ".join(ctes) + " " if ctes else "") + _HEADS_UPDATE)


def write_group(
    connection: Connection,
    balances: Mapping[BalanceKey, Balance],
    transfers: Sequence[Transfer],
    *,
    heads: ShardHeads,
    commit: bool = False,
) -> None:
    """Store ``balances`` (new values, rows or not), append ``transfers`` and move the shard
    heads to ``heads`` (shard → its last shard_seq and hash).

    ``commit``: the write is the transaction's last statement, and on PostgreSQL (psycopg)
    its COMMIT is sent with it, in one pipeline: one round trip where the caller's commit
    would be a second. The caller's commit then sends nothing (the driver sees no open
    transaction); should the write fail, the error is raised here and nothing is committed."""
    if connection.dialect.name == "postgresql":
        _write_postgresql(connection, balances, transfers, heads, commit=commit)
    else:
        _write_sqlite(connection, balances, transfers, heads)


def _write_postgresql(
    connection: Connection,
    balances: Mapping[BalanceKey, Balance],
    transfers: Sequence[Transfer],
    heads: ShardHeads,
    *,
    commit: bool,
) -> None:
    """Each table's rows as one JSON array of objects keyed by column."""
    params = {
        "heads": _JSON.encode(
            [{"shard": s, "last_seq": seq, "last_hash": hash_} for s, (seq, hash_) in heads.items()]
        )
    }
    if balances:
        params["balances"] = _JSON.encode(
            [
                {
                    "account": account,
                    "asset": asset,
                    "stripe": stripe,
                    "debits_posted": balance.debits_posted,
                    "credits_posted": balance.credits_posted,
                    "debits_pending": balance.debits_pending,
                    "credits_pending": balance.credits_pending,
                }
                for (account, asset, stripe), balance in balances.items()
            ]
        )
    if transfers:
        params["transfers"] = _JSON.encode([_transfer_object(t) for t in transfers])
    statement = _statement(bool(balances), bool(transfers))
    driver = connection.connection.driver_connection
    if not commit or driver is None or connection.dialect.driver != "psycopg":
        connection.execute(statement, params)
        return
    # In a pipeline, psycopg sends each statement without waiting for its result; leaving the
    # pipeline waits for both. A failed write aborts the COMMIT, and its error is raised: by
    # SQLAlchemy's execute when the result came back meanwhile, else on leaving the pipeline,
    # as the driver's error, wrapped here as SQLAlchemy would (an ``IntegrityError`` …).
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        with driver.pipeline():
            connection.execute(statement, params)
            connection.exec_driver_sql("COMMIT")
    except dbapi_error as error:
        raise DBAPIError.instance(
            statement.text, params, error, dbapi_error, dialect=connection.dialect
        ) from error


@lru_cache(maxsize=1024)  # a group's transfers share their moment: formatted once
def _utc_text(moment: datetime) -> str:
    return as_utc(moment).isoformat()


def _transfer_object(t: Transfer) -> dict[str, Any]:
    """A transfer as a JSON object keyed by column, its moments as ISO text in UTC."""
    return {
        "seq": t.seq,
        "id": t.id,
        "kind": t.kind.value,
        "debit_account": t.debit,
        "credit_account": t.credit,
        "asset": t.asset,
        "amount": t.amount,
        "reason": t.reason,
        "reference": t.reference,
        "metadata": _JSON.encode(dict(t.metadata)),
        "pending_id": t.pending_id,
        "timeout_seconds": t.timeout_seconds,
        "timeout_at": None if t.timeout_at is None else _utc_text(t.timeout_at),
        "reversal_of": t.reversal_of,
        "created_at": _utc_text(t.created_at),
        "prev_hash": t.prev_hash,
        "hash": t.hash,
        "shard": t.shard,
        "shard_seq": t.shard_seq,
    }


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
