"""The reads of a ledger write in one statement: a ``UNION ALL`` of three parts (the stored
transfers a group names, the ids of it that failed before, the balances of its accounts).

Each is a round trip of its own otherwise, and once the chain-head lock is held they read the
same state whichever statement they come in. One row shape serves the three: a ``part`` tag,
then every transfer column, the failure code, and the balance columns; each part fills its own
and leaves typed NULLs elsewhere (typed, so PostgreSQL can match the parts' column types).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    bindparam,
    cast,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from ledger.model import AccountId, Asset, Balance, Transfer, TransferId
from ledger.store.balances import BalanceRow
from ledger.store.transfers import FailedTransferRow, TransferRow, transfer_columns, transfer_from

BalanceKey = tuple[AccountId, Asset]
MAX_ACCOUNTS_AT_ONCE = 1000  # beyond it the balances are read apart, in chunks

_TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


@dataclass(frozen=True, slots=True)
class Prefetched:
    """What a group's checks read: transfers by id, failed ids' codes, balances (empty where
    no row is stored) and the keys that have a row."""

    transfers: dict[TransferId, Transfer]
    failures: dict[TransferId, str]
    balances: Mapping[BalanceKey, Balance] = field(default_factory=dict)
    stored: set[BalanceKey] = field(default_factory=set)


def read_by_id(
    session: Session,
    ids: Iterable[TransferId],
    *,
    also: Iterable[TransferId] = (),
    accounts: Collection[AccountId] = (),
) -> tuple[dict[TransferId, Transfer], dict[TransferId, str], dict[BalanceKey, Balance]]:
    """Stored transfers of ``ids`` and ``also``, failure codes of ``ids``, and every stored
    balance of ``accounts``, in one statement."""
    wanted = set(ids)
    named = wanted | set(also)
    transfers: dict[TransferId, Transfer] = {}
    failures: dict[TransferId, str] = {}
    balances: dict[BalanceKey, Balance] = {}
    if not named and not accounts:
        return transfers, failures, balances
    statement = _statement(bool(named), bool(accounts))
    params = {"named": list(named), "wanted": list(wanted), "accounts": sorted(accounts)}
    for row in session.execute(statement, params):
        if row.part == "transfer":
            transfers[row.id] = transfer_from(row)
        elif row.part == "failed":
            failures[row.id] = row.failed_code
        else:
            balances[(row.account, row.balance_asset)] = Balance(
                *(getattr(row, t) for t in _TOTALS)
            )
    return transfers, failures, balances


@cache
def _statement(by_id: bool, balances: bool) -> Select[Any] | CompoundSelect:
    """The union for what is asked (built once per shape: building it costs more than the
    round trip it saves); its lists bind as expanding parameters."""
    parts = []
    if by_id:
        parts.append(_part("transfer", TransferRow.id.in_(bindparam("named", expanding=True))))
        parts.append(_part("failed", FailedTransferRow.id.in_(bindparam("wanted", expanding=True))))
    if balances:
        parts.append(
            _part("balance", BalanceRow.account.in_(bindparam("accounts", expanding=True)))
        )
    return parts[0] if len(parts) == 1 else union_all(*parts)


def _part(part: str, where: ColumnElement[bool]) -> Select[Any]:
    """One part's SELECT in the shared row shape."""
    columns: dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]]
    columns = {"part": literal(part, String)}
    for column in transfer_columns():
        own = part == "transfer" or (part == "failed" and column.key == "id")
        source = FailedTransferRow.id if part == "failed" else column
        columns[column.key] = source if own else cast(null(), column.type)
    columns["failed_code"] = (
        FailedTransferRow.code if part == "failed" else cast(null(), FailedTransferRow.code.type)
    )
    balance_columns: dict[str, InstrumentedAttribute[Any]]
    balance_columns = {"account": BalanceRow.account, "balance_asset": BalanceRow.asset}
    balance_columns |= {total: getattr(BalanceRow, total) for total in _TOTALS}
    for name, column in balance_columns.items():
        columns[name] = column if part == "balance" else cast(null(), column.type)
    table = {"transfer": TransferRow, "failed": FailedTransferRow, "balance": BalanceRow}[part]
    return select(*(c.label(name) for name, c in columns.items())).select_from(table).where(where)
