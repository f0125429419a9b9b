"""The writers' side of the wake-up (core.member_events_wakeup.announce): on PostgreSQL one
notification per transaction, naming its members, sent only on commit; on SQLite the streams of
this process are woken after commit, never after a rollback."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import db_notifications, member_events_wakeup
from core.clock import utc_now
from core.db import Database
from core.member_events import ORDER_STATUS
from core.member_events_store import record_account_events
from core.member_events_wakeup import CHANNEL, member_ids
from core.users.model import User
from engine import clock
from engine.trading.store import ACCOUNTS
from engine.uow import EngineUnitOfWork
from tests.e2e.test_member_events_api import buy
from tests.e2e.test_trading_api import contest, entered  # noqa: F401 (fixture)


@given(st.lists(st.integers(min_value=1, max_value=2**62), max_size=50))
def test_a_payload_names_its_members_and_an_empty_one_names_everybody(ids: list[int]) -> None:
    payload = ",".join(str(i) for i in sorted(set(ids), key=str))
    assert member_ids(payload) == (frozenset(ids) or None)
    assert member_ids(payload + ",x") is None  # a payload it cannot read wakes everybody


def _accounts(database: Database, contest_id: int, members: list[User]) -> dict[int, int]:
    uow = EngineUnitOfWork(database.sessions)
    with uow.reading():
        books = uow.trading.account_books(contest_id)
    return {book.member_id: book.id for book in books if book.member_id in {m.id for m in members}}


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_tick_sends_one_notification_naming_its_members_and_a_rollback_none(
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
) -> None:
    contest_id, symbols = contest
    alice, bob, carol = make_user(), make_user(), make_user()
    for member in (alice, bob, carol):
        entered(database, contest_id, member)
    accounts = _accounts(database, contest_id, [alice, bob, carol])
    conninfo = db_notifications.conninfo_of(database)
    with psycopg.connect(conninfo, autocommit=True) as listening:
        listening.execute(f"LISTEN {CHANNEL}")
        with database.sessions() as session:  # written, then rolled back: never announced
            record_account_events(
                session, ACCOUNTS, [(accounts[carol.id], ORDER_STATUS, {})], now=utc_now()
            )
            session.rollback()
        buy(database, contest_id, alice, symbols[0], "100")
        buy(database, contest_id, bob, symbols[1], "100")
        # Placing an order announces nothing; the tick writes fills and statuses in one
        # transaction: one notification (identical ones fold), naming alice and bob.
        clock.advance_clock(EngineUnitOfWork(database.sessions), contest_id)
        first = next(listening.notifies(timeout=30, stop_after=1))
        assert first.channel == CHANNEL
        assert member_ids(first.payload) == {alice.id, bob.id}
        assert list(listening.notifies(timeout=0.5)) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_wakes_this_process_after_commit_and_never_after_a_rollback(
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
) -> None:
    contest_id, _ = contest
    member = make_user()
    entered(database, contest_id, member)
    (account,) = _accounts(database, contest_id, [member]).values()

    def write(*, commit: bool) -> None:
        with database.sessions() as session:
            record_account_events(session, ACCOUNTS, [(account, ORDER_STATUS, {})], now=utc_now())
            session.commit() if commit else session.rollback()

    async def woken_after(*, commit: bool) -> bool:
        waiter = member_events_wakeup.waiter(database, member.id + 10**6)  # anybody's stream
        write(commit=commit)
        return await waiter.wait(0.05)

    assert asyncio.run(woken_after(commit=False)) is False
    assert asyncio.run(woken_after(commit=True)) is True
