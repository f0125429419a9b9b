"""Teams and PK rounds on SQLite and PostgreSQL: team rules, a join race, rounds judged from the
equity history, ratings, standings, and round awards paid exactly once."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from core.db import Database
from core.errors import NotFound, PermissionDenied, RuleViolation
from core.users import services as users
from core.users.model import Role, User
from core.users.services import NewAccount, UsersUnitOfWork
from engine import clock
from engine.contests import entries, pk_rounds, teams
from engine.contests.model import Contest
from engine.contests.pk import Outcome, new_rating
from engine.contests.spec import PkSettings, TeamSettings
from engine.contests.teams import TeamRefused
from engine.market.model import Market
from engine.trading import order_desk, views
from engine.trading.store import AccountRow
from engine.trading.venue import NotEntered
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger.earning import Award
from tests import contest_builders as build
from tests.concurrency import race
from tests.contest_builders import NOW
from tests.engine_builders import request

WIN, DRAW = Award(points=10, xp=4), Award(points=3, xp=1)


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def entered(uow: EngineUnitOfWork, contest: Contest, *members: User) -> None:
    for member in members:
        entries.join_contest(uow, contest.id, member.id, now=NOW)


def rule_of(error: pytest.ExceptionInfo[Any]) -> str:
    return str(error.value.extensions["rule"])


# --- teams ------------------------------------------------------------------------------------


def test_team_rules_each_refusal_names_its_rule_and_writes_nothing(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season, teams=TeamSettings(max_size=2))
    captain, mate, third, outsider = (make_user() for _ in range(4))
    entered(uow, contest, captain, mate, third)

    with pytest.raises(NotEntered) as not_entered:
        teams.create_team(uow, contest.id, outsider.id, "Bulls")
    assert rule_of(not_entered) == "not_entered"
    bulls = teams.create_team(uow, contest.id, captain.id, "  Bulls ")
    assert (bulls.name, bulls.captain_id, bulls.size) == ("Bulls", captain.id, 1)
    assert bulls.members[0].captain and bulls.invite_code

    with pytest.raises(TeamRefused) as taken:
        teams.create_team(uow, contest.id, mate.id, "Bulls")
    assert rule_of(taken) == "team_name_taken"
    with pytest.raises(TeamRefused) as second_team:
        teams.create_team(uow, contest.id, captain.id, "Bears")
    assert rule_of(second_team) == "already_in_team"
    with pytest.raises(PermissionDenied) as wrong_code:
        teams.join_team(uow, bulls.id, mate.id, "not-the-code")
    assert rule_of(wrong_code) == "invite_code"
    with pytest.raises(NotEntered):
        teams.join_team(uow, bulls.id, outsider.id, bulls.invite_code or "")

    joined = teams.join_team(uow, bulls.id, mate.id, bulls.invite_code or "")
    assert [m.member_id for m in joined.members] == [captain.id, mate.id]
    with pytest.raises(TeamRefused) as again:
        teams.join_team(uow, bulls.id, mate.id, bulls.invite_code or "")
    assert rule_of(again) == "already_in_team"
    with pytest.raises(TeamRefused) as full:
        teams.join_team(uow, bulls.id, third.id, bulls.invite_code or "")
    assert rule_of(full) == "team_full"

    # Nothing the refusals touched was written; the code shows to members only.
    assert teams.team(uow, bulls.id, viewer_id=mate.id).size == 2
    assert teams.team(uow, bulls.id, viewer_id=third.id).invite_code is None
    listed, _ = teams.teams_of_contest(uow, contest.id, viewer_id=third.id)
    assert [(t.name, t.invite_code) for t in listed] == [("Bulls", None)]

    no_teams = build.contest(uow, season)
    entered(uow, no_teams, captain)
    with pytest.raises(RuleViolation) as refused:
        teams.create_team(uow, no_teams.id, captain.id, "Solo")
    assert refused.value.rule == "no_teams"
    with pytest.raises(NotFound):
        teams.create_team(uow, 10**6, captain.id, "Ghosts")


def test_the_next_member_captains_when_the_captain_leaves_and_the_last_deletes_the_team(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season, teams=TeamSettings(max_size=3))
    captain, second, third = (make_user() for _ in range(3))
    entered(uow, contest, captain, second, third)
    team = teams.create_team(uow, contest.id, captain.id, "Owls")
    for member in (second, third):
        teams.join_team(uow, team.id, member.id, team.invite_code or "")

    after = teams.leave_team(uow, team.id, captain.id)
    assert after is not None and after.captain_id == second.id and after.size == 2
    with pytest.raises(NotFound):
        teams.leave_team(uow, team.id, captain.id)
    assert teams.leave_team(uow, team.id, second.id) is not None
    assert teams.leave_team(uow, team.id, third.id) is None
    with pytest.raises(NotFound):
        teams.team(uow, team.id)
    # The name is free again, and the former members may start over.
    assert teams.create_team(uow, contest.id, third.id, "Owls").captain_id == third.id


def test_teams_page_with_a_cursor(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season, teams=TeamSettings())
    captains = [make_user() for _ in range(3)]
    entered(uow, contest, *captains)
    made = [teams.create_team(uow, contest.id, c.id, f"T{i}").id for i, c in enumerate(captains)]
    first, cursor = teams.teams_of_contest(uow, contest.id, limit=2)
    rest, end = teams.teams_of_contest(uow, contest.id, after=cursor, limit=2)
    assert [t.id for t in first + rest] == made and end is None


def test_teams_are_fixed_once_trading_starts(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season, teams=TeamSettings())
    captain, mate, late = (make_user() for _ in range(3))
    entered(uow, contest, captain, mate, late)
    team = teams.create_team(uow, contest.id, captain.id, "Early")
    teams.join_team(uow, team.id, mate.id, team.invite_code or "")
    clock.advance_clock(uow, contest.id)

    attempts: list[Callable[[], object]] = [
        lambda: teams.create_team(uow, contest.id, late.id, "Late"),
        lambda: teams.join_team(uow, team.id, late.id, team.invite_code or ""),
        lambda: teams.leave_team(uow, team.id, mate.id),
    ]
    for attempt in attempts:
        with pytest.raises(TeamRefused) as fixed:
            attempt()
        assert rule_of(fixed) == "teams_fixed"
    assert teams.team(uow, team.id).size == 2


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


@pytest.mark.postgres_only
def test_concurrent_joins_never_overfill_a_team(pg_database: Database) -> None:
    uow = EngineUnitOfWork(pg_database.sessions)
    people = users.create_users(
        UsersUnitOfWork(pg_database.sessions),
        [NewAccount(f"racer{i}", roles=frozenset({Role.OPERATOR, Role.MEMBER})) for i in range(13)],
        password="a long password",
    )
    operator, captain, joiners = people[0], people[1], people[2:]
    season = build.season(uow, operator, days=10)
    contest = build.contest(uow, season, teams=TeamSettings(max_size=4))
    entered(uow, contest, captain, *joiners)
    team = teams.create_team(uow, contest.id, captain.id, "Crowded")
    code = team.invite_code or ""

    outcomes = race(
        len(joiners),
        lambda i: teams.join_team(
            EngineUnitOfWork(pg_database.sessions), team.id, joiners[i].id, code
        ),
    )
    joined = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, TeamRefused)]
    assert len(joined) == 3 and len(refused) == len(joiners) - 3, outcomes
    assert {o.extensions["rule"] for o in refused} == {"team_full"}
    assert teams.team(uow, team.id).size == 4


# --- PK rounds --------------------------------------------------------------------------------


@dataclass
class League:
    contest: Contest
    team_ids: list[int]
    members: dict[int, list[User]]  # team id → members
    days: list[date]


def league(
    uow: EngineUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
    *,
    team_count: int,
    round_bars: int,
    bars: int = 14,
    teams_settings: TeamSettings | None = None,
) -> League:
    """``team_count`` teams of two in a US contest; after the first bar every member buys a
    different amount of a different stock, so teams' returns differ from round to round."""
    season = build.season(uow, operator, market=Market.US, days=bars, count=4, seed=11)
    contest = build.contest(
        uow,
        season,
        teams=teams_settings or TeamSettings(max_size=2),
        pk=PkSettings(round_bars=round_bars, draw_band=Decimal("0.0005"), win=WIN, draw=DRAW),
    )
    members: dict[int, list[User]] = {}
    for t in range(team_count):
        pair = [make_user(), make_user()]
        entered(uow, contest, *pair)
        team = teams.create_team(uow, contest.id, pair[0].id, f"Team {t}")
        teams.join_team(uow, team.id, pair[1].id, team.invite_code or "")
        members[team.id] = pair
    clock.advance_clock(uow, contest.id)
    symbols = list(season.universe)
    for i, member in enumerate(m for pair in members.values() for m in pair):
        if i % 5 == 4:
            continue  # some members sit on cash
        order = request(symbol=symbols[i % len(symbols)], qty=None, notional=str(50_000 * (i + 1)))
        order_desk.place_order(uow, contest.id, member.id, order)
    days = build.uow_trading_days(uow, list(season.universe))
    return League(contest, list(members), members, days)


def test_round_one_is_paired_from_the_starting_cash_when_trading_starts(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    game = league(uow, operator, make_user, team_count=4, round_bars=3)
    overview = pk_rounds.pk_overview(uow, game.contest.id)
    (first,) = overview.rounds
    assert (first.round_no, first.first_tick, first.last_tick) == (1, 1, 3)
    assert first.start_day is None and not first.judged
    assert len(first.boards) == 2 and all(b.outcome is None for b in first.boards)
    paired = sorted(t for b in first.boards for t in (b.team_a, b.team_b))
    assert paired == sorted(game.team_ids)
    assert all(s.standing.points == 0 for s in overview.standings)


def test_pk_rounds_pair_without_rematches_judge_from_equity_and_rate(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    game = league(uow, operator, make_user, team_count=5, round_bars=2, bars=10)
    report = clock.advance_clock(uow, game.contest.id, bars=100)
    assert report.finished
    overview = pk_rounds.pk_overview(uow, game.contest.id)
    rounds = overview.rounds
    assert len(rounds) == math.ceil(len(game.days) / 2) == 5
    assert all(r.judged for r in rounds)
    assert [(r.first_tick, r.last_tick) for r in rounds] == [
        (2 * i + 1, min(2 * i + 2, len(game.days))) for i in range(5)
    ]

    # Swiss: five teams, five rounds — every pair meets at most once, every team sits out once.
    pairs = [frozenset((b.team_a, b.team_b)) for r in rounds for b in r.boards if b.team_b]
    assert len(pairs) == len(set(pairs)) == 10
    byes = [b.team_a for r in rounds for b in r.boards if b.team_b is None]
    assert sorted(byes) == sorted(game.team_ids)

    # Results agree with a recomputation straight from each member's equity history.
    curves = {
        m.id: {
            day: equity for day, _, equity in views.portfolio_history(uow, game.contest.id, m.id)
        }
        for pair in game.members.values()
        for m in pair
    }
    band = Decimal("0.0005")
    for r in rounds:
        assert r.end_day is not None

        def team_return(team_id: int, r: pk_rounds.PkRound = r) -> Decimal:
            returns = []
            for member in game.members[team_id]:
                base = (
                    game.contest.starting_cash
                    if r.start_day is None
                    else curves[member.id][r.start_day]
                )
                returns.append(curves[member.id][r.end_day] / base - 1)  # type: ignore[index]
            return sum(returns, Decimal(0)) / len(returns)

        for b in r.boards:
            expected_a = team_return(b.team_a)
            assert b.a_return is not None and abs(b.a_return - expected_a) < Decimal("1e-9")
            if b.team_b is None:
                assert b.outcome is Outcome.BYE
                continue
            expected_b = team_return(b.team_b)
            assert b.b_return is not None and abs(b.b_return - expected_b) < Decimal("1e-9")
            if abs(expected_a - expected_b) <= band:
                assert b.outcome is Outcome.DRAW
            else:
                assert b.outcome is (Outcome.WIN_A if expected_a > expected_b else Outcome.WIN_B)
    outcomes = Counter(b.outcome for r in rounds for b in r.boards)
    assert outcomes[Outcome.WIN_A] + outcomes[Outcome.WIN_B] > 0

    # Standings: 3 a win or bye, 1 a draw; ratings moved for every team that played.
    points: Counter[int] = Counter()
    for r in rounds:
        for b in r.boards:
            if b.outcome is Outcome.BYE:
                points[b.team_a] += 3
            elif b.outcome is Outcome.DRAW:
                points[b.team_a] += 1
                points[b.team_b or 0] += 1
            else:
                points[b.team_a if b.outcome is Outcome.WIN_A else b.team_b or 0] += 3
    table = overview.standings
    assert {s.team_id: s.standing.points for s in table} == {t: points[t] for t in game.team_ids}
    assert [s.place for s in table] == [1, 2, 3, 4, 5]
    keys = [(-s.standing.points, -s.standing.ordinal, s.team_id) for s in table]
    assert keys == sorted(keys)
    prior = new_rating(0)
    assert all((s.standing.mu, s.standing.sigma) != (prior.mu, prior.sigma) for s in table)
    with uow.reading():
        final = pk_rounds.final_pk_standings(uow, game.contest.id)
    assert [s.team_id for s in final] == [s.team_id for s in table]

    # Round awards: every member of a winning (drawing) team, once per board.
    for team_id, pair in game.members.items():
        wins = sum(
            1
            for r in rounds
            for b in r.boards
            if (b.outcome is Outcome.WIN_A and b.team_a == team_id)
            or (b.outcome is Outcome.WIN_B and b.team_b == team_id)
        )
        draws = sum(
            1
            for r in rounds
            for b in r.boards
            if b.outcome is Outcome.DRAW and team_id in (b.team_a, b.team_b)
        )
        for member in pair:
            summary = engagement.points_summary(uow, member.id)
            assert summary.points.posted == wins * WIN.points + draws * DRAW.points
            assert summary.lifetime_xp == wins * WIN.xp + draws * DRAW.xp


def test_a_short_final_round_is_judged_on_the_last_day(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    game = league(uow, operator, make_user, team_count=2, round_bars=4, bars=10)
    clock.advance_clock(uow, game.contest.id, bars=100)
    rounds = pk_rounds.pk_overview(uow, game.contest.id).rounds
    total = len(game.days)
    assert total % 4 != 0  # the point of the test
    assert [(r.first_tick, r.last_tick) for r in rounds][-1] == (total - total % 4 + 1, total)
    assert rounds[-1].end_day == game.days[-1] and all(r.judged for r in rounds)
    # Two teams: a rematch every round is the only pairing there is.
    assert all(len(r.boards) == 1 for r in rounds)


def test_round_awards_are_paid_exactly_once_when_payment_is_interrupted_and_rerun(
    uow: EngineUnitOfWork,
    operator: User,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    game = league(uow, operator, make_user, team_count=4, round_bars=2, bars=8)
    calls = {"n": 0}
    real_award = engagement.award_many

    def crashing_award(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # after one round's group of awards, before the next
            raise RuntimeError("killed half-way")
        return real_award(*args, **kwargs)

    monkeypatch.setattr(pk_rounds.engagement, "award_many", crashing_award)
    with pytest.raises(RuntimeError, match="killed"):
        clock.advance_clock(uow, game.contest.id, bars=100)
    monkeypatch.setattr(pk_rounds.engagement, "award_many", real_award)

    rerun = pk_rounds.pay_round_awards(uow, game.contest.id)
    assert rerun > 0
    assert pk_rounds.pay_round_awards(uow, game.contest.id) == 0  # nothing left pending

    rounds = pk_rounds.pk_overview(uow, game.contest.id).rounds
    owed: Counter[int] = Counter()
    for r in rounds:
        for b in r.boards:
            winners = {
                Outcome.WIN_A: [b.team_a],
                Outcome.WIN_B: [b.team_b],
                Outcome.DRAW: [b.team_a, b.team_b],
            }.get(b.outcome or Outcome.BYE, [])
            for team_id in winners:
                award = DRAW if b.outcome is Outcome.DRAW else WIN
                for member in game.members[team_id or 0]:
                    owed[member.id] += award.points
    assert sum(owed.values()) > 0
    for pair in game.members.values():
        for member in pair:
            assert engagement.points_summary(uow, member.id).points.posted == owed[member.id]


def test_team_return_is_the_configured_aggregate_of_member_returns() -> None:
    cash = Decimal(1000)
    accounts = [
        AccountRow(id=i, member_id=100 + i, starting_cash=cash) for i in range(1, 7)
    ]  # members 101…103 in team 1, 104…106 in team 2
    team_of = {101: 1, 102: 1, 103: 1, 104: 2, 105: 2, 106: 2}
    end = {1: Decimal(1100), 2: Decimal(1000), 3: Decimal(970), 4: Decimal(1010), 5: Decimal(1200)}
    start = {1: Decimal(1000), 2: Decimal(800), 3: Decimal(1000), 4: Decimal(1000)}

    def returns(settings: TeamSettings, first: bool = False) -> dict[int, Decimal]:
        return pk_rounds.round_returns(
            accounts=accounts,
            team_of_member=team_of,
            start=None if first else start,
            end=end,
            teams=settings,
        )

    # Member 6 has no mark (left out); member 5 has no mark at the start (its cash is the base).
    assert returns(TeamSettings()) == {
        1: Decimal("0.106666666667"),  # (0.1 + 0.25 - 0.03) / 3
        2: Decimal("0.105000000000"),  # (0.01 + 0.2) / 2
    }
    assert returns(TeamSettings(score="median")) == {1: Decimal("0.1"), 2: Decimal("0.105")}
    assert returns(TeamSettings(score="top_n", top_n=2)) == {
        1: Decimal("0.175"),
        2: Decimal("0.105"),
    }
    assert returns(TeamSettings(), first=True)[1] == Decimal("0.023333333333")
