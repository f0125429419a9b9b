"""Races on PostgreSQL with real threads: the chain-head lock serializes ledger writes."""

from collections.abc import Iterator

import pytest

from core.db import Database
from ledger import services
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
    results = race(50, lambda i: services.transfer(
        _uow(pg_ledger), TransferRequest(f"spend-{i}", ALICE, REDEEMED, POINTS, cost, "redemption")
    ))  # fmt: skip
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
