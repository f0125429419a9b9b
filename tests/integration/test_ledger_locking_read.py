"""The read that locks a write's shard heads (``ledger.store.prefetch``) reads the snapshot it
began with, so a write that waited for the lock must read again what the holder committed:
else it checks and writes balances that no longer stand. PostgreSQL with real threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import event, text

from core.db import Database
from ledger import services
from ledger.model import ISSUANCE, POINTS, REDEEMED, InsufficientFunds, TransferRequest
from ledger.model import points_account as points
from ledger.services import LedgerUnitOfWork

pytestmark = pytest.mark.postgres_only
JOIN = 60  # seconds: only a hung build gets near it


@pytest.fixture
def pg_ledger(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def _spend(tid: str, amount: int) -> TransferRequest:
    return TransferRequest(tid, points(1), REDEEMED, POINTS, amount, "redemption")


def _waiting_on_a_lock(database: Database) -> bool:
    with database.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()
    return bool(waiting)


def test_a_write_that_waited_for_the_lock_sees_what_the_holder_committed(
    pg_ledger: Database,
) -> None:
    uow = LedgerUnitOfWork(pg_ledger.sessions)
    services.transfer(uow, TransferRequest("grant", ISSUANCE, points(1), POINTS, 10, "grant"))
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:  # holds member 1's shard, then spends all 10 and commits
        held = LedgerUnitOfWork(pg_ledger.sessions)
        with held:
            held.ledger.lock_accounts([points(1)])
            locked.set()
            release.wait(JOIN)
            services.append(held.ledger, [_spend("first", 10)])
            held.commit()

    outcome: list[object] = []
    statements: list[str] = []

    def spender() -> None:  # its locking read starts while the holder holds the shard
        try:
            services.transfer(LedgerUnitOfWork(pg_ledger.sessions), _spend("second", 10))
            outcome.append("spent")
        except InsufficientFunds as refused:
            outcome.append(refused)

    holding = threading.Thread(target=holder)
    holding.start()
    assert locked.wait(JOIN)
    event.listen(pg_ledger.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    spending = threading.Thread(target=spender)
    spending.start()
    for _ in range(6000):
        if _waiting_on_a_lock(pg_ledger):
            break
        assert spending.is_alive(), "finished although its shard is held"
        threading.Event().wait(0.01)
    release.set()
    holding.join(JOIN)
    spending.join(JOIN)

    assert len(outcome) == 1 and isinstance(outcome[0], InsufficientFunds), outcome
    with uow.reading():
        assert uow.ledger.balance(points(1), POINTS).available == 0
    assert services.verify(uow).ok
    # The spender read again once it held the lock: the locking read, then a plain one.
    reads = [s for s in statements if "nextval" in s]
    assert any("FOR UPDATE" in s for s in reads) and any("FOR UPDATE" not in s for s in reads)
