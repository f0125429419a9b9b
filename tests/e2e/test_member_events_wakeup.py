"""Wake-up on commit (core.member_events_wakeup): a fill committed while a member's stream is open
reaches it without waiting for the stream's poll, on both databases, and the PostgreSQL listener
survives a dropped connection.

The poll here is 60 s, so a stream that is not woken sits out every bound below. TestClient hands
back a body once its stream ends, and a stream ends at the first wake after
``event_stream_max_seconds``: the test keeps committing events (an order placed and canceled)
until the stream's body is back, and bounds that by a generous timeout, not a timing assertion.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from core.config import Settings
from core.db import Database
from core.member_events_wakeup import LISTENER_NAME, Listener, listener_of
from core.users.model import User
from engine import clock
from engine.trading import services
from engine.uow import EngineUnitOfWork
from tests.conftest import make_settings
from tests.e2e.test_member_events_api import buy, frames
from tests.e2e.test_trading_api import contest, entered  # noqa: F401 (fixture)

GENEROUS = 30.0  # seconds; the poll (60 s) is past it


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(
        db_url,
        event_stream_poll_seconds=60,
        event_stream_heartbeat_seconds=3600,
        event_stream_max_seconds=0.5,
    )


class Stream:
    """A member's stream read in a thread: its events once it ends."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.body: str | None = None
        self.thread = threading.Thread(target=self._read, args=(client, headers), daemon=True)
        self.thread.start()

    def _read(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get("/v1/me/events", headers=headers)
        assert response.status_code == 200, response.text
        self.body = response.text

    @property
    def ended(self) -> bool:
        return not self.thread.is_alive()

    def events(self) -> list[dict[str, Any]]:
        assert self.body is not None, "the stream did not end"
        return frames(self.body)


def _nudge_until_ended(
    stream: Stream, database: Database, contest_id: int, member: User, symbol: str
) -> None:
    """Commit an event (an order placed and canceled) every so often until ``stream`` ends."""
    uow = EngineUnitOfWork(database.sessions)
    deadline = time.monotonic() + GENEROUS
    while not stream.ended and time.monotonic() < deadline:
        order = buy(database, contest_id, member, symbol, "100")
        services.cancel_order(uow, contest_id, member.id, order)
        stream.thread.join(timeout=0.2)
    assert stream.ended, "the stream was not woken by the commits (it waits for its 60 s poll)"


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GENEROUS
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_fill_committed_while_a_stream_is_open_arrives_before_the_poll(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    alice, bob = make_user(), make_user()
    for member in (alice, bob):
        entered(database, contest_id, member)
    ordered = buy(database, contest_id, alice, symbols[0], "100")
    stream = Stream(client, login(alice))
    time.sleep(0.1)  # let the stream start (were it later, its first read finds the fill)
    clock.advance_clock(EngineUnitOfWork(database.sessions), contest_id)  # the fill commits

    _nudge_until_ended(stream, database, contest_id, alice, symbols[1])
    seen = stream.events()
    assert ("order.fill", ordered) in {(e["kind"], e["payload"].get("order_id")) for e in seen}
    assert {e["payload"].get("order_id") for e in seen} >= {ordered}
    # Another member's commits wake nobody else's stream into showing them.
    other = Stream(client, login(bob))
    _nudge_until_ended(other, database, contest_id, bob, symbols[1])
    assert {e["payload"].get("order_id") for e in other.events()}.isdisjoint({ordered})


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_listener_reconnects_after_its_connection_drops_and_wakes_streams_again(
    client: TestClient,
    database: Database,
    contest: tuple[int, list[str]],  # noqa: F811 (the fixture)
    make_user: Callable[..., User],
    login: Callable[[User], dict[str, str]],
) -> None:
    contest_id, symbols = contest
    member = make_user()
    entered(database, contest_id, member)
    first = Stream(client, login(member))
    _wait_for(lambda: _listening(database) is not None, "the listener never listened")
    listener = _listening(database)
    assert listener is not None
    connects = listener.connects
    with database.engine.connect() as conn:
        dropped = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": LISTENER_NAME},
        ).scalar_one()
    assert dropped == 1
    _wait_for(lambda: listener.connects > connects, "the listener did not reconnect")
    _nudge_until_ended(first, database, contest_id, member, symbols[0])

    ordered = buy(database, contest_id, member, symbols[0], "100")
    second = Stream(client, login(member))
    time.sleep(0.1)
    clock.advance_clock(EngineUnitOfWork(database.sessions), contest_id)
    _nudge_until_ended(second, database, contest_id, member, symbols[1])
    assert ("order.fill", ordered) in {
        (e["kind"], e["payload"].get("order_id")) for e in second.events()
    }


def _listening(database: Database) -> Listener | None:
    listener = listener_of(database)
    return listener if listener is not None and listener.listening.is_set() else None
