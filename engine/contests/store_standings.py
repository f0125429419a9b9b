"""Persistence of leaderboards: per-tick snapshots (members and teams), the contest's running
statistics, and the aggregates a tick reads (fills per account, equity curves).

Snapshot rows go in column-wise with one COPY (PostgreSQL) or executemany (SQLite) per tick, no
ORM objects or per-row parameter dicts; reads return plain tuples.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, case, distinct, func, select
from sqlalchemy.orm import Session

from core.users.store import UserRow
from engine.contests.store import (
    LeaderboardSnapshotRow,
    MetricStateRow,
    TeamRow,
    TeamSnapshotRow,
)
from engine.trading.store import EquityRow, FillRow, bulk_insert

SNAPSHOTS = cast(Table, LeaderboardSnapshotRow.__table__)
TEAM_SNAPSHOTS = cast(Table, TeamSnapshotRow.__table__)


class FillCounts(NamedTuple):
    """One account's fills in a span of days."""

    account_id: int
    trades: int  # fills
    round_trips: int  # fills that realized a profit or loss (closed part of a position)
    wins: int  # of those, the ones with a profit
    active_days: int  # distinct days with a fill


class Detail(NamedTuple):
    """What a leaderboard row shows beside the placing."""

    display_name: str
    metric: Decimal | None
    total_return: Decimal | None
    equity: Decimal
    qualified: bool
    trades: int


class TeamPlacing(NamedTuple):
    position: int
    rank: int | None
    team_id: int
    name: str
    score: Decimal | None
    members_counted: int


class RankedRow(NamedTuple):
    """What a snapshot row was ranked by, and the place it got."""

    member_id: int
    position: int
    rank: int | None
    metric: Decimal | None
    secondary: Decimal | None
    reached_at: int
    qualified: bool


class StandingsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the running statistics -----------------------------------------------------------

    def metric_state(self, contest_id: int) -> tuple[int, bytes] | None:
        row = self.session.get(MetricStateRow, contest_id)
        return None if row is None else (row.tick, row.state)

    def save_metric_state(self, contest_id: int, tick: int, state: bytes) -> None:
        row = self.session.get(MetricStateRow, contest_id)
        if row is None:
            self.session.add(MetricStateRow(contest_id=contest_id, tick=tick, state=state))
        else:
            row.tick, row.state = tick, state
        self.session.flush()

    # --- what a tick reads ----------------------------------------------------------------

    def fill_counts(self, contest_id: int, *, first: date | None, last: date) -> list[FillCounts]:
        """Per account, its fills with ``first <= day <= last`` (``first`` None: from the
        start); one aggregate query. Accounts without fills in the span are absent."""
        closing = FillRow.realized_pnl != 0
        stmt = (
            select(
                FillRow.account_id,
                func.count(),
                func.sum(case((closing, 1), else_=0)),
                func.sum(case((FillRow.realized_pnl > 0, 1), else_=0)),
                func.count(distinct(FillRow.day)),
            )
            .where(FillRow.contest_id == contest_id, FillRow.day <= last)
            .group_by(FillRow.account_id)
        )
        if first is not None:
            stmt = stmt.where(FillRow.day >= first)
        return [FillCounts(*(int(v) for v in row)) for row in self.session.execute(stmt)]

    def equity_before(self, contest_id: int, day: date) -> list[tuple[date, int, Decimal]]:
        """(day, account id, equity) of every mark before ``day``, by day then account."""
        stmt = (
            select(EquityRow.day, EquityRow.account_id, EquityRow.equity)
            .where(EquityRow.contest_id == contest_id, EquityRow.day < day)
            .order_by(EquityRow.day, EquityRow.account_id)
        )
        return [(d, int(a), e) for d, a, e in self.session.execute(stmt)]

    def marks(self, contest_id: int, tick: int) -> dict[int, tuple[Decimal | None, int]]:
        """member id → (metric, reached_at) in the snapshot of ``tick``."""
        stmt = select(
            LeaderboardSnapshotRow.member_id,
            LeaderboardSnapshotRow.metric,
            LeaderboardSnapshotRow.reached_at,
        ).where(
            LeaderboardSnapshotRow.contest_id == contest_id, LeaderboardSnapshotRow.tick == tick
        )
        return {int(m): (metric, int(r)) for m, metric, r in self.session.execute(stmt)}

    # --- writing a tick -------------------------------------------------------------------

    def add_snapshots(self, columns: Mapping[str, Sequence[Any]]) -> None:
        """Insert member snapshot rows given column-wise (``LeaderboardSnapshotRow`` column
        name → one value per row)."""
        self._bulk_insert(SNAPSHOTS, columns)

    def add_team_snapshots(self, columns: Mapping[str, Sequence[Any]]) -> None:
        self._bulk_insert(TEAM_SNAPSHOTS, columns)

    def _bulk_insert(self, table: Table, columns: Mapping[str, Sequence[Any]]) -> None:
        bulk_insert(self.session, table, columns)

    # --- reading snapshots ----------------------------------------------------------------

    def placings(
        self, contest_id: int, tick: int
    ) -> list[tuple[int, int, int | None, float | None]]:
        """(position, member id, rank, metric) of every row of the snapshot, by position."""
        snap = LeaderboardSnapshotRow
        stmt = (
            select(snap.position, snap.member_id, snap.rank, snap.metric)
            .where(snap.contest_id == contest_id, snap.tick == tick)
            .order_by(snap.position)
        )
        return [
            (int(p), int(m), r, None if metric is None else float(metric))
            for p, m, r, metric in self.session.execute(stmt)
        ]

    def ranked_rows(self, contest_id: int, tick: int) -> list[RankedRow]:
        """Every row of the snapshot of ``tick`` with its ranking inputs, by position."""
        snap = LeaderboardSnapshotRow
        stmt = (
            select(
                snap.member_id,
                snap.position,
                snap.rank,
                snap.metric,
                snap.secondary,
                snap.reached_at,
                snap.qualified,
            )
            .where(snap.contest_id == contest_id, snap.tick == tick)
            .order_by(snap.position)
        )
        return [
            RankedRow(int(m), int(p), r, metric, secondary, int(reached), bool(q))
            for m, p, r, metric, secondary, reached, q in self.session.execute(stmt)
        ]

    def details(self, contest_id: int, tick: int, member_ids: Iterable[int]) -> dict[int, Detail]:
        """The shown columns of these members' rows in the snapshot of ``tick``."""
        wanted = list(member_ids)
        if not wanted:
            return {}
        snap = LeaderboardSnapshotRow
        stmt = (
            select(
                snap.member_id,
                UserRow.display_name,
                snap.metric,
                snap.total_return,
                snap.equity,
                snap.qualified,
                snap.trades,
            )
            .join(UserRow, UserRow.id == snap.member_id)
            .where(snap.contest_id == contest_id, snap.tick == tick, snap.member_id.in_(wanted))
        )
        return {int(row[0]): Detail(*row[1:]) for row in self.session.execute(stmt)}

    def history(
        self, contest_id: int, member_id: int
    ) -> list[tuple[int, date, int, int | None, Decimal | None]]:
        """(tick, day, position, rank, metric) of the member in every snapshot, by tick."""
        snap = LeaderboardSnapshotRow
        stmt = (
            select(snap.tick, snap.day, snap.position, snap.rank, snap.metric)
            .where(snap.contest_id == contest_id, snap.member_id == member_id)
            .order_by(snap.tick)
        )
        return [tuple(row) for row in self.session.execute(stmt)]  # type: ignore[misc]

    def team_page(self, contest_id: int, tick: int, *, after: int, limit: int) -> list[TeamPlacing]:
        """Up to ``limit`` rows of the team snapshot of ``tick`` after position ``after``."""
        snap = TeamSnapshotRow
        stmt = (
            select(snap.position, snap.rank, snap.team_id, TeamRow.name, snap.score)
            .add_columns(snap.members_counted)
            .join(TeamRow, TeamRow.id == snap.team_id)
            .where(snap.contest_id == contest_id, snap.tick == tick, snap.position > after)
            .order_by(snap.position)
            .limit(limit)
        )
        return [TeamPlacing(*row) for row in self.session.execute(stmt)]

    def team_ids(self, contest_id: int) -> list[int]:
        """The contest's team ids, ascending."""
        stmt = select(TeamRow.id).where(TeamRow.contest_id == contest_id).order_by(TeamRow.id)
        return list(self.session.scalars(stmt))

    def rank_history_public(self, member_id: int) -> bool | None:
        """The member's privacy setting for their rank history; ``None``: no such member."""
        return self.session.scalar(
            select(UserRow.rank_history_public).where(UserRow.id == member_id)
        )

    def display_names(self, member_ids: Iterable[int]) -> dict[int, str]:
        wanted = list(member_ids)
        if not wanted:
            return {}
        stmt = select(UserRow.id, UserRow.display_name).where(UserRow.id.in_(wanted))
        return {int(i): name for i, name in self.session.execute(stmt)}
