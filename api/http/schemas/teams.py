"""HTTP shapes of teams and PK rounds; returns travel as decimal strings (fractions)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from engine.contests.pk import Outcome
from engine.contests.pk_rounds import PkBoard, PkOverview, PkRound, PkStanding
from engine.contests.teams import Team, TeamMember

RatioStr = Annotated[Decimal, PlainSerializer(lambda v: format(v, "f"), return_type=str)]


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, examples=["Bulls"])


class JoinTeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invite_code: str = Field(min_length=1, max_length=64)


class TeamMemberOut(BaseModel):
    member_id: int
    username: str
    display_name: str
    joined_at: datetime
    captain: bool

    @classmethod
    def of(cls, member: TeamMember) -> TeamMemberOut:
        return cls(
            member_id=member.member_id,
            username=member.username,
            display_name=member.display_name,
            joined_at=member.joined_at,
            captain=member.captain,
        )


class TeamOut(BaseModel):
    id: int
    contest_id: int
    name: str
    captain_id: int
    size: int
    max_size: int
    members: list[TeamMemberOut]
    created_at: datetime
    invite_code: str | None = Field(description="Shown to the team's members only")

    @classmethod
    def of(cls, team: Team) -> TeamOut:
        return cls(
            id=team.id,
            contest_id=team.contest_id,
            name=team.name,
            captain_id=team.captain_id,
            size=team.size,
            max_size=team.max_size,
            members=[TeamMemberOut.of(m) for m in team.members],
            created_at=team.created_at,
            invite_code=team.invite_code,
        )


class PkBoardOut(BaseModel):
    board: int
    team_a: int
    team_b: int | None = Field(description="None: a bye for team_a")
    a_return: RatioStr | None = Field(description="team_a's return over the round (0.012 = 1.2%)")
    b_return: RatioStr | None
    outcome: Outcome | None = Field(description="None until the round is judged")

    @classmethod
    def of(cls, board: PkBoard) -> PkBoardOut:
        return cls(
            board=board.board,
            team_a=board.team_a,
            team_b=board.team_b,
            a_return=board.a_return,
            b_return=board.b_return,
            outcome=board.outcome,
        )


class PkRoundOut(BaseModel):
    round_no: int
    first_tick: int
    last_tick: int
    start_day: date | None = Field(description="The close returns start from (None: starting cash)")
    end_day: date | None
    judged: bool
    boards: list[PkBoardOut]

    @classmethod
    def of(cls, r: PkRound) -> PkRoundOut:
        return cls(
            round_no=r.round_no,
            first_tick=r.first_tick,
            last_tick=r.last_tick,
            start_day=r.start_day,
            end_day=r.end_day,
            judged=r.judged,
            boards=[PkBoardOut.of(b) for b in r.boards],
        )


class PkStandingOut(BaseModel):
    place: int
    team_id: int
    team_name: str
    points: int = Field(description="3 a win or bye, 1 a draw, 0 a loss")
    played: int
    wins: int
    draws: int
    losses: int
    byes: int
    mu: float
    sigma: float
    ordinal: float = Field(description="openskill's mu - 3 sigma, the tie-break after points")

    @classmethod
    def of(cls, row: PkStanding) -> PkStandingOut:
        s = row.standing
        return cls(
            place=row.place,
            team_id=row.team_id,
            team_name=row.team_name,
            points=s.points,
            played=s.played,
            wins=s.wins,
            draws=s.draws,
            losses=s.losses,
            byes=s.byes,
            mu=s.mu,
            sigma=s.sigma,
            ordinal=s.ordinal,
        )


class PkOut(BaseModel):
    contest_id: int
    round_bars: int
    rounds: list[PkRoundOut]
    standings: list[PkStandingOut]

    @classmethod
    def of(cls, overview: PkOverview) -> PkOut:
        return cls(
            contest_id=overview.contest_id,
            round_bars=overview.round_bars,
            rounds=[PkRoundOut.of(r) for r in overview.rounds],
            standings=[PkStandingOut.of(s) for s in overview.standings],
        )
