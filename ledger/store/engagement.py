"""Mappings and repository of engagement: levels, earning rules, check-ins, task completions,
referrals, the reward catalog and redemptions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    func,
    insert,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime, keyset_page


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
    # Set: only members of this segment (core.segments) may redeem it.
    target_segment: Mapped[str | None] = mapped_column(String(64))


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
        return self.session.scalar(
            select(LevelTableRow).order_by(LevelTableRow.version.desc()).limit(1)
        )

    def latest_rules(self) -> EarningRulesRow | None:
        return self.session.scalar(
            select(EarningRulesRow).order_by(EarningRulesRow.version.desc()).limit(1)
        )

    def add(self, row: Base) -> None:
        self.session.add(row)
        self.session.flush()

    def checkins_by_operations(self, operation_ids: Sequence[str]) -> dict[str, CheckInRow]:
        """The check-ins stored with any of ``operation_ids``, by operation id."""
        if not operation_ids:
            return {}
        rows = self.session.scalars(
            select(CheckInRow).where(CheckInRow.operation_id.in_(list(set(operation_ids))))
        )
        return {row.operation_id: row for row in rows if row.operation_id is not None}

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

    def checkin_streaks(self) -> list[tuple[int, str, int]]:
        """Every check-in as (member id, local date, streak), by member and date."""
        stmt = select(CheckInRow.member_id, CheckInRow.local_date, CheckInRow.streak).order_by(
            CheckInRow.member_id, CheckInRow.local_date
        )
        return [(member, day, streak) for member, day, streak in self.session.execute(stmt)]

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
