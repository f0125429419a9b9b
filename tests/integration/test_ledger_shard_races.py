"""Races on PostgreSQL with real threads: a write locks only its accounts' shards, so members
in other shards proceed while one shard is held, and a member in the held shard waits.

Nothing here measures time: one thread holds a shard's lock open until told to let go; the
others either finish meanwhile (their shards are free) or are seen waiting on a lock in
``pg_stat_activity`` (theirs is held). The joins' timeouts only keep a broken build from
hanging the run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from core.db import Database
from ledger import engagement, services
from ledger.model import (
    ISSUANCE,
    POINTS,
    Transfer,
    TransferExists,
    TransferRequest,
    member_accounts,
    points_account,
)
from ledger.services import LedgerUnitOfWork
from ledger.shards import shard_of, shards_of
from tests.concurrency import race

pytestmark = pytest.mark.postgres_only
JOIN = 60  # seconds: only a hung build gets near it


@pytest.fixture
def pg_ledger(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


def _uow(database: Database) -> LedgerUnitOfWork:
    return LedgerUnitOfWork(database.sessions)


class _Holder:
    """A thread holding the shard locks of ``accounts`` open until ``release``, then writing
    ``then`` in the same transaction."""

    def __init__(self, database: Database, accounts: list[str], then: list[TransferRequest]):
        self.locked, self.release = threading.Event(), threading.Event()
        self.made: list[Any] = []

        def run() -> None:
            uow = _uow(database)
            with uow:
                uow.ledger.lock_accounts(accounts)
                self.locked.set()
                self.release.wait(JOIN)
                self.made += services.append(uow.ledger, then)
                uow.commit()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert self.locked.wait(JOIN)


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    return thread, result


def _waiting_on_a_lock(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def _wait_until_blocked(database: Database, done: threading.Thread) -> None:
    """Until some backend waits on a lock (the thread cannot finish before: its shard is held)."""
    for _ in range(6000):
        if _waiting_on_a_lock(database):
            return
        assert done.is_alive(), "finished although its shard is held"
        threading.Event().wait(0.01)
    raise AssertionError("no backend ever waited on the held shard")


def _grant(tid: str, member: int) -> TransferRequest:
    return TransferRequest(tid, ISSUANCE, points_account(member), POINTS, 10, "grant")


def test_a_held_shard_stops_its_members_only(pg_ledger: Database) -> None:
    held = shard_of(points_account(1))
    others = [m for m in range(2, 200) if shard_of(points_account(m)) != held][:5]
    neighbour = next(m for m in range(2, 200) if shard_of(points_account(m)) == held)
    holder = _Holder(pg_ledger, [points_account(1)], [_grant("held", 1)])

    # Members of other shards, from threads of their own, all finish while the shard is held.
    free = [
        _in_thread(lambda m=m: services.transfer(_uow(pg_ledger), _grant(f"free-{m}", m)))
        for m in others
    ]
    for thread, _ in free:
        thread.join(JOIN)
    assert all(not thread.is_alive() and len(result) == 1 for thread, result in free)
    assert holder.thread.is_alive() and not holder.made

    # A member of the held shard waits for it.
    blocked, result = _in_thread(
        lambda: services.transfer(_uow(pg_ledger), _grant("neighbour", neighbour))
    )
    _wait_until_blocked(pg_ledger, blocked)
    holder.release.set()
    holder.thread.join(JOIN)
    blocked.join(JOIN)
    (first,), (after,) = holder.made, result
    assert (first.shard, after.shard) == (held, held)
    assert after.shard_seq == first.shard_seq + 1 and after.prev_hash == first.hash
    assert services.verify(_uow(pg_ledger)).ok


def _members(database: Database, count: int) -> list[int]:
    from core.users import services as users
    from core.users.model import Role
    from core.users.services import UsersUnitOfWork

    return [
        users.create_user(
            UsersUnitOfWork(database.sessions),
            username=f"sharded{i}",
            password="racer-password",
            roles=[Role.MEMBER],
        ).id
        for i in range(count)
    ]


def test_check_ins_of_members_in_other_shards_proceed_while_one_member_is_held(
    pg_ledger: Database,
) -> None:
    members = _members(pg_ledger, 12)
    first, rest = members[0], members[1:]
    held = shards_of(member_accounts(first))
    free = [m for m in rest if not shards_of(member_accounts(m)) & held]
    assert len(free) >= 3, "the ids drawn put too few members elsewhere"
    now = datetime(2026, 6, 1, 9, tzinfo=UTC)
    holder = _Holder(pg_ledger, list(member_accounts(first)), [])

    threads = [
        _in_thread(lambda m=m: engagement.check_in(_uow(pg_ledger), m, now=now)) for m in free
    ]
    for thread, _ in threads:
        thread.join(JOIN)
    assert all(not thread.is_alive() and len(result) == 1 for thread, result in threads)
    assert holder.thread.is_alive()  # the first member's shards were held all along

    waiting, result = _in_thread(lambda: engagement.check_in(_uow(pg_ledger), first, now=now))
    _wait_until_blocked(pg_ledger, waiting)
    holder.release.set()
    holder.thread.join(JOIN)
    waiting.join(JOIN)
    assert len(result) == 1 and result[0].member_id == first
    assert services.verify(_uow(pg_ledger)).ok


def test_one_id_raced_with_other_accounts_in_other_shards_makes_one_transfer(
    pg_ledger: Database,
) -> None:
    """Different accounts lock different shards, so only the unique id orders them: the
    losers find the stored transfer on their second look and get a conflict, not a 500."""
    members = list(range(1, 11))
    assert len({shard_of(points_account(m)) for m in members}) > 1
    results = race(
        len(members),
        lambda i: services.transfer(_uow(pg_ledger), _grant("contested", members[i])),
    )
    made = [r for r in results if isinstance(r, Transfer)]
    assert len(made) == 1, results
    assert all(isinstance(r, (Transfer, TransferExists)) for r in results), results
    assert all(r.id == "contested" for r in made)
    assert services.verify(_uow(pg_ledger)).ok
