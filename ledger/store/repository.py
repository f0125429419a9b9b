"""The ledger's repository: transfers and balances, read and written under the chain-head lock.

Every ledger write first locks the single ``ledger_head`` row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite write transactions are already serial), which orders transfers into one
hash chain and makes the balance checks race-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ledger.model import GENESIS_HASH, AccountId, Asset, Balance, Transfer, TransferId
from ledger.store.appends import write_group
from ledger.store.balances import BalanceRow, balance_values
from ledger.store.prefetch import MAX_ACCOUNTS_AT_ONCE, Prefetched, read_by_id
from ledger.store.transfers import (
    FailedTransferRow,
    LedgerHeadRow,
    TransferRow,
    transfer_columns,
    transfer_from,
)


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # The transaction that holds the head lock, and the head: the lock lasts until it ends,
        # so a second request in it needs no second round trip.
        self._locked: tuple[SessionTransaction, LedgerHeadRow] | None = None

    def lock_head(self) -> LedgerHeadRow:
        """The chain head, locked until the transaction ends (once per transaction)."""
        held = self._locked
        if held is not None and held[0] is self.session.get_transaction() and held[0].is_active:
            return held[1]
        head = self.session.scalar(
            select(LedgerHeadRow).where(LedgerHeadRow.id == 1).with_for_update()
        )
        if head is None:  # the migration seeds it; an empty table means a broken schema
            raise RuntimeError("ledger_head row missing: run `paperleague db upgrade`")
        transaction = self.session.get_transaction()
        self._locked = None if transaction is None else (transaction, head)
        return head

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
        balances: Iterable[tuple[AccountId, Asset]] = (),
    ) -> Prefetched:
        """What a write reads once it holds the head lock, in one statement (see
        ``ledger.store.prefetch``): the stored transfers of ``ids`` and ``also``, the failed
        ones of ``ids``, and the balances of ``balances`` (empty where none is stored)."""
        wanted = set(balances)
        accounts = {account for account, _ in wanted}
        if len(accounts) > MAX_ACCOUNTS_AT_ONCE:  # large groups: the balances on their own
            transfers, failures, rows = read_by_id(self.session, ids, also=also, accounts=())
            rows = self._stored_balances(list(wanted))
        else:
            transfers, failures, rows = read_by_id(self.session, ids, also=also, accounts=accounts)
        stored = {key: rows[key] for key in wanted if key in rows}
        return Prefetched(
            transfers,
            failures,
            balances={key: stored.get(key, Balance()) for key in wanted},
            stored=set(stored),
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

    def balances_for_update(
        self, keys: Iterable[tuple[AccountId, Asset]]
    ) -> tuple[dict[tuple[AccountId, Asset], Balance], set[tuple[AccountId, Asset]]]:
        """The balances of ``keys`` (empty where none is stored yet) and the keys that are
        stored. The caller holds the chain-head lock, so nothing moves them meanwhile."""
        wanted = list(set(keys))
        stored = self._stored_balances(wanted)
        return {key: stored.get(key, Balance()) for key in wanted}, set(stored)

    def write_group(
        self,
        balances: Mapping[tuple[AccountId, Asset], Balance],
        transfers: Sequence[Transfer],
        *,
        head: LedgerHeadRow,
        new_head: tuple[int, str],
    ) -> None:
        """Store an applied group: new values of ``balances``, the appended ``transfers`` and
        the chain head moved to ``new_head`` (one statement on PostgreSQL, see
        ``ledger.store.appends``). Row objects the session holds are kept in step, so nothing
        is flushed again nor read back."""
        write_group(self.session.connection(), balances, transfers, head=new_head)
        set_committed_value(head, "last_seq", new_head[0])
        set_committed_value(head, "last_hash", new_head[1])
        for key, balance in balances.items():
            held = self.session.identity_map.get(identity_key(BalanceRow, key))
            if held is not None:
                for name, value in balance_values(balance).items():
                    set_committed_value(held, name, value)

    def _stored_balances(
        self, keys: Sequence[tuple[AccountId, Asset]]
    ) -> dict[tuple[AccountId, Asset], Balance]:
        """Balances that have a row, read as plain columns (no row objects to track)."""
        found: dict[tuple[AccountId, Asset], Balance] = {}
        columns = (
            BalanceRow.account,
            BalanceRow.asset,
            BalanceRow.debits_posted,
            BalanceRow.credits_posted,
            BalanceRow.debits_pending,
            BalanceRow.credits_pending,
        )
        wanted = set(keys)
        accounts = sorted({account for account, _ in wanted})
        # By account alone (a plain IN is far cheaper to bind than one over pairs); an account
        # holds few assets, so the rows not asked for are few.
        for chunk in (accounts[i : i + 1000] for i in range(0, len(accounts), 1000)):
            stmt = select(*columns).where(BalanceRow.account.in_(chunk))
            for account, asset, *totals in self.session.execute(stmt):
                if (account, asset) in wanted:
                    found[(account, asset)] = Balance(*totals)
        return found

    def balance(self, account: AccountId, asset: Asset) -> Balance:
        row = self.session.get(BalanceRow, (account, asset))
        return Balance() if row is None else row.to_balance()

    def balances_of(
        self, keys: Iterable[tuple[AccountId, Asset]]
    ) -> dict[tuple[AccountId, Asset], Balance]:
        """The balances of ``keys`` in a few queries (an empty ``Balance`` where none is stored)."""
        return self.balances_for_update(keys)[0]

    def balances(self) -> dict[tuple[AccountId, Asset], Balance]:
        return {
            (r.account, r.asset): r.to_balance() for r in self.session.scalars(select(BalanceRow))
        }

    def account_balances(self, account: AccountId) -> dict[Asset, Balance]:
        """Every asset's balance on one account."""
        stmt = select(BalanceRow).where(BalanceRow.account == account).order_by(BalanceRow.asset)
        return {row.asset: row.to_balance() for row in self.session.scalars(stmt)}

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
        head = self.session.get(LedgerHeadRow, 1)
        return (0, GENESIS_HASH) if head is None else (head.last_seq, head.last_hash)

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
