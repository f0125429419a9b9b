"""Seasons and contests on SQLite and PostgreSQL: validation, locks, windows, entries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.db import Database
from core.errors import NotFound, PermissionDenied, RuleViolation
from core.users.model import Role, User
from engine import clock
from engine.contests import entries, seasons
from engine.contests import services as contests
from engine.contests.entries import EntryRefused
from engine.contests.model import ContestState
from engine.contests.seasons import SeasonEnded
from engine.contests.services import FieldLocked
from engine.contests.spec import MetricKind, MetricSpec
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build
from tests.contest_builders import NOW


@pytest.fixture
def uow(database: Database) -> EngineUnitOfWork:
    return EngineUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def test_a_contest_takes_the_seasons_universe_and_starts_in_registration(
    uow: EngineUnitOfWork, operator: User
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season)
    assert contest.universe == season.universe
    assert contest.state is ContestState.REGISTRATION
    assert contest.entries == 0 and not contest.private
    found, _ = contests.list_contests(
        uow, season_id=season.id, states=[ContestState.REGISTRATION], now=NOW
    )
    assert [c.id for c in found] == [contest.id]
    none, _ = contests.list_contests(uow, states=[ContestState.RUNNING], now=NOW)
    assert none == []


def test_game_fields_and_titles_lock_when_trading_starts(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season)
    contests.update_contest(uow, contest.id, {"starting_cash": Decimal(500_000)}, now=NOW)
    clock.advance_clock(uow, contest.id)
    for name, value in [
        ("starting_cash", Decimal(1)),
        ("metric", MetricSpec(MetricKind.SHARPE)),
        ("universe", season.universe[:2]),
        ("rule_overrides", {"max_orders_per_day": 3}),
    ]:
        with pytest.raises(FieldLocked) as caught:
            contests.update_contest(uow, contest.id, {name: value}, now=NOW)
        assert caught.value.extensions["field"] == name
    # The title and description are part of the locked rules snapshot too (issue 19).
    for name in ("title", "description"):
        with pytest.raises(FieldLocked) as caught:
            contests.update_contest(uow, contest.id, {name: "Renamed"}, now=NOW)
        assert caught.value.extensions["field"] == name
    after = contests.get_contest(uow, contest.id, now=NOW)
    assert after.starting_cash == Decimal(500_000)
    assert after.state is ContestState.RUNNING


def test_registration_window_is_read_in_the_seasons_time_zone(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator, timezone="Asia/Shanghai")
    # 23:59 Beijing time on 1 March is 15:59 UTC.
    contest = build.contest(uow, season, registration_closes_at=datetime(2026, 3, 1, 23, 59))
    assert contest.registration_closes_at == datetime(2026, 3, 1, 15, 59, tzinfo=UTC)
    early, late = make_user(), make_user()
    entries.join_contest(uow, contest.id, early.id, now=datetime(2026, 3, 1, 15, 58, tzinfo=UTC))
    with pytest.raises(EntryRefused) as caught:
        entries.join_contest(uow, contest.id, late.id, now=datetime(2026, 3, 1, 16, 0, tzinfo=UTC))
    assert caught.value.extensions["rule"] == "registration_closed"


def test_entries_are_refused_when_full_private_duplicate_or_level_gated(
    uow: EngineUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    season = build.season(uow, operator)
    full = build.contest(uow, season, capacity=1)
    first, second = make_user(), make_user()
    entries.join_contest(uow, full.id, first.id, now=NOW)
    with pytest.raises(EntryRefused, match="full"):
        entries.join_contest(uow, full.id, second.id, now=NOW)
    with pytest.raises(EntryRefused) as duplicate:
        entries.join_contest(uow, full.id, first.id, now=NOW)
    assert duplicate.value.extensions["rule"] == "one_entry"
    private = build.contest(uow, season, private=True, invite_code="s3cret")
    with pytest.raises(NotFound):  # as if there were no such contest
        entries.join_contest(uow, private.id, second.id, invite_code="wrong", now=NOW)
    with pytest.raises(PermissionDenied) as no_code:  # operators may know it exists
        entries.join_contest(uow, private.id, second.id, operator=True, now=NOW)
    assert no_code.value.extensions["rule"] == "invite_code"
    entries.join_contest(uow, private.id, second.id, invite_code="s3cret", now=NOW)
    gated = build.contest(uow, season, min_level=3)
    with pytest.raises(PermissionDenied) as level:
        entries.join_contest(uow, gated.id, second.id, now=NOW)
    assert level.value.extensions["rule"] == "min_level"
    assert contests.get_contest(uow, full.id, now=NOW).entries == 1
    assert contests.get_contest(uow, private.id, now=NOW).invite_code is None


def test_an_ended_season_is_read_only_but_queryable(uow: EngineUnitOfWork, operator: User) -> None:
    season = build.season(uow, operator)
    contest = build.contest(uow, season)
    later = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)  # 08:00 on 1 July in Shanghai: ended
    with pytest.raises(SeasonEnded):
        contests.update_contest(uow, contest.id, {"title": "x"}, now=later)
    with pytest.raises(SeasonEnded):
        seasons.update_season(uow, season.id, {"name": "x"}, now=later)
    assert seasons.get_season(uow, season.id, now=later).ended
    assert contests.get_contest(uow, contest.id, now=later).title == "A-share cup"
    still = datetime(2026, 6, 30, 15, 59, tzinfo=UTC)  # 23:59 on 30 June in Shanghai
    assert not seasons.get_season(uow, season.id, now=still).ended


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"prizes": []}, None, None),
        ({"capacity": 0}, "capacity", "minimum"),
        ({"universe": ["NOPE"]}, "universe", "season_universe"),
        ({"rule_overrides": {"max_orders_per_day": -1}}, "rules.max_orders_per_day", None),
        (
            {"metric": MetricSpec(MetricKind.EXCESS_RETURN, "NOPE")},
            "metric.benchmark",
            "known_symbol",
        ),
        ({"secondary_metric": "luck"}, "secondary_metric", "one_of"),
    ],
)
def test_bad_contests_are_refused_naming_the_field_and_nothing_is_written(
    uow: EngineUnitOfWork, operator: User, changes: dict, field: str | None, rule: str | None
) -> None:
    season = build.season(uow, operator)
    if field is None:
        build.contest(uow, season, **changes)
        return
    with pytest.raises(RuleViolation) as caught:
        build.contest(uow, season, **changes)
    assert caught.value.field == field
    if rule:
        assert caught.value.rule == rule
    assert contests.list_contests(uow, season_id=season.id, now=NOW)[0] == []


def test_follow_needs_an_existing_other_member(
    uow: EngineUnitOfWork, make_user: Callable[..., User]
) -> None:
    me, friend = make_user(), make_user()
    assert entries.follow(uow, me.id, friend.id)
    assert not entries.follow(uow, me.id, friend.id)
    assert entries.followees(uow, me.id) == [friend.id]
    with pytest.raises(RuleViolation):
        entries.follow(uow, me.id, me.id)
    with pytest.raises(NotFound):
        entries.follow(uow, me.id, 10**9)
