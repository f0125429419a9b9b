"""Segment races on PostgreSQL with real threads: first onboarding submissions at once keep
one row and count every submission; tag refreshes at once agree and never fail."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from core.clock import utc_now
from core.db import Database
from core.segments import services as segments
from core.segments.uow import SegmentsUnitOfWork
from core.users.model import User
from engine.segments.tags import refresh_tags
from ledger.services import LedgerUnitOfWork
from tests.concurrency import race

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only (overrides the two-backend fixture, so make_user uses it too)."""
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def test_first_submissions_at_once_keep_one_row(
    database: Database, make_user: Callable[..., User]
) -> None:
    member = make_user()
    choices = ["low", "medium", "high", "low", "medium", "high"]
    outcomes = race(
        len(choices),
        lambda i: segments.submit_answers(
            SegmentsUnitOfWork(database.sessions), member.id, {"risk_tolerance": choices[i]}
        ),
    )
    assert all(isinstance(o, segments.Onboarding) for o in outcomes), outcomes
    assert sorted(o.revision for o in outcomes) == list(range(1, len(choices) + 1))
    stored = segments.get_onboarding(SegmentsUnitOfWork(database.sessions), member.id)
    assert stored.revision == len(choices)
    last = max(outcomes, key=lambda o: o.revision)
    assert stored.answers == last.answers


def test_refreshes_at_once_agree(database: Database, make_user: Callable[..., User]) -> None:
    for _ in range(3):
        make_user()
    now = utc_now()
    outcomes = race(4, lambda _: refresh_tags(LedgerUnitOfWork(database.sessions), now=now))
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert sum(o.added for o in outcomes) == 3  # the first refresh adds "new" for each
    assert len({tuple(sorted(o.counts.items())) for o in outcomes}) == 1
