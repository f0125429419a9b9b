"""The ledger's repository: transfers and balances, read and written under shard-head locks.

Every ledger write first locks the heads of the shards its accounts fall in (``ledger.shards``;
one ``SELECT … FROM ledger_heads WHERE shard IN (…) ORDER BY shard FOR UPDATE`` on
PostgreSQL, in ascending order so two writers never wait on each other crosswise; SQLite write
transactions are already serial). That orders each shard's transfers into its hash chain and
makes the balance checks race-free: every row a write moves (a member's balance, a system
account's stripe of that shard) belongs to a locked shard. Writes to members of other shards
proceed meanwhile. Bulk and maintenance writes (expiry sweeps, batches of many members) lock
every shard with ``lock_head``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ledger.model import GENESIS_HASH, AccountId, Asset, Balance, Transfer, TransferId
from ledger.shards import ALL_SHARDS, Root, StripeKey, shards_of
from ledger.store.appends import write_group
from ledger.store.balances import BalanceRow, balance_values
from ledger.store.prefetch import MAX_ACCOUNTS_AT_ONCE, Prefetched, read_by_id
from ledger.store.transfers import (
    FailedTransferRow,
    LedgerHeadRow,
    RootRow,
    ShardHeadRow,
    TransferRow,
    transfer_columns,
    transfer_from,
)

BalanceKey = tuple[AccountId, Asset]
_TOTAL_COLUMNS = (
    BalanceRow.debits_posted,
    BalanceRow.credits_posted,
    BalanceRow.debits_pending,
    BalanceRow.credits_pending,
)


class LockedHead(NamedTuple):
    """A shard's head as this transaction holds it locked (kept in step with its writes)."""

    shard: int
    last_seq: int  # the shard_seq of the chain's last transfer (0: none yet)
    last_hash: str


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # The transaction that holds shard locks, and the heads it holds: a lock lasts until
        # the transaction ends, so a second request in it needs no second round trip.
        self._locked: tuple[SessionTransaction, dict[int, LockedHead]] | None = None

    def lock_accounts(self, accounts: Iterable[AccountId]) -> dict[int, LockedHead]:
        """The heads of the shards of ``accounts`` (``ledger.shards.shards_of``), locked until
        the transaction ends; shards this transaction holds already cost no statement.

        A service locks everything it will write up front: a later call that needs a shard
        below one held still locks it, but two transactions doing that crosswise deadlock
        (PostgreSQL then aborts one)."""
        return self._lock(shards_of(accounts))

    def lock_head(self) -> dict[int, LockedHead]:
        """Every shard's head, locked until the transaction ends: for bulk and maintenance
        writes (expiry sweeps, batches of many members) and consistent snapshots of the heads."""
        return self._lock(ALL_SHARDS)

    def _held(self) -> dict[int, LockedHead]:
        """The heads this transaction has locked (none once it ended)."""
        transaction = self.session.get_transaction()
        if self._locked is not None and self._locked[0] is transaction and transaction.is_active:
            return self._locked[1]
        return {}

    def _hold(self, heads: Mapping[int, LockedHead]) -> None:
        transaction = self.session.get_transaction()
        held = self._held() | dict(heads)
        self._locked = None if transaction is None else (transaction, held)

    def _lock(self, shards: frozenset[int]) -> dict[int, LockedHead]:
        held = self._held()
        missing = sorted(shards - held.keys())
        if missing:
            rows = self.session.execute(
                select(ShardHeadRow.shard, ShardHeadRow.last_seq, ShardHeadRow.last_hash)
                .where(ShardHeadRow.shard.in_(missing))
                .order_by(ShardHeadRow.shard)
                .with_for_update()
            ).all()
            if len(rows) != len(missing):  # the migration seeds them: a broken schema
                raise RuntimeError("ledger_heads rows missing: run `paperleague db upgrade`")
            self._hold({row.shard: LockedHead(*row) for row in rows})
            held = self._held()
        return {shard: held[shard] for shard in shards}

    def lock_and_prefetch(
        self,
        accounts: Iterable[AccountId],
        ids: Iterable[TransferId],
        *,
        balances: Iterable[StripeKey],
        reserve: int,
    ) -> tuple[dict[int, LockedHead], Prefetched]:
        """``lock_accounts`` and ``prefetch`` in one statement: the heads of the shards of
        ``accounts`` locked, then what the write reads under them. Where a head moved while
        the statement waited for its lock, the reads are made again under the locks now held
        (``ledger.store.prefetch``: a statement reads the snapshot it began with)."""
        shards = shards_of(accounts)
        missing = shards - self._held().keys()
        ids, balances = list(ids), list(balances)
        found = self.prefetch(ids, balances=balances, reserve=reserve, lock=missing)
        if found.stale:
            found = self.prefetch(ids, balances=balances, reserve=reserve)
        return {shard: self._held()[shard] for shard in shards}, found

    def transfers_by_id(self, ids: Iterable[TransferId]) -> dict[TransferId, Transfer]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = self.session.scalars(select(TransferRow).where(TransferRow.id.in_(wanted)))
        return {row.id: row.to_transfer() for row in rows}

    def transfers_and_failures(
        self, ids: Iterable[TransferId], *, also: Iterable[TransferId] = ()
    ) -> tuple[dict[TransferId, Transfer], dict[TransferId, str]]:
        """The stored transfers of ``ids`` and ``also``, and the refusal slug of each of
        ``ids`` that failed before: one statement, where the idempotency check and the
        failed-id check would each be a round trip."""
        found = self.prefetch(ids, also=also)
        return found.transfers, found.failures

    def prefetch(
        self,
        ids: Iterable[TransferId],
        *,
        also: Iterable[TransferId] = (),
        balances: Iterable[StripeKey] = (),
        reserve: int = 0,
        lock: Collection[int] = (),
    ) -> Prefetched:
        """What a write reads once it holds its shard locks, in one statement (see
        ``ledger.store.prefetch``): the stored transfers of ``ids`` and ``also``, the failed
        ones of ``ids``, the balance rows of ``balances`` (empty where none is stored), and
        ``reserve`` global seqs for the transfers to come. ``lock``: shards whose heads the
        statement locks first (then ``stale`` says whether the rest is to be read again)."""
        wanted = set(balances)
        accounts = {account for account, _, _ in wanted}
        if len(accounts) > MAX_ACCOUNTS_AT_ONCE:  # large groups: the balances on their own
            read = read_by_id(self.session, ids, also=also, reserve=reserve, lock=lock)
            rows = {} if read.stale else self._stored_rows(sorted(accounts))
        else:
            stripes = {stripe for _, _, stripe in wanted}
            read = read_by_id(
                self.session,
                ids,
                also=also,
                accounts=accounts,
                stripes=stripes,
                reserve=reserve,
                lock=lock,
            )
            rows = read.balances
        if lock:
            self._hold({shard: LockedHead(shard, *head) for shard, head in read.heads.items()})
        stored = {key: rows[key] for key in wanted if key in rows}
        return Prefetched(
            read.transfers,
            read.failures,
            balances={key: stored.get(key, Balance()) for key in wanted},
            stored=set(stored),
            seqs=read.seqs,
            stale=read.stale,
        )

    def resolution_of(self, pending_id: TransferId) -> Transfer | None:
        row = self.session.scalar(select(TransferRow).where(TransferRow.pending_id == pending_id))
        return None if row is None else row.to_transfer()

    def resolutions_of(self, pending_ids: Iterable[TransferId]) -> dict[TransferId, Transfer]:
        """Hold id → the transfer that resolved it, for those of ``pending_ids`` resolved."""
        wanted = list(set(pending_ids))
        if not wanted:
            return {}
        rows = self.session.scalars(select(TransferRow).where(TransferRow.pending_id.in_(wanted)))
        return {row.pending_id: row.to_transfer() for row in rows if row.pending_id is not None}

    def reversal_of(self, transfer_id: TransferId) -> Transfer | None:
        row = self.session.scalar(select(TransferRow).where(TransferRow.reversal_of == transfer_id))
        return None if row is None else row.to_transfer()

    def failures_by_id(self, ids: Iterable[TransferId]) -> dict[TransferId, FailedTransferRow]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = self.session.scalars(
            select(FailedTransferRow).where(FailedTransferRow.id.in_(wanted))
        )
        return {row.id: row for row in rows}

    def write_group(
        self,
        balances: Mapping[StripeKey, Balance],
        transfers: Sequence[Transfer],
        *,
        heads: Mapping[int, LockedHead],
        new_heads: Mapping[int, tuple[int, str]],
        commit: bool = False,
    ) -> None:
        """Store an applied group: new values of ``balances``, the appended ``transfers`` and
        the locked ``heads`` of the shards it joined moved to ``new_heads`` (one statement on
        PostgreSQL, see ``ledger.store.appends``). The heads held and row objects the session
        holds are kept in step, so nothing is flushed again nor read back. ``commit``: the
        write ends the transaction (``appends.write_group``); the caller commits right after,
        with nothing else pending in the session."""
        moved = {
            shard: head
            for shard, head in new_heads.items()
            if head != (heads[shard].last_seq, heads[shard].last_hash)
        }
        if commit and (self.session.new or self.session.dirty or self.session.deleted):
            raise RuntimeError("a write that commits leaves nothing of the session unflushed")
        write_group(self.session.connection(), balances, transfers, heads=moved, commit=commit)
        self._hold({shard: LockedHead(shard, *head) for shard, head in moved.items()})
        for key, balance in balances.items():
            held = self.session.identity_map.get(identity_key(BalanceRow, key))
            if held is not None:
                for name, value in balance_values(balance).items():
                    set_committed_value(held, name, value)

    def _stored_rows(self, accounts: Sequence[AccountId]) -> dict[StripeKey, Balance]:
        """Every balance row (each stripe) of ``accounts``, read as plain columns (no row
        objects to track)."""
        found: dict[StripeKey, Balance] = {}
        columns = (BalanceRow.account, BalanceRow.asset, BalanceRow.stripe, *_TOTAL_COLUMNS)
        # By account alone (a plain IN is far cheaper to bind than one over pairs); an account
        # holds few assets and stripes, so the rows not asked for are few.
        for chunk in (accounts[i : i + 1000] for i in range(0, len(accounts), 1000)):
            stmt = select(*columns).where(BalanceRow.account.in_(chunk))
            for account, asset, stripe, *totals in self.session.execute(stmt):
                found[(account, asset, stripe)] = Balance(*totals)
        return found

    def balance(self, account: AccountId, asset: Asset) -> Balance:
        """The balance of (account, asset): the sum of its stripes."""
        return self.balances_of([(account, asset)])[(account, asset)]

    def balances_of(self, keys: Iterable[BalanceKey]) -> dict[BalanceKey, Balance]:
        """The balances of ``keys`` in a few queries, each the sum of its stripes (an empty
        ``Balance`` where none is stored)."""
        wanted = set(keys)
        totals = summed(self._stored_rows(sorted({account for account, _ in wanted})))
        return {key: totals.get(key, Balance()) for key in wanted}

    def balance_rows(self) -> dict[StripeKey, Balance]:
        """Every stored balance row, by (account, asset, stripe)."""
        columns = (BalanceRow.account, BalanceRow.asset, BalanceRow.stripe, *_TOTAL_COLUMNS)
        return {
            (account, asset, stripe): Balance(*totals)
            for account, asset, stripe, *totals in self.session.execute(select(*columns))
        }

    def balances(self) -> dict[BalanceKey, Balance]:
        """Every (account, asset)'s balance, the sum of its stripes."""
        return summed(self.balance_rows())

    def account_balances(self, account: AccountId) -> dict[Asset, Balance]:
        """Every asset's balance on one account (the sum of its stripes), by asset."""
        rows = summed(self._stored_rows([account]))
        return {asset: rows[(account, asset)] for _, asset in sorted(rows)}

    def add_failures(self, failures: Sequence[FailedTransferRow]) -> None:
        existing = self.failures_by_id(f.id for f in failures)
        self.session.add_all([f for f in failures if f.id not in existing])

    def all_transfers(self, *, batch: int = 5000) -> Iterable[Transfer]:
        """Every transfer in chain order, streamed in batches."""
        after = 0
        while True:
            rows = self.session.execute(
                select(*transfer_columns())
                .where(TransferRow.seq > after)
                .order_by(TransferRow.seq)
                .limit(batch)
            ).all()  # plain columns: verification reads every transfer, row objects cost
            if not rows:
                return
            yield from (transfer_from(row) for row in rows)
            after = rows[-1].seq

    def head(self) -> tuple[int, str]:
        """The end of the legacy global chain (last seq, last hash)."""
        head = self.session.get(LedgerHeadRow, 1)
        return (0, GENESIS_HASH) if head is None else (head.last_seq, head.last_hash)

    def shard_heads(self) -> dict[int, tuple[int, str]]:
        """Each shard chain's end (last shard_seq, last hash), unlocked."""
        rows = self.session.execute(
            select(ShardHeadRow.shard, ShardHeadRow.last_seq, ShardHeadRow.last_hash)
        )
        return {shard: (last_seq, last_hash) for shard, last_seq, last_hash in rows}

    def roots(self) -> list[Root]:
        """Every sealed root, oldest first."""
        return [root_of(row) for row in self.session.scalars(select(RootRow).order_by(RootRow.id))]

    def last_root(self) -> Root | None:
        row = self.session.scalar(select(RootRow).order_by(RootRow.id.desc()).limit(1))
        return None if row is None else root_of(row)

    def add_root(self, root: RootRow) -> None:
        self.session.add(root)
        self.session.flush()

    def history(
        self, accounts: Sequence[AccountId], *, before_seq: int | None, limit: int
    ) -> list[Transfer]:
        """Transfers touching ``accounts``, newest first."""
        stmt = select(TransferRow).where(
            or_(TransferRow.debit_account.in_(accounts), TransferRow.credit_account.in_(accounts))
        )
        if before_seq is not None:
            stmt = stmt.where(TransferRow.seq < before_seq)
        rows = self.session.scalars(stmt.order_by(TransferRow.seq.desc()).limit(limit))
        return [row.to_transfer() for row in rows]

    def posted_balance_at(self, account: AccountId, asset: Asset, at: datetime) -> int:
        """The posted balance of (account, asset) as of ``at``, replayed from transfers."""
        posting = TransferRow.kind.in_(["posted", "post_pending"])
        base = (TransferRow.asset == asset) & posting & (TransferRow.created_at <= at)
        credits = self.session.scalar(
            select(func.coalesce(func.sum(TransferRow.amount), 0)).where(
                base & (TransferRow.credit_account == account)
            )
        )
        debits = self.session.scalar(
            select(func.coalesce(func.sum(TransferRow.amount), 0)).where(
                base & (TransferRow.debit_account == account)
            )
        )
        return int(credits or 0) - int(debits or 0)

    def credits_to_each(
        self, accounts: Sequence[AccountId], asset: Asset
    ) -> dict[AccountId, list[tuple[int, datetime]]]:
        """Posted credits to each account, in order: its lots (amount, earned_at)."""
        lots: dict[AccountId, list[tuple[int, datetime]]] = {account: [] for account in accounts}
        rows = self.session.execute(
            select(TransferRow.credit_account, TransferRow.amount, TransferRow.created_at)
            .where(
                TransferRow.credit_account.in_(list(accounts)),
                TransferRow.asset == asset,
                TransferRow.kind.in_(["posted", "post_pending"]),
            )
            .order_by(TransferRow.seq)
        )
        for account, amount, created_at in rows:
            lots[account].append((int(amount), created_at))
        return lots

    def lapsed_holds(self, now: datetime, *, limit: int) -> list[Transfer]:
        """Pending transfers past their timeout and not yet resolved."""
        resolved = select(TransferRow.pending_id).where(TransferRow.pending_id.is_not(None))
        rows = self.session.scalars(
            select(TransferRow)
            .where(
                TransferRow.kind == "pending",
                TransferRow.timeout_at.is_not(None),
                TransferRow.timeout_at <= now,
                TransferRow.id.not_in(resolved),
            )
            .order_by(TransferRow.seq)
            .limit(limit)
        )
        return [row.to_transfer() for row in rows]

    def member_point_accounts(self) -> list[AccountId]:
        stmt = select(BalanceRow.account).where(
            BalanceRow.asset == "POINTS", BalanceRow.account.like("member:%:points")
        )
        return list(self.session.scalars(stmt.order_by(BalanceRow.account)))


def summed(rows: Mapping[StripeKey, Balance]) -> dict[BalanceKey, Balance]:
    """Balance rows added up per (account, asset): a system account's stripes into one."""
    totals: dict[BalanceKey, Balance] = {}
    for (account, asset, _), balance in rows.items():
        totals[(account, asset)] = totals.get((account, asset), Balance()) + balance
    return totals


def root_of(row: RootRow) -> Root:
    return Root(
        row.id,
        row.created_at,
        tuple((int(s), int(seq), str(h)) for s, seq, h in row.heads),
        row.prev_root,
        row.root,
    )
