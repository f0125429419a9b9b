"""Round trips of the ledger's write path, on both databases: a ceiling per call, so a change
that adds a statement (a second lock, a re-SELECT after the write, an ORM flush) fails here;
and a property that what one write statement stores is exactly what the service returned."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from core.db import Database
from ledger import services
from ledger.model import ISSUANCE, POINTS, ResolvePending, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork

# Statements through the cursor (BEGIN and COMMIT left out). PostgreSQL: one read that locks
# the heads and reads the group's transfers and failed ids by id, its balances and its seqs
# (ledger.store.prefetch), and one write (balances, transfers and heads in CTEs:
# ledger.store.appends). SQLite writes in three.
TRANSFER_CEILING = {"postgresql": 2, "sqlite": 4}
REPLAY_CEILING = 1  # the locking read that finds the original
# Round trips on PostgreSQL, BEGIN and COMMIT included: the BEGIN, the read, and the write with
# the COMMIT in one pipeline. (pgbench -N's transaction takes five.)
TRANSFER_ROUND_TRIPS = 3


class _Sent:
    """What a transaction sent: its statements, and its round trips on PostgreSQL."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.round_trips = 0
        self._pipelined = False  # the last statement went in a pipeline

    def statement(self, connection: Any, statement: str) -> None:
        if statement.startswith("BEGIN"):  # SQLite's, through the cursor
            return
        if not statement.startswith("COMMIT"):
            self.statements.append(" ".join(statement.split()))
        driver = connection.connection.driver_connection
        pipelined = bool(getattr(getattr(driver, "pgconn", None), "pipeline_status", 0))
        if not self.round_trips and connection.dialect.name == "postgresql":
            self.round_trips = 1  # psycopg's BEGIN, before the first statement
        if not (pipelined and self._pipelined):  # a pipeline's statements share one
            self.round_trips += 1
        self._pipelined = pipelined

    def commit(self, connection: Any) -> None:
        pgconn = getattr(connection.connection.driver_connection, "pgconn", None)
        if pgconn is not None and pgconn.transaction_status != 0:  # else psycopg sends nothing
            self.round_trips += 1
        self._pipelined = False


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    with _sent(database) as sent:
        yield sent.statements


@contextmanager
def _sent(database: Database) -> Iterator[_Sent]:
    sent = _Sent()

    def record(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.statement(connection, statement)

    event.listen(database.engine, "before_cursor_execute", record)
    event.listen(database.engine, "commit", sent.commit)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
        event.remove(database.engine, "commit", sent.commit)


def _grant(id_: str, member: int, amount: int = 10, **extra: Any) -> TransferRequest:
    return TransferRequest(
        id=id_,
        debit=ISSUANCE,
        credit=points_account(member),
        asset=POINTS,
        amount=amount,
        reason="grant",
        **extra,
    )


def _locks(statements: list[str]) -> int:
    """Statements that read (and, on PostgreSQL, lock) the shard heads."""
    return sum(not s.startswith("UPDATE") and "FROM ledger_heads" in s for s in statements)


def test_one_transfer_stays_under_its_ceiling(
    ledger_uow: LedgerUnitOfWork, database: Database
) -> None:
    services.transfer(ledger_uow, _grant("warm", 1))  # the balances' rows exist
    with _statements(database) as statements:
        services.transfer(ledger_uow, _grant("one", 1))
    assert _locks(statements) == 1, statements
    ceiling = TRANSFER_CEILING[database.engine.dialect.name]
    assert len(statements) <= ceiling, "\n".join(statements)


def test_a_first_transfer_to_new_accounts_costs_no_more(
    ledger_uow: LedgerUnitOfWork, database: Database
) -> None:
    with _statements(database) as statements:  # no balance row yet: the upsert inserts
        services.transfer(ledger_uow, _grant("first", 7))
    assert len(statements) <= TRANSFER_CEILING[database.engine.dialect.name], statements


def test_a_submitted_group_costs_what_one_transfer_does(
    ledger_uow: LedgerUnitOfWork, database: Database
) -> None:
    services.transfer(ledger_uow, _grant("warm", 1))
    group = [_grant(f"group:{n}", 1 + n % 3, metadata={"n": n}) for n in range(5)]
    with _statements(database) as statements:
        services.submit(ledger_uow, group)
    assert _locks(statements) == 1, statements
    assert len(statements) <= TRANSFER_CEILING[database.engine.dialect.name], statements


def test_one_transfer_takes_three_round_trips_on_postgresql(
    ledger_uow: LedgerUnitOfWork, database: Database
) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no network: its statements are counted above")
    services.transfer(ledger_uow, _grant("warm", 1))
    with _sent(database) as sent:
        services.transfer(ledger_uow, _grant("trips", 1))
    assert sent.round_trips <= TRANSFER_ROUND_TRIPS, sent.statements


@pytest.mark.parametrize("size", [10, 1000])
def test_a_batch_costs_what_one_transfer_does_whatever_its_size(
    ledger_uow: LedgerUnitOfWork, database: Database, size: int
) -> None:
    """A linked batch as large as the bench's: no statement (nor round trip) per transfer."""
    services.transfer(ledger_uow, _grant("warm", 1))
    batch = [_grant(f"batch:{size}:{n}", 1 + n % 100, 1 + n % 7) for n in range(size)]
    with _sent(database) as sent:
        made = services.submit(ledger_uow, batch)
    assert len(made) == size
    assert _locks(sent.statements) == 1, sent.statements
    assert len(sent.statements) <= TRANSFER_CEILING[database.engine.dialect.name], sent.statements
    if database.engine.dialect.name == "postgresql":
        assert sent.round_trips <= TRANSFER_ROUND_TRIPS, sent.statements
    assert services.verify(ledger_uow).ok


def test_a_replay_only_locks_and_looks_up(ledger_uow: LedgerUnitOfWork, database: Database) -> None:
    original = services.transfer(ledger_uow, _grant("again", 1))
    with _statements(database) as statements:
        replayed = services.transfer(ledger_uow, _grant("again", 1))
    assert replayed == original
    assert len(statements) <= REPLAY_CEILING, statements


_ids = itertools.count()
_metadata = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.integers(-(10**6), 10**6), st.text(max_size=12), st.booleans(), st.none()),
    max_size=3,
)
_request = st.tuples(
    st.integers(1, 4), st.integers(1, 1000), _metadata, st.none() | st.integers(1, 86_400)
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(group=st.lists(_request, min_size=1, max_size=6), resolve=st.booleans())
def test_what_a_group_stores_is_what_it_returned(
    ledger_uow: LedgerUnitOfWork,
    group: list[tuple[int, int, dict[str, Any], int | None]],
    resolve: bool,
) -> None:
    """Holds with timeouts, JSON metadata and NULL columns go through the one-statement write
    (arrays per column on PostgreSQL) and come back unchanged; balances stay derivable."""
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC) + timedelta(seconds=next(_ids))
    requests: list[TransferRequest | ResolvePending] = [
        _grant(
            f"prop:{next(_ids)}",
            member,
            amount,
            metadata=metadata,
            pending=timeout is not None,
            timeout_seconds=timeout,
        )
        for member, amount, metadata, timeout in group
    ]
    made = services.submit(ledger_uow, requests, now=now)
    holds = [t for t in made if t.timeout_seconds is not None]
    if resolve and holds:
        resolution = ResolvePending(id=f"prop:{next(_ids)}", pending_id=holds[0].id, post=True)
        made += services.submit(ledger_uow, [resolution], now=now)
    with ledger_uow.reading():
        stored = ledger_uow.ledger.transfers_by_id(t.id for t in made)
    assert [stored[t.id] for t in made] == made
    assert services.verify(ledger_uow).ok
