"""Weekly leagues at the service layer on both databases: opening a week forms bounded cohorts
once, members see live standings with zones, closing ranks, moves and pays each reward once,
history records it, and the invariants hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from core.db import Database
from core.errors import Conflict, NotFound, RuleViolation
from core.users.model import Role, User
from engine import clock
from engine.contests import entries, leaderboard
from engine.leagues import checks
from engine.leagues import services as leagues
from engine.leagues.model import Basis, Zone
from engine.leagues.store_privacy import erase_leagues, export_leagues
from engine.leagues.uow import LeagueUnitOfWork
from engine.trading import order_desk
from ledger import engagement
from tests import contest_builders as contest_build
from tests.engine_builders import request
from tests.league_builders import DURING, WEEK0, WEEK1, earn, small_config


@pytest.fixture
def uow(database: Database) -> LeagueUnitOfWork:
    return LeagueUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def _rule(excinfo: pytest.ExceptionInfo[Exception]) -> tuple[str, str]:
    return excinfo.value.extensions["field"], excinfo.value.extensions["rule"]  # type: ignore[attr-defined]


def test_opening_forms_bounded_cohorts_once_by_activity_and_time_zone(
    uow: LeagueUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    leagues.set_config(uow, small_config(), operator_id=operator.id, now=WEEK0)
    members = [make_user() for _ in range(6)]
    for member in members[:3]:
        earn(uow, member.id, 300, at=WEEK0 - timedelta(days=2))  # the prior week
    leagues.set_time_zone(uow, members[3].id, "Europe/Berlin", now=WEEK0)
    with pytest.raises(RuleViolation) as excinfo:
        leagues.set_time_zone(uow, members[4].id, "Nowhere/Land")
    assert _rule(excinfo) == ("time_zone", "iana_time_zone")
    week = leagues.open_week(uow, now=WEEK0 + timedelta(hours=1))
    again = leagues.open_week(uow, now=DURING)
    assert again.id == week.id and (week.cohorts, week.members) == (2, 6)  # operators stay out
    mine = leagues.my_league(uow, members[0].id, now=DURING)
    assert {p.member_id for p in mine.places} == {m.id for m in members[:3]}  # the active ones
    berlin = leagues.my_league(uow, members[3].id, now=DURING)
    assert [p.member_id for p in berlin.places] == [m.id for m in members[3:]]  # west first
    assert leagues.profile(uow, members[3].id).time_zone == "Europe/Berlin"
    assert leagues.profile(uow, members[4].id).time_zone == "Asia/Shanghai"
    late = make_user()
    with pytest.raises(NotFound):
        leagues.my_league(uow, late.id, now=DURING)
    assert checks.cohort_problems(uow) == [] and checks.payout_problems(uow) == []


def test_closing_ranks_moves_and_pays_once_and_writes_history(
    uow: LeagueUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    leagues.set_config(uow, small_config(), operator_id=operator.id, now=WEEK0)
    members = [make_user() for _ in range(4)]
    week = leagues.open_week(uow, now=WEEK0)
    for member, xp in zip(members, [40, 90, 10, 40], strict=True):
        earn(uow, member.id, xp, at=DURING)
    earn(uow, members[2].id, 500, at=WEEK1 + timedelta(hours=1))  # after the week: not counted
    live = leagues.my_league(uow, members[0].id, now=DURING + timedelta(hours=1))
    assert not live.final and live.days_left == 5 and live.zones.promote == 1
    assert [(p.member_id, p.zone) for p in live.places] == [
        (members[1].id, Zone.PROMOTION),
        (members[0].id, Zone.STAY),  # ties: the lower member id first
        (members[3].id, Zone.STAY),
        (members[2].id, Zone.STAY),  # the bottom tier demotes no one
    ]
    assert live.my_rank == 2 and live.basis is Basis.XP
    with pytest.raises(Conflict) as excinfo:
        leagues.close_week(uow, week.id, now=WEEK1 - timedelta(seconds=1))
    assert _rule(excinfo) == ("week_id", "week_not_over")
    with pytest.raises(Conflict) as excinfo:
        leagues.open_week(uow, now=WEEK1 + timedelta(hours=2))
    assert _rule(excinfo) == ("week_id", "previous_week_open")
    closed = leagues.close_week(uow, week.id, now=WEEK1 + timedelta(hours=2))
    assert closed.paid_now == 2 and closed.closed_at is not None
    assert [(p.member_id, p.points, p.xp) for p in closed.payouts] == [
        (members[1].id, 100, 10),
        (members[0].id, 50, 0),
    ]
    assert [(m.tier, m.promoted, m.stayed, m.demoted) for m in closed.movements] == [(1, 1, 3, 0)]
    rerun = leagues.close_week(uow, week.id, now=WEEK1 + timedelta(hours=3))
    assert (rerun.paid_now, rerun.already_paid) == (0, 2)
    points = [engagement.points_summary(uow, m.id).points.posted for m in members]
    assert points == [50, 100, 0, 0]
    assert leagues.profile(uow, members[1].id).tier == 2
    (last,) = leagues.history(uow, members[1].id)
    assert (last.rank, last.zone, last.next_tier, last.points, last.xp) == (
        1,
        Zone.PROMOTION,
        2,
        100,
        10,
    )
    assert last.cohort_size == 4
    following = leagues.open_week(uow, now=WEEK1 + timedelta(hours=4))
    assert following.cohorts == 2  # tier 1 (three members) and tier 2 (one)
    promoted = leagues.my_league(uow, members[1].id, now=WEEK1 + timedelta(days=1))
    assert promoted.tier == 2 and promoted.tier_name == "Silver"
    assert [p.member_id for p in promoted.places] == [members[1].id]
    final = leagues.my_league(uow, members[0].id, now=WEEK1 - timedelta(hours=1))
    assert final.final and final.places[0].member_id == members[1].id
    assert checks.cohort_problems(uow) == [] and checks.payout_problems(uow) == []


def test_rules_refuse_an_unknown_contest_and_keep_open_weeks_unchanged(
    uow: LeagueUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    with pytest.raises(RuleViolation) as excinfo:
        leagues.set_config(
            uow,
            small_config(basis=Basis.CONTEST, contest_id=999),
            operator_id=operator.id,
        )
    assert _rule(excinfo) == ("contest_id", "known_contest")
    assert leagues.get_config(uow).cohort_size == 30  # the defaults until set
    make_user()
    week = leagues.open_week(uow, now=WEEK0)
    leagues.set_config(uow, small_config(), operator_id=operator.id, now=WEEK0)
    assert leagues.get_week(uow, week.id).config.cohort_size == 30
    assert leagues.get_config(uow).cohort_size == 4


def test_a_members_league_data_is_exported_and_erasure_forgets_the_time_zone(
    uow: LeagueUnitOfWork, database: Database, make_user: Callable[..., User]
) -> None:
    member = make_user()
    leagues.set_time_zone(uow, member.id, "Europe/Paris", now=WEEK0)
    leagues.open_week(uow, now=WEEK0)
    with database.sessions() as session:
        exported = export_leagues(session, member.id)
        assert exported["profile"][0]["time_zone"] == "Europe/Paris"
        assert [e["member_id"] for e in exported["entries"]] == [member.id]
        assert erase_leagues(session, member.id) == {"league_members": 1}
        session.commit()
    assert leagues.profile(uow, member.id).time_zone == "Asia/Shanghai"


def test_a_cohort_ranked_by_a_contest_metric_puts_members_without_one_last(
    uow: LeagueUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = contest_build.season(uow, operator, days=8, count=3)
    contest = contest_build.contest(uow, season)
    members = [make_user() for _ in range(3)]
    for member in members[:2]:
        entries.join_contest(uow, contest.id, member.id, now=contest_build.NOW)
    symbols = list(contest.universe)
    clock.advance_clock(uow, contest.id, now=contest_build.NOW)
    order_desk.place_order(uow, contest.id, members[1].id, request(symbol=symbols[0], qty="1000"))
    clock.advance_clock(uow, contest.id, bars=3, now=contest_build.NOW)
    rules = small_config(basis=Basis.CONTEST, contest_id=contest.id)
    leagues.set_config(uow, rules, operator_id=operator.id, now=WEEK0)
    week = leagues.open_week(uow, now=WEEK0)
    live = leagues.my_league(uow, members[0].id, now=DURING)
    assert live.basis is Basis.CONTEST
    board = leaderboard.current(uow, contest.id)
    assert board is not None
    expected = sorted(
        members[:2],
        key=lambda m: (-(board.placing_of(m.id).metric or 0), m.id),  # type: ignore[union-attr]
    )
    assert [p.member_id for p in live.places] == [m.id for m in expected] + [members[2].id]
    assert live.places[-1].score is None  # not entered: no metric, ranked last
    closed = leagues.close_week(uow, week.id, now=WEEK1)
    assert [p.member_id for p in closed.payouts] == [m.id for m in expected]
    assert checks.payout_problems(uow) == []
