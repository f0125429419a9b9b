"""The reads of a ledger write in one statement: a ``UNION ALL`` of up to five parts (the
locked heads of the group's shards, the stored transfers it names, the ids of it that failed
before, the balance rows of its accounts, and the global seqs its transfers will take).

Each is a round trip of its own otherwise, and once the shard heads are locked they read the
same state whichever statement they come in. One row shape serves them all: a ``part`` tag,
then every transfer column, the failure code, and the balance columns; each part fills its own
and leaves typed NULLs elsewhere (typed, so PostgreSQL can match the parts' column types). The
seqs are ``nextval`` of the transfers' sequence on PostgreSQL, one per transfer in an array (no
lock: writers to other shards draw theirs meanwhile), and on SQLite, whose writers are serial, the
greatest seq stored, counted on from.

The seq rows come from ``unnest`` of an array of ``reserve`` slots, not ``generate_series(1,
:reserve)``: PostgreSQL cannot size a series whose bounds are parameters and guesses 1,000
rows (a fixed count is no help: SQLAlchemy binds it too), so the prepared statement's generic
plan costs more than a custom plan for one row plus its planning, and the plan cache replans
the whole four-part union on every execution (``pg_prepared_statements``: 0 generic plans, all
custom). An array parameter is guessed at 10 rows whatever its length, so the generic plan is
kept from the sixth execution on (``tests/integration/test_ledger_plans.py``).

The heads part takes the shard locks (``SELECT … ORDER BY shard FOR UPDATE`` in a CTE, so
ascending as ever), which saves the write its separate lock statement. In READ COMMITTED one
statement reads one snapshot, taken before the lock is granted: a row locked after a wait is
re-read at its newest version, but every other row the statement reads is as of the snapshot,
so it would miss what a writer holding the lock meanwhile committed. Every write to a shard
moves its head, so each locked head comes with the head as the snapshot saw it: where the two
differ (``Read.stale``) a writer got in between, and the caller reads again, in a statement
of its own under the locks now held (``LedgerRepository.lock_and_prefetch``). Uncontended, the
two agree and the write costs one read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    any_,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from ledger.model import AccountId, Balance, Transfer, TransferId
from ledger.shards import StripeKey
from ledger.store.balances import BalanceRow
from ledger.store.transfers import (
    TRANSFER_SEQ,
    FailedTransferRow,
    ShardHeadRow,
    TransferRow,
    transfer_columns,
    transfer_from,
)

BalanceKey = StripeKey
MAX_ACCOUNTS_AT_ONCE = 1000  # beyond it the balances are read apart, in chunks

_TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


@dataclass(frozen=True, slots=True)
class Prefetched:
    """What a group's checks read: transfers by id, failed ids' codes, balances (empty where
    no row is stored), the keys that have a row, and the global seqs reserved for the
    group's transfers."""

    transfers: dict[TransferId, Transfer]
    failures: dict[TransferId, str]
    balances: Mapping[BalanceKey, Balance] = field(default_factory=dict)
    stored: set[BalanceKey] = field(default_factory=set)
    seqs: tuple[int, ...] = ()
    stale: bool = False  # read with a lock that waited on a writer: to be read again


@dataclass(frozen=True, slots=True)
class Read:
    """What ``read_by_id`` found (see its docstring)."""

    transfers: dict[TransferId, Transfer]
    failures: dict[TransferId, str]
    balances: dict[BalanceKey, Balance]
    seqs: tuple[int, ...]
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)  # locked: (last_seq, hash)
    stale: bool = False  # a locked head moved after the statement's snapshot: read again


def read_by_id(
    session: Session,
    ids: Iterable[TransferId],
    *,
    also: Iterable[TransferId] = (),
    accounts: Collection[AccountId] = (),
    stripes: Collection[int] = (0,),
    reserve: int = 0,
    lock: Collection[int] = (),
) -> Read:
    """Stored transfers of ``ids`` and ``also``, failure codes of ``ids``, the stored balance
    rows of ``accounts`` on ``stripes`` (a system account has up to one per shard; a write
    reads those of its shards), ``reserve`` new global seqs and the heads of the shards
    ``lock``, locked until the transaction ends, in one statement. When ``stale`` comes back
    true, only the heads are to be trusted (see the module docstring)."""
    wanted = set(ids)
    named = wanted | set(also)
    read = Read({}, {}, {}, ())
    if not named and not accounts and not reserve and not lock:
        return read
    dialect = session.get_bind().dialect.name
    statement = _statement(bool(named), bool(accounts), bool(reserve), bool(lock), dialect)
    params = {
        "lock": sorted(lock),
        "named": list(named),
        "wanted": list(wanted),
        "accounts": sorted(accounts),
        "stripes": sorted(stripes),
        "slots": list(range(reserve)),  # one per seq (PostgreSQL)
    }
    seqs: list[int] = []
    stale = False
    for row in session.execute(statement, params):  # autoflushes: failures added meanwhile
        if row.part == "transfer":
            read.transfers[row.id] = transfer_from(row)
        elif row.part == "failed":
            read.failures[row.id] = row.failed_code
        elif row.part == "seq":
            seqs.extend(row.seqs if row.seqs is not None else [row.seq])
        elif row.part == "head":  # the locked head in shard, shard_seq, hash; seq: as seen
            read.heads[row.shard] = (row.shard_seq, row.hash)
            stale = stale or row.seq != row.shard_seq
        else:
            read.balances[(row.account, row.balance_asset, row.stripe)] = Balance(
                *(getattr(row, t) for t in _TOTALS)
            )
    if dialect != "postgresql" and reserve:  # one row: the greatest seq stored
        seqs = list(range(seqs[0] + 1, seqs[0] + 1 + reserve))
    if len(read.heads) != len(lock):  # the migration seeds them: a broken schema
        raise RuntimeError("ledger_heads rows missing: run `paperleague db upgrade`")
    return Read(
        read.transfers, read.failures, read.balances, tuple(sorted(seqs)), read.heads, stale
    )


@cache
def _statement(
    by_id: bool, balances: bool, seqs: bool, lock: bool, dialect: str
) -> Select[Any] | CompoundSelect:
    """The union for what is asked on ``dialect`` (built once per shape: building it costs
    more than the round trip it saves); ``seqs``: whether to reserve seqs, ``lock``: whether
    to lock heads (first, so the locks are taken before the seqs are drawn)."""
    parts = []
    if lock:
        parts.append(_heads_part(dialect))
    if by_id:
        parts.append(_by_id("transfer", TransferRow.id, "named", dialect))
        parts.append(_by_id("failed", FailedTransferRow.id, "wanted", dialect))
    if balances:
        parts.append(
            _part(
                "balance",
                _among(BalanceRow.account, "accounts", dialect)
                & _among(BalanceRow.stripe, "stripes", dialect),
            )
        )
    if seqs:
        parts.append(_seq_part(dialect))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def _by_id(part: str, column: InstrumentedAttribute[Any], name: str, dialect: str) -> Select[Any]:
    """The rows whose ``column`` is one of the ids bound as ``name``: on PostgreSQL a join with
    the ``unnest`` of the array, so each id is one index lookup. ``= ANY`` of an array that is a
    parameter (the generic plan's) is tested element by element against every row it scans:
    a batch of 1,000 took 100 ms to find none among 2,000 transfers, where a literal array
    (a custom plan's) is hashed."""
    if dialect != "postgresql":
        return _part(part, _among(column, name, dialect))
    ids = func.unnest(bindparam(name, type_=ARRAY(column.type))).table_valued("id")
    wanted = ids.render_derived(name=f"{name}_ids")
    return _part(part, true(), source=wanted.join(column.class_, column == wanted.c.id))


def _among(column: InstrumentedAttribute[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the list bound as ``name``: ``= ANY`` of one array on PostgreSQL,
    so the statement's text, and its prepared plan, are the same for a group of any size (an
    expanding ``IN`` is a new statement per length: a thousand parameters to bind, and
    parsed and planned afresh, for a group of a thousand); an expanding ``IN`` on SQLite."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def _heads_part(dialect: str) -> Select[Any]:
    """The heads of the shards bound as ``lock``, locked in ascending order (a CTE: a part of
    a union cannot lock), each with its ``last_seq`` as the statement's snapshot saw it.

    On PostgreSQL the array comes through a sub-select, which hides its length from the custom
    plans too: they would otherwise cost one shard's lock below the generic plan's guess of ten,
    and the statement would be replanned on every execution (see the module docstring)."""
    if dialect == "postgresql":
        array = select(bindparam("lock", type_=ARRAY(Integer))).scalar_subquery()
        shards = cast(array, ARRAY(Integer))  # ANY over an array, not over a sub-select
        wanted: ColumnElement[bool] = ShardHeadRow.shard == any_(shards)
    else:
        wanted = _among(ShardHeadRow.shard, "lock", dialect)
    locked = (
        select(ShardHeadRow.shard, ShardHeadRow.last_seq, ShardHeadRow.last_hash)
        .where(wanted)
        .order_by(ShardHeadRow.shard)
        .with_for_update()
        .cte("locked")
    )
    seen = ShardHeadRow.__table__.alias("seen")
    return _part(
        "head",
        true(),
        seq=seen.c.last_seq,
        source=locked.join(seen, locked.c.shard == seen.c.shard),
        chain=(locked.c.shard, locked.c.last_seq, locked.c.last_hash),
    )


def _seq_part(dialect: str) -> Select[Any]:
    """One row: an array of a ``nextval`` per slot (PostgreSQL; one row per seq would cost a
    1,000-transfer batch a thousand rows of every column to take apart), or the greatest seq
    (SQLite)."""
    if dialect == "postgresql":
        slots = bindparam("slots", type_=ARRAY(Integer))
        drawn = func.array_agg(TRANSFER_SEQ.next_value())
        source: Any = func.unnest(slots).table_valued("slot")
        return _part("seq", true(), seqs=drawn, source=source)
    highest = func.coalesce(func.max(TransferRow.seq), 0)
    return _part("seq", true(), seq=highest, source=TransferRow)


def _part(
    part: str,
    where: ColumnElement[bool],
    *,
    seq: ColumnElement[Any] | None = None,
    source: Any = None,
    chain: tuple[Any, Any, Any] | None = None,
    seqs: ColumnElement[Any] | None = None,
) -> Select[Any]:
    """One part's SELECT in the shared row shape (``seq`` and ``source``: the seq and head
    parts'; ``chain``: the head part's shard, shard_seq and hash; ``seqs``: the seq part's
    array, on PostgreSQL)."""
    columns: dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]]
    columns = {"part": literal(part, String)}
    for column in transfer_columns():
        own = part == "transfer" or (part == "failed" and column.key == "id")
        value = FailedTransferRow.id if part == "failed" else column
        columns[column.key] = value if own else cast(null(), column.type)
    if seq is not None:
        columns["seq"] = cast(seq, TransferRow.seq.type)
    if chain is not None:
        for name, value in zip(("shard", "shard_seq", "hash"), chain, strict=True):
            columns[name] = cast(value, getattr(TransferRow, name).type)
    seqs_type = ARRAY(TransferRow.seq.type).with_variant(String(), "sqlite")  # NULL there
    columns["seqs"] = cast(seqs if seqs is not None else null(), seqs_type)
    columns["failed_code"] = (
        FailedTransferRow.code if part == "failed" else cast(null(), FailedTransferRow.code.type)
    )
    balance_columns: dict[str, InstrumentedAttribute[Any]]
    balance_columns = {"account": BalanceRow.account, "balance_asset": BalanceRow.asset}
    balance_columns |= {"stripe": BalanceRow.stripe}
    balance_columns |= {total: getattr(BalanceRow, total) for total in _TOTALS}
    for name, column in balance_columns.items():
        columns[name] = column if part == "balance" else cast(null(), column.type)
    tables = {"transfer": TransferRow, "failed": FailedTransferRow, "balance": BalanceRow}
    table = source if source is not None else tables[part]
    return select(*(c.label(name) for name, c in columns.items())).select_from(table).where(where)
