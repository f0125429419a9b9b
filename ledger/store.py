"""Persistence of the ledger: append-only transfers, derived balances, the chain head.

Every ledger write first locks the single ``ledger_head`` row (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite write transactions are already serial), which orders transfers into one
hash chain and makes the balance checks race-free. Transfers are never updated or deleted:
the ORM refuses it here and database triggers refuse it below (see the migration).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    event,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

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
        return Transfer(
            seq=self.seq,
            id=self.id,
            kind=TransferKind(self.kind),
            debit=self.debit_account,
            credit=self.credit_account,
            asset=self.asset,
            amount=self.amount,
            reason=self.reason,
            reference=self.reference,
            metadata=self.meta,
            pending_id=self.pending_id,
            timeout_seconds=self.timeout_seconds,
            timeout_at=self.timeout_at,
            reversal_of=self.reversal_of,
            created_at=self.created_at,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )

    @classmethod
    def of(cls, transfer: Transfer) -> TransferRow:
        return cls(
            seq=transfer.seq,
            id=transfer.id,
            kind=transfer.kind.value,
            debit_account=transfer.debit,
            credit_account=transfer.credit,
            asset=transfer.asset,
            amount=transfer.amount,
            reason=transfer.reason,
            reference=transfer.reference,
            meta=dict(transfer.metadata),
            pending_id=transfer.pending_id,
            timeout_seconds=transfer.timeout_seconds,
            timeout_at=transfer.timeout_at,
            reversal_of=transfer.reversal_of,
            created_at=transfer.created_at,
            prev_hash=transfer.prev_hash,
            hash=transfer.hash,
        )


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

    def balance_rows(
        self, keys: Iterable[tuple[AccountId, Asset]]
    ) -> dict[tuple[str, str], BalanceRow]:
        wanted = list(set(keys))
        found = self._stored_balance_rows(wanted)
        for key in wanted:
            if key not in found:
                row = BalanceRow(
                    account=key[0],
                    asset=key[1],
                    debits_posted=0,
                    credits_posted=0,
                    debits_pending=0,
                    credits_pending=0,
                )
                self.session.add(row)
                found[key] = row
        return found

    def _stored_balance_rows(
        self, keys: Sequence[tuple[AccountId, Asset]]
    ) -> dict[tuple[str, str], BalanceRow]:
        found: dict[tuple[str, str], BalanceRow] = {}
        for chunk in (keys[i : i + 500] for i in range(0, len(keys), 500)):
            stmt = select(BalanceRow).where(tuple_(BalanceRow.account, BalanceRow.asset).in_(chunk))
            found |= {(row.account, row.asset): row for row in self.session.scalars(stmt)}
        return found

    def balance(self, account: AccountId, asset: Asset) -> Balance:
        row = self.session.get(BalanceRow, (account, asset))
        return Balance() if row is None else row.to_balance()

    def balances_of(
        self, keys: Iterable[tuple[AccountId, Asset]]
    ) -> dict[tuple[AccountId, Asset], Balance]:
        """The balances of ``keys`` in a few queries (an empty ``Balance`` where none is stored)."""
        wanted = list(set(keys))
        found = self._stored_balance_rows(wanted)
        return {key: found[key].to_balance() if key in found else Balance() for key in wanted}

    def balances(self) -> dict[tuple[AccountId, Asset], Balance]:
        return {
            (r.account, r.asset): r.to_balance() for r in self.session.scalars(select(BalanceRow))
        }

    def add_transfers(self, transfers: Sequence[Transfer]) -> None:
        self.session.add_all([TransferRow.of(t) for t in transfers])

    def add_failures(self, failures: Sequence[FailedTransferRow]) -> None:
        existing = self.failures_by_id(f.id for f in failures)
        self.session.add_all([f for f in failures if f.id not in existing])

    def all_transfers(self, *, batch: int = 5000) -> Iterable[Transfer]:
        """Every transfer in chain order, streamed in batches."""
        after = 0
        while True:
            rows = self.session.scalars(
                select(TransferRow)
                .where(TransferRow.seq > after)
                .order_by(TransferRow.seq)
                .limit(batch)
            ).all()
            if not rows:
                return
            yield from (row.to_transfer() for row in rows)
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

    def credits_to(self, account: AccountId, asset: Asset) -> list[tuple[int, datetime]]:
        """Posted credits to an account in order: its lots (amount, earned_at)."""
        rows = self.session.execute(
            select(TransferRow.amount, TransferRow.created_at)
            .where(
                TransferRow.credit_account == account,
                TransferRow.asset == asset,
                TransferRow.kind.in_(["posted", "post_pending"]),
            )
            .order_by(TransferRow.seq)
        )
        return [(int(amount), created_at) for amount, created_at in rows]

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

    def last_checkin(self, member_id: int) -> CheckInRow | None:
        return self.session.scalar(
            select(CheckInRow)
            .where(CheckInRow.member_id == member_id)
            .order_by(CheckInRow.local_date.desc())
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

    def last_checkins(self, member_ids: Sequence[int]) -> dict[int, CheckInRow]:
        """Each member's latest check-in (members without one are left out)."""
        found: dict[int, CheckInRow] = {}
        for chunk in (member_ids[i : i + 500] for i in range(0, len(member_ids), 500)):
            latest = (
                select(CheckInRow.member_id, func.max(CheckInRow.local_date).label("local_date"))
                .where(CheckInRow.member_id.in_(chunk))
                .group_by(CheckInRow.member_id)
                .subquery()
            )
            stmt = select(CheckInRow).join(
                latest,
                (CheckInRow.member_id == latest.c.member_id)
                & (CheckInRow.local_date == latest.c.local_date),
            )
            found |= {row.member_id: row for row in self.session.scalars(stmt)}
        return found

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
