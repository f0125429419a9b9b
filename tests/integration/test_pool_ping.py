"""The PostgreSQL pool pings a connection only after it sat idle (``core.db._ping_after_idle``):
a busy pool sends no ping, and a connection the server closed while it was idle is replaced
without the caller seeing an error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, PendingRollbackError

from core.db import make_engine, postgres_admin_connection
from tests.databases import POSTGRES_URL


@pytest.fixture
def engines(pg_url: str) -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def _engine(engines: list[Engine], url: str, *, idle_ping_seconds: float) -> Engine:
    engine = make_engine(url, idle_ping_seconds=idle_ping_seconds)
    engines.append(engine)
    return engine


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(pid: int) -> None:
    with postgres_admin_connection(POSTGRES_URL) as admin:
        # The timeout makes it wait until the backend is gone, not just signalled.
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    real_ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_killed_while_idle_is_replaced_transparently(
    pg_url: str, engines: list[Engine]
) -> None:
    engine = _engine(engines, pg_url, idle_ping_seconds=0.05)
    killed = _backend_pid(engine)
    _terminate(killed)
    time.sleep(0.1)  # longer idle than the threshold
    assert _backend_pid(engine) != killed  # no error: the pool reconnected


def test_without_the_idle_ping_the_killed_connection_reaches_the_caller(
    pg_url: str, engines: list[Engine]
) -> None:
    # The counterpart that shows the test above depends on the ping.
    engine = _engine(engines, pg_url, idle_ping_seconds=3600)
    _terminate(_backend_pid(engine))
    # The dead connection's error, or (when leaving the block after it) the rollback it left
    # pending: either way the caller sees it.
    with pytest.raises((OperationalError, PendingRollbackError)):
        _backend_pid(engine)


def test_a_busy_pool_never_pings(
    pg_url: str, engines: list[Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(engines, pg_url, idle_ping_seconds=3600)
    pings = _count_pings(engine, monkeypatch)
    pids = {_backend_pid(engine) for _ in range(20)}
    assert len(pids) == 1  # one connection, reused
    assert pings == []


def test_an_idle_connection_is_pinged_once_per_checkout(
    pg_url: str, engines: list[Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(engines, pg_url, idle_ping_seconds=0.0)
    pings = _count_pings(engine, monkeypatch)
    for _ in range(5):
        _backend_pid(engine)
        time.sleep(0.01)
    assert len(pings) == 4  # every checkout but the first (a fresh connection)
