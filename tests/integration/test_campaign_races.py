"""Campaign races on PostgreSQL with real threads: many members race for the last budget unit
(exactly one wins, the ledger balances), and one member's concurrent grants under a daily cap
of one (exactly one is paid)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.errors import Conflict
from core.users.model import Role, User
from ledger import engagement
from ledger.campaigns import services as campaigns
from ledger.campaigns.checks import budget_problems
from ledger.campaigns.model import CapPeriod, FrequencyCap
from ledger.campaigns.store import CampaignGrantRow
from ledger.campaigns.uow import CampaignUnitOfWork
from ledger.services.verification import verify
from ledger.store.transfers import TransferRow
from tests import campaign_builders as build
from tests.campaign_builders import DURING
from tests.concurrency import race

pytestmark = pytest.mark.postgres_only
THREADS = 6


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only (overrides the two-backend fixture, so make_user uses it too)."""
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def _rules(outcomes: list[object]) -> list[str]:
    return [o.extensions["rule"] for o in outcomes if isinstance(o, Conflict)]


def _count(database: Database, *where: object) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(func.count()).where(*where)) or 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["points", "item"])
def test_threads_race_for_the_last_budget_unit(
    database: Database, make_user: Callable[..., User], kind: str
) -> None:
    uow = CampaignUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    if kind == "points":
        build.points_campaign(uow, operator.id, key="last", budget=12, reward=4)
    else:
        build.item_campaign(uow, operator.id, key="last", budget=3, stock=10)
    members = [make_user() for _ in range(THREADS)]
    first, second = members[0].id, members[1].id
    for index, member_id in enumerate((first, second)):  # two grants leave one unit's worth
        campaigns.grant(uow, "last", member_id, operation=f"pre{index}", now=DURING)
    outcomes = race(
        THREADS,
        lambda i: campaigns.grant(
            CampaignUnitOfWork(database.sessions),
            "last",
            members[i].id,
            operation=f"race{i}",
            now=DURING,
        ),
    )
    won = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(won) == 1, outcomes
    assert _rules(outcomes) == ["campaign_budget_exhausted"] * (THREADS - 1), outcomes
    status = campaigns.get_campaign(uow, "last")
    assert status.remaining == 0 and status.spent == status.spec.budget
    assert _count(database, CampaignGrantRow.campaign_id == status.id) == 3
    assert budget_problems(uow) == []
    assert verify(uow).ok
    if kind == "points":
        assert _count(database, TransferRow.reason == campaigns.REASON) == 3
        paid = sum(engagement.points_summary(uow, m.id).points.posted for m in members)
        assert paid == 12
    else:
        with uow.reading():
            assert engagement.stock_left(uow, "mug") == 7


def test_one_members_concurrent_grants_respect_the_cap(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = CampaignUnitOfWork(database.sessions)
    operator, member = make_user(Role.OPERATOR), make_user()
    build.points_campaign(uow, operator.id, cap=FrequencyCap(1, CapPeriod.DAY))
    outcomes = race(
        THREADS,
        lambda i: campaigns.grant(
            CampaignUnitOfWork(database.sessions),
            "spring",
            member.id,
            operation=f"c{i}",
            now=DURING,
        ),
    )
    assert _rules(outcomes) == ["frequency_cap_reached"] * (THREADS - 1), outcomes
    assert engagement.points_summary(uow, member.id).points.posted == 10
    assert campaigns.get_campaign(uow, "spring").remaining == 90


def test_concurrent_retries_of_one_operation_pay_once(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = CampaignUnitOfWork(database.sessions)
    operator, member = make_user(Role.OPERATOR), make_user()
    build.points_campaign(uow, operator.id)
    outcomes = race(
        THREADS,
        lambda i: campaigns.grant(
            CampaignUnitOfWork(database.sessions), "spring", member.id, operation="same", now=DURING
        ),
    )
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len({o.id for o in outcomes}) == 1
    assert engagement.points_summary(uow, member.id).points.posted == 10
    assert campaigns.get_campaign(uow, "spring").remaining == 90
    assert budget_problems(uow) == []
