"""The registry a deployment records (``ContentRepository.record_deployment``): the first
recorded address wins, so processes that deploy at the same moment (two hosts starting on one
chain) all end up anchoring to one contract; a replacement (a reset dev node) takes effect only
over the address it replaces."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.uow import ContentUnitOfWork
from core.clock import utc_now
from core.db import Database
from tests.concurrency import race

ADDRESSES = ["0x" + f"{n:02x}" * 20 for n in range(1, 5)]
_chain_ids = itertools.count(1000)


def _record(uow: ContentUnitOfWork, chain_id: int, address: str, replacing: str | None) -> str:
    with uow:
        recorded = uow.content.record_deployment(
            chain_id, address, replacing=replacing, now=utc_now()
        )
        uow.commit()
    return recorded


# Each op: the address deployed, and which address it claims to replace (None: none recorded).
ops = st.lists(
    st.tuples(st.sampled_from(ADDRESSES), st.none() | st.sampled_from(ADDRESSES)), max_size=8
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops)
def test_the_recorded_address_is_the_first_or_a_replacement_of_the_current_one(
    database: Database, ops: list[tuple[str, str | None]]
) -> None:
    uow = ContentUnitOfWork(database.sessions)
    chain_id = next(_chain_ids)  # a chain of this example's own
    recorded: str | None = None
    for address, replacing in ops:
        if replacing is None:
            recorded = recorded or address
        elif replacing == recorded:
            recorded = address
        got = _record(uow, chain_id, address, replacing)
        assert got == (recorded or address)
        with uow.reading():
            assert uow.content.deployment(chain_id) == recorded


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


@pytest.mark.postgres_only
@pytest.mark.parametrize("replacing", [None, "0x" + "ee" * 20])
def test_processes_recording_at_once_all_get_the_first_address(
    pg_database: Database, replacing: str | None
) -> None:
    uow = ContentUnitOfWork(pg_database.sessions)
    if replacing is not None:  # every process found this stale address and redeployed
        _record(uow, 7, replacing, None)
    results = race(
        len(ADDRESSES),
        lambda i: _record(ContentUnitOfWork(pg_database.sessions), 7, ADDRESSES[i], replacing),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1 and results[0] in ADDRESSES
    with uow.reading():
        assert uow.content.deployment(7) == results[0]
