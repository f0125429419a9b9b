"""Mappings and repository of weekly leagues: the rules in force, members' tiers and time
zones, weeks (each with a copy of its rules), cohorts, entries (one per member and week, with
the final rank and movement once closed) and payouts (one per member and week)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Amount, Base, UtcDateTime
from core.users.store import UserRoleRow, UserRow
from ledger.model import XP
from ledger.store.transfers import TransferRow

TIER_RANGE = "tier BETWEEN 1 AND 10"


class LeagueSettingsRow(Base):
    """The league's rules in force (one row); a week copies them when it opens."""

    __tablename__ = "league_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LeagueMemberRow(Base):
    """A member's league profile: the tier they enter next and their IANA time zone."""

    __tablename__ = "league_members"
    __table_args__ = (CheckConstraint(TIER_RANGE, name="tier_range"),)

    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    tier: Mapped[int] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LeagueWeekRow(Base):
    """One league week: its window, its rules, when its ranks were frozen (``finalized_at``)
    and when every reward had posted (``closed_at``)."""

    __tablename__ = "league_weeks"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), unique=True)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LeagueCohortRow(Base):
    __tablename__ = "league_cohorts"
    __table_args__ = (
        UniqueConstraint("week_id", "tier", "number"),
        CheckConstraint(TIER_RANGE, name="tier_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_id: Mapped[int] = mapped_column(ForeignKey("league_weeks.id"))
    tier: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)


class LeagueEntryRow(Base):
    """A member in one week's cohort; the unique key keeps them in at most one cohort a week.
    ``rank``, ``score``, ``zone`` and ``next_tier`` are set when the week is finalized."""

    __tablename__ = "league_entries"
    __table_args__ = (
        UniqueConstraint("week_id", "member_id"),
        CheckConstraint(TIER_RANGE, name="tier_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_id: Mapped[int] = mapped_column(ForeignKey("league_weeks.id"))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("league_cohorts.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer)
    activity_band: Mapped[int] = mapped_column(Integer)
    utc_offset_minutes: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[Decimal | None] = mapped_column(Amount(24, 6))
    zone: Mapped[str | None] = mapped_column(String(16))
    next_tier: Mapped[int | None] = mapped_column(Integer)


class LeaguePayoutRow(Base):
    """A week's reward to one member (unique per week and member); ``paid_at`` once posted."""

    __tablename__ = "league_payouts"
    __table_args__ = (UniqueConstraint("week_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week_id: Mapped[int] = mapped_column(ForeignKey("league_weeks.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    xp: Mapped[int] = mapped_column(BigInteger)
    award_id: Mapped[str] = mapped_column(String(120), unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DuplicateWeek(Exception):
    """Another opener inserted the week first."""


class LeaguesRepository:
    """League persistence (``uow.leagues``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- settings and members ---
    def settings(self) -> LeagueSettingsRow | None:
        return self.session.get(LeagueSettingsRow, 1)

    def save_settings(self, row: LeagueSettingsRow) -> None:
        self.session.merge(row)
        self.session.flush()

    def member(self, member_id: int, *, lock: bool = False) -> LeagueMemberRow | None:
        stmt = select(LeagueMemberRow).where(LeagueMemberRow.member_id == member_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def members(self) -> list[LeagueMemberRow]:
        return list(
            self.session.scalars(select(LeagueMemberRow).order_by(LeagueMemberRow.member_id))
        )

    def ensure_members(
        self, member_ids: Sequence[int], *, tier: int, time_zone: str, joined_at: datetime
    ) -> None:
        """Insert a profile for each member that has none (a concurrent insert is no error)."""
        if not member_ids:
            return
        values = [
            {"member_id": m, "tier": tier, "time_zone": time_zone, "joined_at": joined_at}
            for m in member_ids
        ]
        dialect = self.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        for start in range(0, len(values), 1000):  # inside SQLite's bound-parameter limit
            chunk = values[start : start + 1000]
            self.session.execute(insert(LeagueMemberRow).values(chunk).on_conflict_do_nothing())

    def members_by_id(
        self, member_ids: Sequence[int], *, lock: bool = False
    ) -> list[LeagueMemberRow]:
        stmt = select(LeagueMemberRow).where(LeagueMemberRow.member_id.in_(list(member_ids)))
        if lock:
            stmt = stmt.with_for_update()
        return list(self.session.scalars(stmt.order_by(LeagueMemberRow.member_id)))

    def active_member_ids(self) -> list[int]:
        """Active users holding the member role."""
        stmt = (
            select(UserRow.id)
            .join(UserRoleRow, UserRoleRow.user_id == UserRow.id)
            .where(UserRoleRow.role == "member", UserRow.is_active.is_(True))
            .order_by(UserRow.id)
        )
        return list(self.session.scalars(stmt))

    def xp_earned(
        self, member_ids: Sequence[int], start: datetime, end: datetime, *, excluding: str
    ) -> dict[int, int]:
        """XP credited to each member's XP account in [start, end), except ``excluding``
        (a reason); members with none are left out."""
        accounts = {f"member:{m}:xp": m for m in member_ids}
        if not accounts:
            return {}
        stmt = (
            select(TransferRow.credit_account, func.sum(TransferRow.amount))
            .where(
                TransferRow.asset == XP,
                TransferRow.kind.in_(["posted", "post_pending"]),
                TransferRow.created_at >= start,
                TransferRow.created_at < end,
                TransferRow.reason != excluding,
                TransferRow.credit_account.in_(list(accounts)),
            )
            .group_by(TransferRow.credit_account)
        )
        return {
            accounts[account]: int(amount or 0) for account, amount in self.session.execute(stmt)
        }

    # --- weeks ---
    def add_week(self, row: LeagueWeekRow) -> LeagueWeekRow:
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError as exc:
            raise DuplicateWeek from exc
        return row

    def week(self, week_id: int, *, lock: bool = False) -> LeagueWeekRow | None:
        stmt = select(LeagueWeekRow).where(LeagueWeekRow.id == week_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def week_starting(self, starts_at: datetime) -> LeagueWeekRow | None:
        stmt = select(LeagueWeekRow).where(LeagueWeekRow.starts_at == starts_at)
        return self.session.scalars(stmt).one_or_none()

    def latest_week_before(self, starts_at: datetime) -> LeagueWeekRow | None:
        stmt = (
            select(LeagueWeekRow)
            .where(LeagueWeekRow.starts_at < starts_at)
            .order_by(LeagueWeekRow.starts_at.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).one_or_none()

    def weeks(self) -> list[LeagueWeekRow]:
        return list(self.session.scalars(select(LeagueWeekRow).order_by(LeagueWeekRow.starts_at)))

    def open_weeks_ended_by(self, moment: datetime) -> list[LeagueWeekRow]:
        stmt = select(LeagueWeekRow).where(
            LeagueWeekRow.closed_at.is_(None), LeagueWeekRow.ends_at <= moment
        )
        return list(self.session.scalars(stmt.order_by(LeagueWeekRow.starts_at)))

    # --- cohorts and entries ---
    def add_cohort(self, row: LeagueCohortRow) -> LeagueCohortRow:
        self.session.add(row)
        self.session.flush()
        return row

    def cohorts(self, week_id: int) -> list[LeagueCohortRow]:
        stmt = select(LeagueCohortRow).where(LeagueCohortRow.week_id == week_id)
        return list(
            self.session.scalars(stmt.order_by(LeagueCohortRow.tier, LeagueCohortRow.number))
        )

    def cohort(self, cohort_id: int) -> LeagueCohortRow | None:
        return self.session.get(LeagueCohortRow, cohort_id)

    def add_entries(self, rows: Sequence[LeagueEntryRow]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def entries(self, week_id: int) -> list[LeagueEntryRow]:
        stmt = select(LeagueEntryRow).where(LeagueEntryRow.week_id == week_id)
        return list(self.session.scalars(stmt.order_by(LeagueEntryRow.id)))

    def cohort_entries(self, cohort_id: int) -> list[LeagueEntryRow]:
        stmt = select(LeagueEntryRow).where(LeagueEntryRow.cohort_id == cohort_id)
        return list(self.session.scalars(stmt.order_by(LeagueEntryRow.id)))

    def entry(self, week_id: int, member_id: int) -> LeagueEntryRow | None:
        stmt = select(LeagueEntryRow).where(
            LeagueEntryRow.week_id == week_id, LeagueEntryRow.member_id == member_id
        )
        return self.session.scalars(stmt).one_or_none()

    def history(self, member_id: int) -> list[tuple[LeagueEntryRow, LeagueWeekRow]]:
        """The member's finalized weeks, newest first."""
        stmt = (
            select(LeagueEntryRow, LeagueWeekRow)
            .join(LeagueWeekRow, LeagueWeekRow.id == LeagueEntryRow.week_id)
            .where(LeagueEntryRow.member_id == member_id, LeagueWeekRow.finalized_at.is_not(None))
            .order_by(LeagueWeekRow.starts_at.desc())
        )
        return [(entry, week) for entry, week in self.session.execute(stmt)]

    # --- payouts ---
    def add_payouts(self, rows: Sequence[LeaguePayoutRow]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def payouts(self, week_id: int) -> list[LeaguePayoutRow]:
        stmt = select(LeaguePayoutRow).where(LeaguePayoutRow.week_id == week_id)
        return list(self.session.scalars(stmt.order_by(LeaguePayoutRow.id)))

    def payout(self, week_id: int, member_id: int) -> LeaguePayoutRow | None:
        stmt = select(LeaguePayoutRow).where(
            LeaguePayoutRow.week_id == week_id, LeaguePayoutRow.member_id == member_id
        )
        return self.session.scalars(stmt).one_or_none()

    def unpaid_count(self, week_id: int) -> int:
        stmt = select(func.count()).where(
            LeaguePayoutRow.week_id == week_id, LeaguePayoutRow.paid_at.is_(None)
        )
        return int(self.session.scalar(stmt) or 0)

    def mark_paid(self, award_ids: Sequence[str], when: datetime) -> int:
        """Set ``paid_at`` on those of the payouts not yet marked; how many this call marked
        (another closer may have marked them first)."""
        if not award_ids:
            return 0
        result = self.session.execute(
            update(LeaguePayoutRow)
            .where(LeaguePayoutRow.award_id.in_(list(award_ids)), LeaguePayoutRow.paid_at.is_(None))
            .values(paid_at=when)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
