"""Joining a contest from many threads at once on PostgreSQL: capacity is never exceeded and
nobody gets two entries."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from core.db import Database
from core.users.model import Role, User
from engine.contests import entries
from engine.contests import services as contests
from engine.contests.entries import EntryRefused
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build
from tests.concurrency import race
from tests.contest_builders import NOW

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only (overrides the two-backend fixture, so make_user uses it too)."""
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def test_concurrent_joins_fill_the_capacity_exactly(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    contest = build.contest(uow, build.season(uow, make_user(Role.OPERATOR)), capacity=4)
    members = [make_user() for _ in range(10)]

    outcomes = race(
        10,
        lambda i: entries.join_contest(
            EngineUnitOfWork(database.sessions), contest.id, members[i].id, now=NOW
        ),
    )
    joined = [o for o in outcomes if not isinstance(o, Exception)]
    full = [o for o in outcomes if isinstance(o, EntryRefused)]
    assert len(joined) == 4 and len(full) == 6, outcomes
    assert all(o.extensions["rule"] == "capacity" for o in full)
    assert contests.get_contest(uow, contest.id, now=NOW).entries == 4


def test_one_member_joining_twice_at_once_gets_one_entry(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    contest = build.contest(uow, build.season(uow, make_user(Role.OPERATOR)))
    member = make_user()
    outcomes = race(
        6,
        lambda i: entries.join_contest(
            EngineUnitOfWork(database.sessions), contest.id, member.id, now=NOW
        ),
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
    assert contests.get_contest(uow, contest.id, now=NOW).entries == 1
