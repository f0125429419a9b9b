"""Leaderboards on SQLite and PostgreSQL: every tick's ranks against a recomputation from the
stored equity curves and fills, metrics, qualification, ties across restarts, the views
(around me, friends, team, percentile), the team board and history."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import delete

from core.db import Database
from core.users.model import Role, User
from core.users.store import UserRepository
from engine import clock
from engine.contests import entries, leaderboard, metric_state, teams
from engine.contests.leaderboard import NotInTeam
from engine.contests.model import Contest, Season
from engine.contests.spec import MetricKind, MetricSpec, Qualification, TeamSettings
from engine.contests.store import MetricStateRow
from engine.trading import order_desk, stats, views
from engine.trading.valuation import composite_score
from engine.trading.venue import NotEntered
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build
from tests.contest_builders import NOW
from tests.engine_builders import request


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


@pytest.fixture
def season(uow: EngineUnitOfWork, operator: User) -> Season:
    return build.season(uow, operator)


@pytest.fixture
def make_member(database: Database) -> Callable[[], User]:
    """Members without a usable password: hashing one costs ~0.3 s, and these never log in."""
    counter = iter(range(1, 1_000_000))

    def make() -> User:
        with database.sessions.begin() as session:
            return UserRepository(session).add(
                username=f"trader{next(counter)}",
                display_name="trader",
                password_hash="!",
                roles=[Role.MEMBER],
                now=NOW,
            )

    return make


def entered(
    uow: EngineUnitOfWork, contest: Contest, make_user: Callable[[], User], n: int
) -> list[User]:
    members = [make_user() for _ in range(n)]
    for member in members:
        entries.join_contest(uow, contest.id, member.id, now=NOW)
    return members


def buy(uow: EngineUnitOfWork, contest: Contest, member: User, symbol: str, qty: str) -> None:
    order_desk.place_order(uow, contest.id, member.id, request(symbol=symbol, qty=qty))


def sell(uow: EngineUnitOfWork, contest: Contest, member: User, symbol: str, qty: str) -> None:
    order_desk.place_order(uow, contest.id, member.id, request("sell", symbol=symbol, qty=qty))


def board(
    uow: EngineUnitOfWork, contest: Contest, viewer: User
) -> list[leaderboard.LeaderboardRow]:
    return list(leaderboard.leaderboard(uow, contest.id, viewer.id, limit=200).rows)


def run_field(
    uow: EngineUnitOfWork, contest: Contest, make_member: Callable[[], User]
) -> list[User]:
    """Seven members from the start and one who joins after tick 3, trading over 8 ticks:
    m0 and m3 trade alike (a tie), m5 and m6 never trade, m7 joins late."""
    m = entered(uow, contest, make_member, 7)
    sym = contest.universe
    clock.advance_clock(uow, contest.id)
    for member, symbol, qty in [
        (m[0], sym[0], "1000"),
        (m[3], sym[0], "1000"),
        (m[1], sym[1], "2000"),
        (m[2], sym[2], "500"),
    ]:
        buy(uow, contest, member, symbol, qty)
    clock.advance_clock(uow, contest.id)
    buy(uow, contest, m[4], sym[3], "3000")
    clock.advance_clock(uow, contest.id)
    late = entered(uow, contest, make_member, 1)[0]
    buy(uow, contest, late, sym[1], "1000")
    clock.advance_clock(uow, contest.id)
    sell(uow, contest, m[0], sym[0], "1000")
    sell(uow, contest, m[3], sym[0], "1000")
    sell(uow, contest, m[2], sym[2], "200")
    clock.advance_clock(uow, contest.id, bars=4)
    return [*m, late]


# --- an independent recomputation ------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    member_id: int
    statistics: stats.Statistics
    trades: int
    round_trips: int
    active_days: int
    first_day_index: int  # index into the revealed days of the member's first mark


def recompute(uow: EngineUnitOfWork, contest: Contest, members: Sequence[User]) -> list[Expected]:
    """Each member's statistics from the stored equity curve and fills, one at a time."""
    found = []
    days = build.uow_trading_days(uow, list(contest.universe))
    for member in members:
        curve = views.portfolio_history(uow, contest.id, member.id)
        with uow.reading():
            account = uow.trading.account(contest.id, member.id)
            assert account is not None
            fills = uow.trading.fills(account.id)
        closing = [f.realized_pnl for f in fills if f.realized_pnl != 0]
        found.append(
            Expected(
                member.id,
                stats.performance(
                    [contest.starting_cash] + [e for _, _, e in curve], closed_trade_pnls=closing
                ),
                trades=len(fills),
                round_trips=len(closing),
                active_days=len({f.day for f in fills}),
                first_day_index=days.index(curve[0][0]),
            )
        )
    return found


def competition_ranks(scores: dict[int, tuple[float, ...]]) -> dict[int, int]:
    """rank = 1 + the number of entries with a strictly better score tuple."""
    return {m: 1 + sum(other > mine for other in scores.values()) for m, mine in scores.items()}


def ratio(value: float | None) -> float:
    return float("nan") if value is None else round(value, 12)


# --- ranks and metrics -----------------------------------------------------------------------


def test_ranks_after_the_ticks_match_a_recomputation_from_the_equity_curves(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    contest = build.contest(
        uow, season, secondary_metric="sharpe", qualification=Qualification(min_trades=1)
    )
    members = run_field(uow, contest, make_member)
    expected = {e.member_id: e for e in recompute(uow, contest, members)}
    rows = board(uow, contest, members[0])

    qualified = {m: e.trades >= 1 for m, e in expected.items()}
    scores = {
        m: (ratio(e.statistics.total_return), ratio(e.statistics.sharpe))
        for m, e in expected.items()
        if qualified[m]
    }
    assert {r.member_id: r.rank for r in rows} == {
        m: competition_ranks(scores).get(m) for m in expected
    }
    for row in rows:
        e = expected[row.member_id]
        assert row.qualified == qualified[row.member_id]
        assert row.trades == e.trades
        assert float(row.total_return or 0) == pytest.approx(e.statistics.total_return, abs=1e-12)
        assert float(row.metric or 0) == pytest.approx(e.statistics.total_return, abs=1e-12)
    assert [r.position for r in rows] == list(range(1, len(members) + 1))
    ranked = [r for r in rows if r.rank is not None]
    assert rows[: len(ranked)] == ranked  # unqualified members are listed after, unranked
    tied = {r.member_id: r.rank for r in rows if r.member_id in (members[0].id, members[3].id)}
    assert len(set(tied.values())) == 1  # identical trading shares a rank
    assert [r.member_id for r in rows if r.rank == next(iter(tied.values()))] == sorted(tied)
    with uow.reading():
        assert metric_state.check_metric_state(uow, contest.id) == []


def test_the_late_joiner_is_measured_from_its_own_start(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    contest = build.contest(uow, season)
    members = run_field(uow, contest, make_member)
    late = recompute(uow, contest, members[-1:])[0]
    assert late.first_day_index == 3  # first marked at tick 4
    mine = next(r for r in board(uow, contest, members[-1]) if r.member_id == members[-1].id)
    assert float(mine.total_return or 0) == pytest.approx(late.statistics.total_return, abs=1e-12)
    history = leaderboard.history(uow, contest.id, members[-1].id)
    assert [p.tick for p in history] == [4, 5, 6, 7, 8]


def test_excess_return_subtracts_the_benchmark_over_each_entrys_own_span(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    benchmark = season.universe[5]
    contest = build.contest(uow, season, metric=MetricSpec(MetricKind.EXCESS_RETURN, benchmark))
    members = run_field(uow, contest, make_member)
    days = build.uow_trading_days(uow, list(contest.universe))
    with uow.reading():
        closes = {b.day: float(b.close) for b in uow.market.bars(benchmark, days[0], days[7])}
    now = closes[days[7]]
    rows = {r.member_id: r for r in board(uow, contest, members[0])}
    for e in recompute(uow, contest, members):
        base = closes[days[max(e.first_day_index - 1, 0)]]  # the close before the first mark
        excess = e.statistics.total_return - (now / base - 1)
        assert float(rows[e.member_id].metric or 0) == pytest.approx(excess, abs=1e-11)
    idle = rows[members[5].id]
    assert float(idle.metric or 0) == pytest.approx(-(now / closes[days[0]] - 1), abs=1e-11)


def test_the_composite_scores_the_qualified_field_by_percentiles(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    weights = {
        "total_return": Decimal("0.7"),
        "win_rate": Decimal("0.15"),
        "max_drawdown": Decimal("0.15"),
    }
    contest = build.contest(
        uow,
        season,
        metric=MetricSpec(MetricKind.COMPOSITE, weights=weights),
        qualification=Qualification(min_trades=1),
    )
    members = run_field(uow, contest, make_member)
    field = [e for e in recompute(uow, contest, members) if e.trades >= 1]

    def vector(name: str) -> np.ndarray:
        values = [getattr(e.statistics, name) for e in field]
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    score = composite_score(
        {name: vector(name) for name in weights}, {k: float(v) for k, v in weights.items()}
    )
    rows = {r.member_id: r for r in board(uow, contest, members[0])}
    for e, expected in zip(field, score, strict=True):
        assert float(rows[e.member_id].metric or 0) == pytest.approx(expected, abs=1e-12)
    assert rows[members[5].id].metric is None and rows[members[5].id].rank is None
    assert rows[members[0].id].rank == rows[members[3].id].rank  # alike in every base metric


def test_qualification_lists_unqualified_entries_unranked(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    contest = build.contest(
        uow, season, qualification=Qualification(min_round_trips=1, min_active_days=2)
    )
    members = run_field(uow, contest, make_member)
    rows = board(uow, contest, members[0])
    ranked = {r.member_id for r in rows if r.rank is not None}
    # only those who bought, then sold on another day, closed a trade on two days
    assert ranked == {members[0].id, members[2].id, members[3].id}
    assert all(not r.qualified for r in rows[3:]) and all(r.qualified for r in rows[:3])
    me = leaderboard.leaderboard(uow, contest.id, members[5].id).me
    assert me is not None and me.rank is None and me.percentile is None and me.position > 3


# --- ties, restarts and the stored state -----------------------------------------------------


def test_tie_order_and_ranks_survive_a_restart_and_a_lost_state(
    uow: EngineUnitOfWork,
    database: Database,
    season: Season,
    make_member: Callable[[], User],
) -> None:
    kept = build.contest(uow, season)
    lost = build.contest(uow, season, title="Twin")
    members = entered(uow, kept, make_member, 6)
    for member in members:
        entries.join_contest(uow, lost.id, member.id, now=NOW)
    for contest in (kept, lost):
        clock.advance_clock(uow, contest.id)
        buy(uow, contest, members[4], contest.universe[0], "1000")
        clock.advance_clock(uow, contest.id, bars=2)
    before = board(uow, lost, members[0])
    uow.caches.standings.clear()  # a new process: the standings come from the snapshot
    assert board(uow, lost, members[0]) == before
    idle = [r.member_id for r in before if r.member_id != members[4].id]
    assert idle == sorted(idle)  # equal metrics, equal reached_at: by member id

    with database.sessions.begin() as session:  # the running state is lost
        session.execute(delete(MetricStateRow).where(MetricStateRow.contest_id == lost.id))
    for contest in (kept, lost):
        clock.advance_clock(uow, contest.id, bars=2)
    uow.caches.standings.clear()
    assert [(r.member_id, r.rank, r.metric) for r in board(uow, lost, members[0])] == [
        (r.member_id, r.rank, r.metric) for r in board(uow, kept, members[0])
    ]
    with uow.reading():
        assert metric_state.check_metric_state(uow, lost.id) == []
        assert metric_state.check_metric_state(uow, kept.id) == []


def test_reached_at_keeps_the_tick_a_metric_was_first_reached(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    contest = build.contest(uow, season)
    members = entered(uow, contest, make_member, 2)
    clock.advance_clock(uow, contest.id)
    buy(uow, contest, members[0], contest.universe[0], "1000")
    clock.advance_clock(uow, contest.id, bars=3)
    with uow.reading():
        marks = uow.standings.marks(contest.id, 4)
    assert marks[members[1].id] == (Decimal(0), 1)  # idle: 0 since tick 1
    assert marks[members[0].id][1] == 4  # trading: a new value every tick


# --- views -----------------------------------------------------------------------------------


def test_pages_around_me_friends_and_percentile(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    contest = build.contest(uow, season)
    members = entered(uow, contest, make_member, 12)
    clock.advance_clock(uow, contest.id)
    for i, member in enumerate(members[:10]):
        buy(uow, contest, member, contest.universe[i % 6], str(100 * (i + 1)))
    clock.advance_clock(uow, contest.id, bars=3)
    everyone = board(uow, contest, members[0])

    first = leaderboard.leaderboard(uow, contest.id, members[0].id, limit=5)
    assert first.rows == tuple(everyone[:5]) and first.next_cursor == 5
    second = leaderboard.leaderboard(uow, contest.id, members[0].id, limit=5, cursor=5)
    third = leaderboard.leaderboard(uow, contest.id, members[0].id, limit=5, cursor=10)
    assert second.rows + third.rows == tuple(everyone[5:]) and third.next_cursor is None

    middle = everyone[6].member_id
    around = leaderboard.leaderboard(uow, contest.id, middle, around=True, k=2)
    assert [r.position for r in around.rows] == [5, 6, 7, 8, 9]
    assert around.me is not None and around.me.position == 7
    top = everyone[0].member_id
    assert [
        r.position for r in leaderboard.leaderboard(uow, contest.id, top, around=True, k=2).rows
    ] == [1, 2, 3]
    rank = around.me.rank
    assert rank is not None
    assert around.me.percentile == pytest.approx(100 * (12 - rank + 1) / 12)

    viewer = members[0]
    for friend in (members[3], members[7]):
        entries.follow(uow, viewer.id, friend.id)
    friends = leaderboard.leaderboard(uow, contest.id, viewer.id, scope="friends")
    wanted = {viewer.id, members[3].id, members[7].id}
    assert friends.rows == tuple(r for r in everyone if r.member_id in wanted)
    paged = leaderboard.leaderboard(uow, contest.id, viewer.id, scope="friends", limit=2)
    assert paged.rows == friends.rows[:2] and paged.next_cursor == friends.rows[1].position
    rest = leaderboard.leaderboard(
        uow, contest.id, viewer.id, scope="friends", cursor=paged.next_cursor
    )
    assert rest.rows == friends.rows[2:]
    near = leaderboard.leaderboard(uow, contest.id, viewer.id, scope="friends", around=True, k=0)
    assert [r.member_id for r in near.rows] == [viewer.id]


def test_before_the_first_tick_the_board_is_empty(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    contest = build.contest(uow, season)
    member = entered(uow, contest, make_member, 1)[0]
    empty = leaderboard.leaderboard(uow, contest.id, member.id)
    assert (empty.tick, empty.rows, empty.me, empty.next_cursor) == (0, (), None, None)
    assert leaderboard.leaderboard(uow, contest.id, member.id, around=True).rows == ()
    with uow.reading():
        assert leaderboard.current(uow, contest.id) is None


def test_around_me_needs_an_entry_and_the_team_scope_a_team(
    uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    contest = build.contest(uow, season, teams=TeamSettings(max_size=3))
    member = entered(uow, contest, make_member, 1)[0]
    clock.advance_clock(uow, contest.id)
    outsider = make_member()
    with pytest.raises(NotEntered):
        leaderboard.leaderboard(uow, contest.id, outsider.id, around=True)
    with pytest.raises(NotInTeam) as caught:
        leaderboard.leaderboard(uow, contest.id, member.id, scope="team")
    assert caught.value.extensions["rule"] == "not_in_team"


@pytest.mark.parametrize("how", ["mean", "median"])
def test_the_team_board_aggregates_members_metrics(
    how: str, uow: EngineUnitOfWork, season: Season, make_member: Callable[[], User]
) -> None:
    contest = build.contest(
        uow,
        season,
        teams=TeamSettings(max_size=3, score=how),  # type: ignore[arg-type]
        qualification=Qualification(min_trades=1),
    )
    members = entered(uow, contest, make_member, 7)
    red = teams.create_team(uow, contest.id, members[0].id, "Red", now=NOW)
    blue = teams.create_team(uow, contest.id, members[3].id, "Blue", now=NOW)
    for member, team in [(members[1], red), (members[2], red), (members[4], blue)]:
        assert team.invite_code is not None
        teams.join_team(uow, team.id, member.id, team.invite_code, now=NOW)
    clock.advance_clock(uow, contest.id)
    for i, qty in enumerate(["100", "5000", "20000", "300", "4000", "1000"]):
        buy(uow, contest, members[i], contest.universe[i % 2], qty)  # m6 stays idle
    clock.advance_clock(uow, contest.id, bars=3)

    metric = {r.member_id: float(r.metric or 0) for r in board(uow, contest, members[0])}
    aggregate = np.mean if how == "mean" else np.median
    expected = {
        red.id: aggregate([metric[m.id] for m in members[:3]]),
        blue.id: aggregate([metric[m.id] for m in members[3:5]]),
    }
    team_board = leaderboard.team_leaderboard(uow, contest.id)
    assert {t.team_id: float(t.score or 0) for t in team_board.rows} == pytest.approx(expected)
    assert [t.rank for t in team_board.rows] == [1, 2]
    assert team_board.rows[0].score is not None and team_board.rows[1].score is not None
    assert team_board.rows[0].score >= team_board.rows[1].score
    assert {t.team_id: t.members_counted for t in team_board.rows} == {red.id: 3, blue.id: 2}
    paged = leaderboard.team_leaderboard(uow, contest.id, limit=1)
    assert paged.rows == team_board.rows[:1] and paged.next_cursor == 1

    mine = leaderboard.leaderboard(uow, contest.id, members[4].id, scope="team")
    assert {r.member_id for r in mine.rows} == {members[3].id, members[4].id}
