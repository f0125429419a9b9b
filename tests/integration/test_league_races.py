"""League races on PostgreSQL with real threads: closers of one week pay each reward once,
and openers of one week form its cohorts once."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.users.model import Role, User
from engine.leagues import checks
from engine.leagues import services as leagues
from engine.leagues.store import LeagueEntryRow, LeagueWeekRow
from engine.leagues.uow import LeagueUnitOfWork
from ledger import engagement
from ledger.store.transfers import TransferRow
from tests.concurrency import race
from tests.league_builders import DURING, WEEK0, WEEK1, earn, small_config

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only (overrides the two-backend fixture, so make_user uses it too)."""
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def _count(database: Database, stmt: object) -> int:
    with database.sessions() as session:
        return int(session.scalar(stmt) or 0)  # type: ignore[call-overload]


def test_concurrent_closers_of_one_week_pay_once(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = LeagueUnitOfWork(database.sessions)
    leagues.set_config(uow, small_config(), operator_id=make_user(Role.OPERATOR).id, now=WEEK0)
    members = [make_user() for _ in range(4)]
    week = leagues.open_week(uow, now=WEEK0)
    for member, xp in zip(members, [30, 20, 10, 0], strict=True):
        if xp:
            earn(uow, member.id, xp, at=DURING)
    outcomes = race(
        4, lambda i: leagues.close_week(LeagueUnitOfWork(database.sessions), week.id, now=WEEK1)
    )
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(o.paid_now for o in outcomes) == 2
    assert all(o.closed_at == WEEK1 for o in outcomes)
    points = [engagement.points_summary(uow, m.id).points.posted for m in members]
    assert points == [100, 50, 0, 0]
    paid = select(func.count()).where(TransferRow.reason == leagues.REWARD_REASON)
    assert _count(database, paid) == 3  # first place: points and XP; second: points
    assert leagues.profile(uow, members[0].id).tier == 2
    assert checks.payout_problems(uow) == []


def test_concurrent_openers_form_one_week(
    database: Database, make_user: Callable[..., User]
) -> None:
    for _ in range(5):
        make_user()
    outcomes = race(4, lambda i: leagues.open_week(LeagueUnitOfWork(database.sessions), now=DURING))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len({o.id for o in outcomes}) == 1
    assert _count(database, select(func.count()).select_from(LeagueWeekRow)) == 1
    assert _count(database, select(func.count()).select_from(LeagueEntryRow)) == 5
    assert checks.cohort_problems(LeagueUnitOfWork(database.sessions)) == []
