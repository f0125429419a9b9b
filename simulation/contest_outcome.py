"""The contests' outcome at the end of the season: one ``ContestReport`` and ``PkReport`` per
contest, and the final standings as plain rows for the digest."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.pagination import MAX_LIMIT
from engine.contests import leaderboard
from engine.contests.pk import Outcome
from engine.contests.pk_rounds import pk_overview
from engine.market.model import Market
from engine.trading.views import portfolio_history
from engine.uow import EngineUnitOfWork
from simulation.contest_arena import Arena
from simulation.context import SimulationContext
from simulation.model import ContestReport, LeaderRow, PkMatch, PkReport, TeamRow

StandingRow = tuple[str, int, str, str]  # contest, position, member username, metric as text

TOP_MEMBERS = 8  # members drawn in the equity and rank charts
LEADERS = 10  # leaderboard rows in the report


@dataclass(frozen=True, slots=True)
class ContestOutcome:
    contests: tuple[ContestReport, ...] = ()
    pk: tuple[PkReport, ...] = ()
    standings: tuple[StandingRow, ...] = ()  # every contest's final leaderboard, for the digest
    team_standings: tuple[tuple[int, str, str], ...] = ()  # place, contest: team, PK points


def read_outcome(
    uow: EngineUnitOfWork,
    sim: SimulationContext,
    arenas: Sequence[Arena],
    *,
    prizes_paid: dict[int, int],
    prize_points: dict[int, int],
) -> ContestOutcome:
    """Every contest's report, PK report and final standings, read through the leaderboard,
    history and PK services (``prizes_paid``, ``prize_points``: by contest id, from settlement)."""
    names = {m.user_id: m.username for m in sim.members}
    contests, pks = [], []
    standings: list[StandingRow] = []
    team_standings: list[tuple[int, str, str]] = []
    for arena in arenas:
        board = _whole_board(uow, arena.contest_id, sim.operator_id)
        standings += [
            (
                arena.title,
                row.position,
                names[row.member_id],
                "unranked" if row.rank is None else str(row.metric),
            )
            for row in board
        ]
        contests.append(
            _contest_report(
                uow, sim, arena, board, names, prizes_paid=prizes_paid, prize_points=prize_points
            )
        )
        pk = _pk_report(uow, sim, arena)
        if pk is not None:
            pks.append(pk)
            team_standings += [
                (t.rank, f"{arena.title}: {t.team}", f"{t.points:g}") for t in pk.standings
            ]
    return ContestOutcome(tuple(contests), tuple(pks), tuple(standings), tuple(team_standings))


def _contest_report(
    uow: EngineUnitOfWork,
    sim: SimulationContext,
    arena: Arena,
    board: Sequence[leaderboard.LeaderboardRow],
    names: dict[int, str],
    *,
    prizes_paid: dict[int, int],
    prize_points: dict[int, int],
) -> ContestReport:
    dates = sim.calendar.trading_dates
    column = {d: n for n, d in enumerate(dates)}

    def aligned(points: Sequence[tuple[date, float]]) -> tuple[float, ...]:
        values = [math.nan] * len(dates)
        for day, value in points:
            values[column[day]] = value
        return tuple(values)

    top = board[:TOP_MEMBERS]
    curves, ranks = {}, {}
    for row in top:
        name = names[row.member_id]
        history = portfolio_history(uow, arena.contest_id, row.member_id)
        curves[name] = aligned([(day, float(equity)) for day, _, equity in history])
        places = leaderboard.history(uow, arena.contest_id, row.member_id)
        ranks[name] = aligned([(p.day, float(p.position)) for p in places])
    return ContestReport(
        name=arena.title,
        market=arena.market,
        dates=dates,
        equity_curves=curves,
        final_returns=tuple(
            float(row.total_return) for row in board if row.total_return is not None
        ),
        rank_history=ranks,
        leaderboard=tuple(
            LeaderRow(
                rank=row.position if row.rank is None else row.rank,
                member=names[row.member_id],
                team=arena.team_names.get(arena.team_of.get(row.member_id, -1)),
                metric=_metric_text(row.metric, arena.market),
                total_return=float(row.total_return or 0),
            )
            for row in board[:LEADERS]
        ),
        orders_accepted=arena.accepted,
        orders_rejected=dict(sorted(arena.refused.items())),
        prizes_paid=prizes_paid.get(arena.contest_id, 0),
        prize_points=prize_points.get(arena.contest_id, 0),
        entrants=len(board),
        ranked=sum(1 for row in board if row.rank is not None),
        fills=arena.fills,
        orders_by_style=dict(sorted(arena.by_style.items())),
    )


def _pk_report(uow: EngineUnitOfWork, sim: SimulationContext, arena: Arena) -> PkReport | None:
    if not arena.team_names:
        return None
    overview = pk_overview(uow, arena.contest_id)
    name = arena.team_names.get
    matches = tuple(
        PkMatch(
            round=r.round_no,
            home=name(b.team_a, "?"),
            away="bye" if b.team_b is None else name(b.team_b, "?"),
            home_score=float(b.a_return or 0),
            away_score=float(b.b_return or 0),
            result=_result(b.outcome),
        )
        for r in overview.rounds
        if r.judged
        for b in r.boards
    )
    table = tuple(
        TeamRow(
            rank=s.place,
            team=s.team_name,
            points=float(s.standing.points),
            wins=s.standing.wins,
            draws=s.standing.draws,
            losses=s.standing.losses,
        )
        for s in overview.standings
    )
    in_teams = max(1, len(arena.team_of))
    share = tuple(
        len(arena.traded_by_round.get(r, ())) / in_teams for r in range(1, sim.calendar.rounds + 1)
    )
    return PkReport(arena.title, matches, table, share)


def _result(outcome: Outcome | None) -> str:
    results = {Outcome.WIN_A: "home", Outcome.WIN_B: "away", Outcome.DRAW: "draw"}
    return "bye" if outcome is None else results.get(outcome, "bye")


def _metric_text(metric: Decimal | None, market: Market) -> str:
    if metric is None:
        return "–"
    return f"{metric:.4f}" if market is Market.CN else f"{metric:+.2%}"


def _whole_board(
    uow: EngineUnitOfWork, contest_id: int, viewer_id: int
) -> list[leaderboard.LeaderboardRow]:
    rows: list[leaderboard.LeaderboardRow] = []
    cursor: int | None = 0
    while cursor is not None:
        page = leaderboard.leaderboard(uow, contest_id, viewer_id, limit=MAX_LIMIT, cursor=cursor)
        rows += page.rows
        cursor = page.next_cursor
    return rows
