"""The ledger's write statements keep PostgreSQL's generic plans, and the seqs a read reserves.

psycopg prepares a statement from its fifth execution on; the server then plans it with the
parameters' values five times more and keeps a generic plan only if that one costs no more
than the custom plans did, planning included. A statement whose generic plan looks dearer
(``generate_series(1, :reserve)``, sized at a guessed 1,000 rows) is replanned on every
execution, and no statement count shows it: ``pg_prepared_statements`` does. So it shows a
statement whose text changes with the group's length (an expanding ``IN``): one per length.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import sessionmaker

from core.db import Database
from ledger import services
from ledger.model import ISSUANCE, POINTS, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork
from ledger.store.prefetch import read_by_id

_TRANSFERS = 12  # prepared from the 5th, custom plans for 5 more, generic from the 11th


@pytest.fixture
def one_connection(pg_url: str) -> Iterator[Connection]:
    """One PostgreSQL session for every transaction, so its prepared statements are seen."""
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def test_a_transfers_statements_are_planned_once_not_per_execution(
    one_connection: Connection,
) -> None:
    uow = LedgerUnitOfWork(sessionmaker(one_connection, expire_on_commit=False))
    for n in range(_TRANSFERS):
        grant = TransferRequest(
            id=f"plan:{n}",
            debit=ISSUANCE,
            credit=points_account(1),
            asset=POINTS,
            amount=5,
            reason="grant",
        )
        services.transfer(uow, grant)
    plans = one_connection.execute(
        text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
    ).all()
    one_connection.rollback()
    for marker in ("FOR UPDATE", "nextval", "INSERT INTO ledger_transfers"):  # lock, read, write
        statement = [plan for plan in plans if marker in plan.statement]
        assert len(statement) == 1, (marker, plans)
        assert statement[0].generic_plans > 0, statement[0]


def test_groups_of_any_size_share_one_prepared_prefetch(one_connection: Connection) -> None:
    """The lists bind as arrays: no statement text (and plan) per group length."""
    uow = LedgerUnitOfWork(sessionmaker(one_connection, expire_on_commit=False))
    for n in range(6):  # each length often enough to be prepared on its own
        for size in (2, 3):
            group = [
                TransferRequest(
                    id=f"group:{size}:{n}:{i}",
                    debit=ISSUANCE,
                    credit=points_account(1 + i),
                    asset=POINTS,
                    amount=5,
                    reason="grant",
                )
                for i in range(size)
            ]
            services.submit(uow, group)
    prefetches = one_connection.execute(
        text("SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%nextval%'")
    ).all()
    one_connection.rollback()
    assert len(prefetches) == 1, prefetches


_ids = itertools.count()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reserves=st.lists(st.integers(0, 40), min_size=1, max_size=4))
def test_reserved_seqs_are_as_many_as_asked_and_increase_across_reads(
    database: Database, reserves: list[int]
) -> None:
    """``reserve`` seqs, distinct and ascending; on PostgreSQL each read's above the last read's
    (``nextval``), on SQLite counted on from the greatest stored (none here: from 1)."""
    drawn: list[int] = []
    for reserve in reserves:
        with database.sessions() as session, session.begin():
            seqs = read_by_id(session, [f"seq:{next(_ids)}"], reserve=reserve).seqs
        assert len(seqs) == reserve
        assert list(seqs) == sorted(set(seqs))
        if database.is_sqlite:
            assert seqs == tuple(range(1, reserve + 1))
        elif seqs and drawn:
            assert seqs[0] > drawn[-1]
        drawn += seqs
