"""Persistence of the game around contests: seasons, teams, follows, leaderboard snapshots,
PK rounds and ratings, prizes.

Rows only and the repository for seasons, entries, teams and follows; the standings, PK and
settlement repositories live next to their services' stores (``store_standings``, ``store_pk``,
``store_prizes``) so each area stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.clock import utc_now
from core.db import Amount, Base, UtcDateTime, keyset_page
from core.users.store import UserRow
from engine.trading.store import MONEY, AccountRow, ContestRow

# Ratios (returns, Sharpe, composite scores), rounded to 12 places before they are ranked so the
# stored value is exactly the ranked one.
RATIO = Amount(24, 12)


class SeasonRow(Base):
    __tablename__ = "seasons"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="ordered_dates"),
        CheckConstraint("data_source IN ('replay', 'live')", name="known_data_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64))
    # Local calendar dates in ``timezone``, both inclusive.
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    market: Mapped[str] = mapped_column(String(8))
    universe: Mapped[list[str]] = mapped_column(JSON)
    data_source: Mapped[str] = mapped_column(String(8))
    # For a replay season, the stored bars its contests' clocks walk through.
    replay_start: Mapped[date | None] = mapped_column(Date)
    replay_end: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class TeamRow(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("contest_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    captain_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    invite_code: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class TeamMemberRow(Base):
    """A member's team in a contest: at most one per contest (the primary key)."""

    __tablename__ = "team_members"

    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class FollowRow(Base):
    __tablename__ = "follows"
    __table_args__ = (CheckConstraint("follower_id <> followee_id", name="not_self"),)

    follower_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    followee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utc_now)


class LeaderboardSnapshotRow(Base):
    """One entry's place after one clock tick; the latest tick is the live leaderboard."""

    __tablename__ = "leaderboard_snapshots"
    __table_args__ = (
        Index("ix_leaderboard_snapshots_position", "contest_id", "tick", "position"),
        # A member's rank history (the chart) without scanning every tick of the contest.
        Index("ix_leaderboard_snapshots_member", "contest_id", "member_id", "tick"),
    )

    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), primary_key=True)
    tick: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int | None] = mapped_column(Integer)
    metric: Mapped[Decimal | None] = mapped_column(RATIO)
    secondary: Mapped[Decimal | None] = mapped_column(RATIO)
    reached_at: Mapped[int] = mapped_column(Integer)
    qualified: Mapped[bool] = mapped_column(Boolean)
    equity: Mapped[Decimal] = mapped_column(MONEY)
    total_return: Mapped[Decimal | None] = mapped_column(RATIO)
    trades: Mapped[int] = mapped_column(Integer, default=0)


class TeamSnapshotRow(Base):
    __tablename__ = "team_snapshots"
    __table_args__ = (Index("ix_team_snapshots_position", "contest_id", "tick", "position"),)

    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), primary_key=True)
    tick: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[Decimal | None] = mapped_column(RATIO)
    members_counted: Mapped[int] = mapped_column(Integer)


class MetricStateRow(Base):
    """The contest's running statistics (``RunningStats.to_state``) after ``tick``, so a tick
    costs O(entries) instead of re-reading every equity curve."""

    __tablename__ = "contest_metric_state"

    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), primary_key=True)
    tick: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary)


class PkRoundRow(Base):
    """A PK round spans ticks ``start_tick + 1 … end_tick``; paired when the previous round was
    judged (round 1 when trading starts), judged at ``end_tick``."""

    __tablename__ = "pk_rounds"
    __table_args__ = (UniqueConstraint("contest_id", "round_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    round_no: Mapped[int] = mapped_column(Integer)
    start_tick: Mapped[int] = mapped_column(Integer)
    end_tick: Mapped[int] = mapped_column(Integer)
    # The day of start_tick's closes (None for round 1: the starting cash is the base).
    start_day: Mapped[date | None] = mapped_column(Date)
    end_day: Mapped[date | None] = mapped_column(Date)
    judged: Mapped[bool] = mapped_column(Boolean, default=False)


class PkMatchRow(Base):
    __tablename__ = "pk_matches"
    __table_args__ = (Index("ix_pk_matches_contest_round", "contest_id", "round_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    round_no: Mapped[int] = mapped_column(Integer)
    board: Mapped[int] = mapped_column(Integer)
    team_a: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    team_b: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    a_return: Mapped[Decimal | None] = mapped_column(RATIO)
    b_return: Mapped[Decimal | None] = mapped_column(RATIO)
    outcome: Mapped[str | None] = mapped_column(String(8))
    # PK round awards are paid after the judging commits (an outbox flag, like referrals).
    awards_pending: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamRatingRow(Base):
    """A team's openskill rating (mu, sigma are model parameters, not money)."""

    __tablename__ = "team_ratings"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"), index=True)
    mu: Mapped[float] = mapped_column(Float)
    sigma: Mapped[float] = mapped_column(Float)


class PrizeRow(Base):
    """One prize owed by settlement; ``award_id`` is the ledger's idempotency key."""

    __tablename__ = "contest_prizes"
    __table_args__ = (Index("ix_contest_prizes_contest", "contest_id", "kind", "line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id"))
    kind: Mapped[str] = mapped_column(String(8))  # "contest" or "pk"
    line: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    rank: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    xp: Mapped[int] = mapped_column(Integer)
    item_key: Mapped[str | None] = mapped_column(String(64))
    award_id: Mapped[str] = mapped_column(String(128), unique=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


# --- repository -------------------------------------------------------------------------------


class ContestsRepository:
    """Seasons, contests as a game, entries, teams and follows."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # seasons
    def add(self, row: Any) -> Any:
        self.session.add(row)
        self.session.flush()
        return row

    def season(self, season_id: int, *, lock: bool = False) -> SeasonRow | None:
        stmt = select(SeasonRow).where(SeasonRow.id == season_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def seasons_page(self, *, after: int | None, limit: int) -> tuple[list[SeasonRow], int | None]:
        rows, following = keyset_page(
            self.session,
            select(SeasonRow),
            key=SeasonRow.id,
            after=after,
            limit=limit,
            descending=True,
        )
        return list(rows), following

    # contests
    def contests_page(
        self, *, where: Sequence[Any], after: int | None, limit: int
    ) -> tuple[list[ContestRow], int | None]:
        stmt = select(ContestRow).where(ContestRow.season_id.is_not(None), *where)
        rows, following = keyset_page(
            self.session, stmt, key=ContestRow.id, after=after, limit=limit, descending=True
        )
        return list(rows), following

    def contests_of_season(self, season_id: int) -> list[ContestRow]:
        stmt = select(ContestRow).where(ContestRow.season_id == season_id).order_by(ContestRow.id)
        return list(self.session.scalars(stmt))

    def entry_count(self, contest_id: int) -> int:
        stmt = select(func.count()).where(AccountRow.contest_id == contest_id)
        return int(self.session.scalar(stmt) or 0)

    def entry_counts(self, contest_ids: Sequence[int]) -> dict[int, int]:
        if not contest_ids:
            return {}
        stmt = (
            select(AccountRow.contest_id, func.count())
            .where(AccountRow.contest_id.in_(contest_ids))
            .group_by(AccountRow.contest_id)
        )
        return {contest_id: int(count) for contest_id, count in self.session.execute(stmt)}

    # teams
    def team(self, team_id: int, *, lock: bool = False) -> TeamRow | None:
        stmt = select(TeamRow).where(TeamRow.id == team_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    def teams(self, contest_id: int) -> list[TeamRow]:
        stmt = select(TeamRow).where(TeamRow.contest_id == contest_id).order_by(TeamRow.id)
        return list(self.session.scalars(stmt))

    def team_named(self, contest_id: int, name: str) -> TeamRow | None:
        stmt = select(TeamRow).where(TeamRow.contest_id == contest_id, TeamRow.name == name)
        return self.session.scalars(stmt).one_or_none()

    def team_of(self, contest_id: int, member_id: int) -> int | None:
        row = self.session.get(TeamMemberRow, (contest_id, member_id))
        return None if row is None else row.team_id

    def team_members(self, team_id: int) -> list[int]:
        stmt = (
            select(TeamMemberRow.member_id)
            .where(TeamMemberRow.team_id == team_id)
            .order_by(TeamMemberRow.joined_at, TeamMemberRow.member_id)
        )
        return list(self.session.scalars(stmt))

    def memberships(self, contest_id: int) -> dict[int, int]:
        """member id → team id for every team member in the contest."""
        stmt = select(TeamMemberRow.member_id, TeamMemberRow.team_id).where(
            TeamMemberRow.contest_id == contest_id
        )
        return {int(member): int(team) for member, team in self.session.execute(stmt)}

    def visible_condition(self, member_id: int) -> Any:
        """Contests the member may see: public ones, and private ones they entered."""
        entered = select(AccountRow.contest_id).where(AccountRow.member_id == member_id)
        return or_(ContestRow.invite_code.is_(None), ContestRow.id.in_(entered))

    def contests_entered(self, member_id: int) -> list[int]:
        stmt = (
            select(AccountRow.contest_id)
            .where(AccountRow.member_id == member_id)
            .order_by(AccountRow.contest_id.desc())
        )
        return list(self.session.scalars(stmt))

    # follows
    def member_exists(self, member_id: int) -> bool:
        return self.session.get(UserRow, member_id) is not None

    def follow(self, follower_id: int, followee_id: int) -> bool:
        """Record the follow; False when it already existed."""
        if self.session.get(FollowRow, (follower_id, followee_id)) is not None:
            return False
        self.session.add(FollowRow(follower_id=follower_id, followee_id=followee_id))
        self.session.flush()
        return True

    def unfollow(self, follower_id: int, followee_id: int) -> bool:
        row = self.session.get(FollowRow, (follower_id, followee_id))
        if row is None:
            return False
        self.session.delete(row)
        return True

    def followees(self, follower_id: int) -> list[int]:
        stmt = (
            select(FollowRow.followee_id)
            .where(FollowRow.follower_id == follower_id)
            .order_by(FollowRow.followee_id)
        )
        return list(self.session.scalars(stmt))
