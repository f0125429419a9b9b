"""Races on PostgreSQL with real threads: the chain-head lock serializes ledger writes."""

from collections.abc import Iterator

import pytest

from core.db import Database
from ledger import services
from ledger.earning import EarningRules
from ledger.model import ISSUANCE, POINTS, REDEEMED, InsufficientFunds, Transfer, TransferRequest
from ledger.services import LedgerUnitOfWork
from tests.concurrency import race

pytestmark = pytest.mark.postgres_only
ALICE = "member:1:points"


@pytest.fixture
def pg_ledger(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def _uow(database: Database) -> LedgerUnitOfWork:
    return LedgerUnitOfWork(database.sessions)


def test_50_concurrent_spends_succeed_floor_balance_over_cost(pg_ledger: Database) -> None:
    balance, cost = 1000, 70
    services.transfer(
        _uow(pg_ledger), TransferRequest("seed", ISSUANCE, ALICE, POINTS, balance, "grant")
    )
    results = race(
        50,
        lambda i: services.transfer(
            _uow(pg_ledger),
            TransferRequest(f"spend-{i}", ALICE, REDEEMED, POINTS, cost, "redemption"),
        ),
    )
    succeeded = [r for r in results if isinstance(r, Transfer)]
    assert len(succeeded) == balance // cost
    assert all(isinstance(r, InsufficientFunds) for r in results if not isinstance(r, Transfer))
    assert services.balance(_uow(pg_ledger), ALICE, POINTS).available == balance % cost
    assert services.verify(_uow(pg_ledger)).ok


def test_20_concurrent_submissions_of_one_id_make_one_transfer(pg_ledger: Database) -> None:
    request = TransferRequest("once", ISSUANCE, ALICE, POINTS, 25, "grant")
    results = race(20, lambda _: services.transfer(_uow(pg_ledger), request))
    assert all(isinstance(r, Transfer) for r in results), results
    assert len({r.seq for r in results}) == 1
    assert services.balance(_uow(pg_ledger), ALICE, POINTS).posted == 25
    assert services.verify(_uow(pg_ledger)).transfers == 1


def _members(database: Database, count: int) -> list[int]:
    from core.users import services as users
    from core.users.model import Role
    from core.users.services import UsersUnitOfWork

    return [
        users.create_user(
            UsersUnitOfWork(database.sessions),
            username=f"racer{i}",
            password="racer-password",
            roles=[Role.MEMBER],
        ).id
        for i in range(count)
    ]


def test_50_concurrent_redemptions_of_the_last_item_let_one_through(pg_ledger: Database) -> None:
    from ledger import engagement

    (member,) = _members(pg_ledger, 1)
    item = engagement.create_item(_uow(pg_ledger), key="last", name="Last", cost_points=1, stock=1)
    services.transfer(
        _uow(pg_ledger),
        TransferRequest("seed", ISSUANCE, f"member:{member}:points", POINTS, 500, "grant"),
    )
    results = race(
        50, lambda i: engagement.redeem(_uow(pg_ledger), member, item.id, redemption_id=f"r-{i}")
    )
    won = [r for r in results if isinstance(r, engagement.Redemption)]
    assert len(won) == 1, results
    assert all(isinstance(r, engagement.OutOfStock) for r in results if r not in won)
    assert services.balance(_uow(pg_ledger), f"member:{member}:points", POINTS).available == 499
    assert services.verify(_uow(pg_ledger)).ok


def test_20_concurrent_check_ins_award_once(pg_ledger: Database) -> None:
    from ledger import engagement

    (member,) = _members(pg_ledger, 1)
    results = race(20, lambda _: engagement.check_in(_uow(pg_ledger), member))
    assert sum(isinstance(r, engagement.CheckIn) for r in results) == 1
    assert all(isinstance(r, (engagement.CheckIn, engagement.AlreadyCheckedIn)) for r in results)
    summary = engagement.points_summary(_uow(pg_ledger), member)
    assert summary.points.posted == EarningRules().checkin.points
