"""Persistence of the ledger: append-only transfers, derived balances, the chain head.

Every ledger write first locks the single ``ledger_head`` row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite write transactions are already serial), which orders transfers into one
hash chain and makes the balance checks race-free. Transfers are never updated or deleted:
the ORM refuses it here and database triggers refuse it below (see the migration).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    bindparam,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core.db import Base, UtcDateTime, keyset_page
from ledger.model import (
    GENESIS_HASH,
    AccountId,
    Asset,
    Balance,
    Transfer,
    TransferId,
    TransferKind,
)


class LedgerHeadRow(Base):
    """The end of the hash chain; one row, locked by every ledger write."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class TransferRow(Base):
    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive_amount"),
        CheckConstraint("debit_account <> credit_account", name="distinct_accounts"),
        CheckConstraint(
            "kind IN ('posted', 'pending', 'post_pending', 'void_pending', 'expire_pending')",
            name="known_kind",
        ),
        Index("ix_ledger_transfers_debit", "debit_account", "asset", "seq"),
        Index("ix_ledger_transfers_credit", "credit_account", "asset", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    debit_account: Mapped[str] = mapped_column(String(96))
    credit_account: Mapped[str] = mapped_column(String(96))
    asset: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(256))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    # Unique: a hold is resolved (posted, voided or expired) at most once.
    pending_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    timeout_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Unique: a transfer is reversed at most once.
    reversal_of: Mapped[str | None] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def to_transfer(self) -> Transfer:
        return _transfer_from(self)

    @classmethod
    def of(cls, transfer: Transfer) -> TransferRow:
        return cls(**_transfer_values(transfer))


def _transfer_columns() -> list[Any]:
    """Every attribute of ``TransferRow``, for selects that skip building row objects."""
    return [
        getattr(TransferRow, name)
        for name in (
            "seq",
            "id",
            "kind",
            "debit_account",
            "credit_account",
            "asset",
            "amount",
            "reason",
            "reference",
            "meta",
            "pending_id",
            "timeout_seconds",
            "timeout_at",
            "reversal_of",
            "created_at",
            "prev_hash",
            "hash",
        )
    ]


def _transfer_from(row: Any) -> Transfer:
    """A transfer from a ``TransferRow``, or a result row of ``_TRANSFER_COLUMNS``."""
    return Transfer(
        seq=row.seq,
        id=row.id,
        kind=TransferKind(row.kind),
        debit=row.debit_account,
        credit=row.credit_account,
        asset=row.asset,
        amount=row.amount,
        reason=row.reason,
        reference=row.reference,
        metadata=row.meta,
        pending_id=row.pending_id,
        timeout_seconds=row.timeout_seconds,
        timeout_at=row.timeout_at,
        reversal_of=row.reversal_of,
        created_at=row.created_at,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _balance_values(balance: Balance) -> dict[str, int]:
    return {
        "debits_posted": balance.debits_posted,
        "credits_posted": balance.credits_posted,
        "debits_pending": balance.debits_pending,
        "credits_pending": balance.credits_pending,
    }


def _transfer_values(transfer: Transfer) -> dict[str, Any]:
    """A transfer as ``TransferRow`` attribute values (for bulk inserts)."""
    return {
        "seq": transfer.seq,
        "id": transfer.id,
        "kind": transfer.kind.value,
        "debit_account": transfer.debit,
        "credit_account": transfer.credit,
        "asset": transfer.asset,
        "amount": transfer.amount,
        "reason": transfer.reason,
        "reference": transfer.reference,
        "meta": dict(transfer.metadata),
        "pending_id": transfer.pending_id,
        "timeout_seconds": transfer.timeout_seconds,
        "timeout_at": transfer.timeout_at,
        "reversal_of": transfer.reversal_of,
        "created_at": transfer.created_at,
        "prev_hash": transfer.prev_hash,
        "hash": transfer.hash,
    }


@event.listens_for(TransferRow, "before_update")
@event.listens_for(TransferRow, "before_delete")
def _append_only(*_: object) -> None:
    raise RuntimeError("ledger transfers are append-only; correct with a reversal transfer")


class BalanceRow(Base):
    """Derived totals per (account, asset), kept for speed; ``verify`` proves them."""

    __tablename__ = "ledger_balances"
    __table_args__ = (
        # Member and stock accounts never go negative, whatever the code above does.
        CheckConstraint(
            "account LIKE 'system:%' OR credits_posted - debits_posted - debits_pending >= 0",
            name="non_negative_unless_system",
        ),
    )

    account: Mapped[str] = mapped_column(String(96), primary_key=True)
    asset: Mapped[str] = mapped_column(String(80), primary_key=True)
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)

    def to_balance(self) -> Balance:
        return Balance(
            self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending
        )


class FailedTransferRow(Base):
    """Ids whose transfer was refused by a rule of state; they stay failed."""

    __tablename__ = "ledger_failed_transfers"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_head(self) -> LedgerHeadRow:
        head = self.session.scalar(
            select(LedgerHeadRow).where(LedgerHeadRow.id == 1).with_for_update()
        )
        if head is None:  # the migration seeds it; an empty table means a broken schema
            raise RuntimeError("ledger_head row missing: run `paperleague db upgrade`")
        return head

    def transfers_by_id(self, ids: Iterable[TransferId]) -> dict[TransferId, Transfer]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = self.session.scalars(select(TransferRow).where(TransferRow.id.in_(wanted)))
        return {row.id: row.to_transfer() for row in rows}

    def resolution_of(self, pending_id: TransferId) -> Transfer | None:
        row = self.session.scalar(select(TransferRow).where(TransferRow.pending_id == pending_id))
        return None if row is None else row.to_transfer()

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

    def write_balances(
        self,
        balances: Mapping[tuple[AccountId, Asset], Balance],
        *,
        stored: Collection[tuple[AccountId, Asset]],
    ) -> None:
        """Store new values of balances (``stored``: the keys that have a row already) with bulk
        statements, and keep any row object the session holds in step with them."""
        values = [
            {"account": account, "asset": asset, **_balance_values(balance)}
            for (account, asset), balance in balances.items()
        ]
        inserts = [v for v in values if (v["account"], v["asset"]) not in stored]
        updates = [
            {"key_account": v.pop("account"), "key_asset": v.pop("asset"), **v}
            for v in values
            if (v["account"], v["asset"]) in stored
        ]
        if inserts:
            self.session.connection().execute(insert(BalanceRow), inserts)
        if updates:  # one executemany; the bound key names differ from the columns set
            self.session.connection().execute(
                update(BalanceRow)
                .where(
                    BalanceRow.account == bindparam("key_account"),
                    BalanceRow.asset == bindparam("key_asset"),
                )
                .values({name: bindparam(name) for name in _balance_values(Balance())}),
                updates,
            )
        for key, balance in balances.items():
            held = self.session.identity_map.get(identity_key(BalanceRow, key))
            if held is not None:
                for name, value in _balance_values(balance).items():
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

    def add_transfers(self, transfers: Sequence[Transfer]) -> None:
        if transfers:  # one executemany, no row objects: large groups stay cheap
            values = [_transfer_values(t) for t in transfers]
            for row in values:
                row["metadata"] = row.pop("meta")  # the column's name
            self.session.connection().execute(insert(TransferRow), values)

    def add_failures(self, failures: Sequence[FailedTransferRow]) -> None:
        existing = self.failures_by_id(f.id for f in failures)
        self.session.add_all([f for f in failures if f.id not in existing])

    def all_transfers(self, *, batch: int = 5000) -> Iterable[Transfer]:
        """Every transfer in chain order, streamed in batches."""
        after = 0
        while True:
            rows = self.session.execute(
                select(*_transfer_columns())
                .where(TransferRow.seq > after)
                .order_by(TransferRow.seq)
                .limit(batch)
            ).all()  # plain columns: verification reads every transfer, row objects cost
            if not rows:
                return
            yield from (_transfer_from(row) for row in rows)
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


# --- engagement: levels, earning rules, check-ins, tasks, referrals, catalog ------------------


class LevelTableRow(Base):
    """Versions of the level table; the highest version is in force."""

    __tablename__ = "ledger_level_tables"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EarningRulesRow(Base):
    __tablename__ = "ledger_earning_rules"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LevelEventRow(Base):
    """A member reached a level (recorded when the XP that crossed the threshold posted)."""

    __tablename__ = "ledger_level_events"
    __table_args__ = (Index("ix_ledger_level_events_member", "member_id", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    level: Mapped[int] = mapped_column(Integer)
    lifetime_xp: Mapped[int] = mapped_column(BigInteger)
    table_version: Mapped[int] = mapped_column(Integer)
    transfer_id: Mapped[str] = mapped_column(String(160))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CheckInRow(Base):
    __tablename__ = "ledger_checkins"

    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    local_date: Mapped[str] = mapped_column(String(10), primary_key=True)  # ISO date
    streak: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    xp: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The request's operation id (from its Idempotency-Key), committed with the check-in: a
    # retry whose stored response was lost finds the check-in it made.
    operation_id: Mapped[str | None] = mapped_column(String(160), index=True, unique=True)


class TaskCompletionRow(Base):
    __tablename__ = "ledger_task_completions"
    __table_args__ = (
        Index("ix_ledger_task_completions_member_task", "member_id", "task_key", "local_date"),
    )

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    task_key: Mapped[str] = mapped_column(String(64))
    local_date: Mapped[str] = mapped_column(String(10))
    iso_week: Mapped[str] = mapped_column(String(8))
    points: Mapped[int] = mapped_column(BigInteger)
    xp: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReferralRow(Base):
    __tablename__ = "ledger_referrals"
    __table_args__ = (CheckConstraint("invitee_id <> inviter_id", name="no_self_referral"),)

    invitee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    inviter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RewardItemRow(Base):
    __tablename__ = "ledger_reward_items"
    __table_args__ = (
        CheckConstraint("cost_points > 0", name="positive_cost"),
        CheckConstraint("min_level >= 1", name="min_level_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    cost_points: Mapped[int] = mapped_column(BigInteger)
    min_level: Mapped[int] = mapped_column(Integer)
    per_member_limit: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    needs_fulfilment: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RedemptionRow(Base):
    """Immutable record of a redemption; its status is derived from its ledger transfers."""

    __tablename__ = "ledger_redemptions"
    __table_args__ = (Index("ix_ledger_redemptions_member_item", "member_id", "item_id"),)

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("ledger_reward_items.id"))
    cost_points: Mapped[int] = mapped_column(BigInteger)
    points_transfer_id: Mapped[str] = mapped_column(ForeignKey("ledger_transfers.id"))
    stock_transfer_id: Mapped[str] = mapped_column(ForeignKey("ledger_transfers.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class EngagementRepository:
    """Levels, earning rules, check-ins, task completions, referrals, catalog, redemptions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def latest_levels(self) -> LevelTableRow | None:
        return self.session.scalar(select(LevelTableRow).order_by(LevelTableRow.version.desc()))

    def latest_rules(self) -> EarningRulesRow | None:
        return self.session.scalar(select(EarningRulesRow).order_by(EarningRulesRow.version.desc()))

    def add(self, row: Base) -> None:
        self.session.add(row)
        self.session.flush()

    def checkin(self, member_id: int, local_date: str) -> CheckInRow | None:
        return self.session.get(CheckInRow, (member_id, local_date))

    def checkin_by_operation(self, operation_id: str) -> CheckInRow | None:
        return self.session.scalar(
            select(CheckInRow).where(CheckInRow.operation_id == operation_id)
        )

    def checked_in_on(self, local_date: str, member_ids: Sequence[int]) -> set[int]:
        """Which of ``member_ids`` have a check-in on ``local_date``."""
        found: set[int] = set()
        for chunk in (member_ids[i : i + 500] for i in range(0, len(member_ids), 500)):
            found |= set(
                self.session.scalars(
                    select(CheckInRow.member_id).where(
                        CheckInRow.local_date == local_date, CheckInRow.member_id.in_(chunk)
                    )
                )
            )
        return found

    def last_checkins(self, member_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
        """Each member's latest check-in as (local date, streak); members without one are left
        out. Plain columns: a daily batch reads thousands."""
        found: dict[int, tuple[str, int]] = {}
        for chunk in (member_ids[i : i + 500] for i in range(0, len(member_ids), 500)):
            latest = (
                select(CheckInRow.member_id, func.max(CheckInRow.local_date).label("local_date"))
                .where(CheckInRow.member_id.in_(chunk))
                .group_by(CheckInRow.member_id)
                .subquery()
            )
            stmt = select(CheckInRow.member_id, CheckInRow.local_date, CheckInRow.streak).join(
                latest,
                (CheckInRow.member_id == latest.c.member_id)
                & (CheckInRow.local_date == latest.c.local_date),
            )
            found |= {member: (day, streak) for member, day, streak in self.session.execute(stmt)}
        return found

    def add_checkins(self, values: Sequence[Mapping[str, Any]]) -> None:
        """Insert check-ins (``CheckInRow`` attribute values) in one bulk statement."""
        if values:
            self.session.execute(insert(CheckInRow), list(values))

    def add_all(self, rows: Sequence[Base]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def task_counts(
        self, member_id: int, task_key: str, local_date: str, week: str
    ) -> tuple[int, int]:
        mine = (TaskCompletionRow.member_id == member_id) & (TaskCompletionRow.task_key == task_key)
        today = self.session.scalar(
            select(func.count()).where(mine & (TaskCompletionRow.local_date == local_date))
        )
        this_week = self.session.scalar(
            select(func.count()).where(mine & (TaskCompletionRow.iso_week == week))
        )
        return int(today or 0), int(this_week or 0)

    def task_completion(self, completion_id: str) -> TaskCompletionRow | None:
        return self.session.get(TaskCompletionRow, completion_id)

    def referral_of(self, invitee_id: int) -> ReferralRow | None:
        return self.session.get(ReferralRow, invitee_id)

    def item(self, item_id: int) -> RewardItemRow | None:
        return self.session.get(RewardItemRow, item_id)

    def item_by_key(self, key: str) -> RewardItemRow | None:
        return self.session.scalar(select(RewardItemRow).where(RewardItemRow.key == key))

    def items(self, *, after: int | None, limit: int) -> tuple[Sequence[RewardItemRow], int | None]:
        rows, last = keyset_page(
            self.session, select(RewardItemRow), key=RewardItemRow.id, after=after, limit=limit
        )
        return list(rows), last

    def redemption(self, redemption_id: str) -> RedemptionRow | None:
        return self.session.get(RedemptionRow, redemption_id)

    def redemptions_of(
        self, member_id: int, *, before: str | None, limit: int
    ) -> list[RedemptionRow]:
        stmt = select(RedemptionRow).where(RedemptionRow.member_id == member_id)
        if before is not None:
            stmt = stmt.where(RedemptionRow.id < before)
        return list(self.session.scalars(stmt.order_by(RedemptionRow.id.desc()).limit(limit)))

    def redemptions_of_item(self, member_id: int, item_id: int) -> list[RedemptionRow]:
        stmt = select(RedemptionRow).where(
            RedemptionRow.member_id == member_id, RedemptionRow.item_id == item_id
        )
        return list(self.session.scalars(stmt))
