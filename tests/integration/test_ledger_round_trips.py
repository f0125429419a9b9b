"""Round trips of the ledger's write path, on both databases: a ceiling per call, so a change
that adds a statement (a second lock, a re-SELECT after the write, an ORM flush) fails here;
and a property that what one write statement stores is exactly what the service returned."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from core.db import Database
from ledger import services
from ledger.model import ISSUANCE, POINTS, ResolvePending, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork

# Statements through the cursor (SQLite's BEGIN left out; the COMMIT is not a cursor
# statement on either). PostgreSQL: one read that locks the heads and reads the group's
# transfers and failed ids by id, its balances and its seqs (ledger.store.prefetch) and one
# write (balances, transfers and heads in CTEs: ledger.store.appends). SQLite writes in three.
TRANSFER_CEILING = {"postgresql": 2, "sqlite": 4}
REPLAY_CEILING = 1  # the locking read that finds the original


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append(" ".join(statement.split()))

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


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
