"""Persistence of teams (the writes and pages the team services need) and of PK rounds.

The rows are in ``engine.contests.store`` (migration 0007); the reads every area shares (a
team, a contest's teams, memberships) stay on ``ContestsRepository``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import keyset_page
from core.users.store import UserRow
from engine.contests.pk import Pairing, TeamRating
from engine.contests.store import PkMatchRow, PkRoundRow, TeamMemberRow, TeamRatingRow, TeamRow
from engine.trading.store import ContestRow, EquityRow

# (member id, username, display name, joined at) of one team member.
MemberRecord = tuple[int, str, str, datetime]


class TeamsRepository:
    """Team writes that must not lose a race, and the pages and member lists of the views."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def contest_shared(self, contest_id: int) -> ContestRow | None:
        """The contest under a shared lock: team changes run side by side but never across the
        clock's first tick (it holds the row exclusively), so teams freeze exactly at the start."""
        stmt = select(ContestRow).where(ContestRow.id == contest_id).with_for_update(read=True)
        return self.session.scalars(stmt).one_or_none()

    def add_team(self, team: TeamRow) -> bool:
        """Insert ``team``; False when its name (or invite code) is taken in the meantime."""
        return self._insert(team)

    def add_member(self, contest_id: int, team_id: int, member_id: int, now: datetime) -> bool:
        """Put the member in the team; False when they are already in a team of the contest."""
        row = TeamMemberRow(contest_id=contest_id, team_id=team_id, member_id=member_id)
        row.joined_at = now
        return self._insert(row)

    def _insert(self, row: TeamRow | TeamMemberRow) -> bool:
        # A savepoint, so a lost race leaves the transaction usable for the caller's refusal.
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return False
        return True

    def remove_member(self, contest_id: int, member_id: int) -> None:
        self.session.execute(
            delete(TeamMemberRow).where(
                TeamMemberRow.contest_id == contest_id, TeamMemberRow.member_id == member_id
            )
        )

    def delete_team(self, team_id: int) -> None:
        self.session.execute(delete(TeamRow).where(TeamRow.id == team_id))

    def teams_page(
        self, contest_id: int, *, after: int | None, limit: int
    ) -> tuple[list[TeamRow], int | None]:
        rows, following = keyset_page(
            self.session,
            select(TeamRow).where(TeamRow.contest_id == contest_id),
            key=TeamRow.id,
            after=after,
            limit=limit,
        )
        return list(rows), following

    def members_of(self, team_ids: Sequence[int]) -> dict[int, list[MemberRecord]]:
        """Each team's members in joining order (the captain succession order)."""
        found: dict[int, list[MemberRecord]] = {team_id: [] for team_id in team_ids}
        if not team_ids:
            return found
        stmt = (
            select(
                TeamMemberRow.team_id,
                TeamMemberRow.member_id,
                UserRow.username,
                UserRow.display_name,
                TeamMemberRow.joined_at,
            )
            .join(UserRow, UserRow.id == TeamMemberRow.member_id)
            .where(TeamMemberRow.team_id.in_(team_ids))
            .order_by(TeamMemberRow.team_id, TeamMemberRow.joined_at, TeamMemberRow.member_id)
        )
        for team_id, member_id, username, display_name, joined_at in self.session.execute(stmt):
            found[team_id].append((member_id, username, display_name, joined_at))
        return found

    def member_count(self, team_id: int) -> int:
        stmt = select(func.count()).where(TeamMemberRow.team_id == team_id)
        return int(self.session.scalar(stmt) or 0)


class PkRepository:
    """PK rounds, their boards and the teams' ratings."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # ratings
    def ratings(self, contest_id: int) -> dict[int, TeamRating]:
        stmt = select(TeamRatingRow).where(TeamRatingRow.contest_id == contest_id)
        return {
            row.team_id: TeamRating(row.team_id, row.mu, row.sigma)
            for row in self.session.scalars(stmt)
        }

    def save_ratings(self, contest_id: int, ratings: Iterable[TeamRating]) -> None:
        """Store the teams' ratings: one statement for those rated before, one for new ones."""
        self.session.flush()  # rating rows added through the ORM are in the table first
        table = cast(Table, TeamRatingRow.__table__)
        given = list(ratings)
        stored = set(
            self.session.scalars(
                select(TeamRatingRow.team_id).where(TeamRatingRow.contest_id == contest_id)
            )
        )
        rows = [{"team": r.team_id, "mu": r.mu, "sigma": r.sigma} for r in given]
        known = [row for row in rows if row["team"] in stored]
        new = [row | {"contest": contest_id} for row in rows if row["team"] not in stored]
        connection = self.session.connection()
        if known:
            connection.execute(
                table.update()
                .where(table.c.team_id == bindparam("team"))
                .values(mu=bindparam("mu"), sigma=bindparam("sigma")),
                known,
            )
        if new:
            connection.execute(
                table.insert().values(
                    team_id=bindparam("team"),
                    contest_id=bindparam("contest"),
                    mu=bindparam("mu"),
                    sigma=bindparam("sigma"),
                ),
                new,
            )
        for loaded in list(self.session.identity_map.values()):
            if isinstance(loaded, TeamRatingRow):  # stale now: reload on next use
                self.session.expire(loaded)

    # rounds and boards
    def add_round(self, row: PkRoundRow, boards: Sequence[PkMatchRow]) -> None:
        self.session.add(row)
        self.session.add_all(boards)
        self.session.flush()

    def rounds(self, contest_id: int) -> list[PkRoundRow]:
        stmt = (
            select(PkRoundRow)
            .where(PkRoundRow.contest_id == contest_id)
            .order_by(PkRoundRow.round_no)
        )
        return list(self.session.scalars(stmt))

    def open_round(self, contest_id: int) -> PkRoundRow | None:
        """The paired round not judged yet (there is at most one)."""
        stmt = select(PkRoundRow).where(
            PkRoundRow.contest_id == contest_id, PkRoundRow.judged.is_(False)
        )
        return self.session.scalars(stmt).one_or_none()

    def matches(self, contest_id: int, round_no: int | None = None) -> list[PkMatchRow]:
        """Boards of the contest (of one round), by round then board."""
        stmt = select(PkMatchRow).where(PkMatchRow.contest_id == contest_id)
        if round_no is not None:
            stmt = stmt.where(PkMatchRow.round_no == round_no)
        return list(self.session.scalars(stmt.order_by(PkMatchRow.round_no, PkMatchRow.board)))

    def pairings(self, contest_id: int) -> list[Pairing]:
        """Every board of the contest as a pairing, by round then board."""
        m = PkMatchRow
        stmt = (
            select(m.round_no, m.team_a, m.team_b)
            .where(m.contest_id == contest_id)
            .order_by(m.round_no, m.board)
        )
        return [Pairing(r, a, b) for r, a, b in self.session.execute(stmt)]

    def pending_matches(self, contest_id: int) -> list[PkMatchRow]:
        """The boards whose round awards are still to be paid, by id."""
        stmt = (
            select(PkMatchRow)
            .where(PkMatchRow.contest_id == contest_id, PkMatchRow.awards_pending.is_(True))
            .order_by(PkMatchRow.id)
        )
        return list(self.session.scalars(stmt))

    def clear_awards_pending(self, match_ids: Sequence[int]) -> None:
        table = cast(Table, PkMatchRow.__table__)
        self.session.connection().execute(
            table.update().where(table.c.id.in_(list(match_ids))).values(awards_pending=False)
        )

    def match(self, match_id: int, *, lock: bool = False) -> PkMatchRow | None:
        stmt = select(PkMatchRow).where(PkMatchRow.id == match_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt).one_or_none()

    # equity the judging reads
    def equity_on(self, contest_id: int, day: date) -> dict[int, Decimal]:
        """account id → equity at ``day``'s closes."""
        stmt = select(EquityRow.account_id, EquityRow.equity).where(
            EquityRow.contest_id == contest_id, EquityRow.day == day
        )
        return {int(account): equity for account, equity in self.session.execute(stmt)}
