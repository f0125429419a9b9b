"""The page cache shared through PostgreSQL (core.page_cache_postgres), with two ``Database``
objects standing for two API workers: a value one puts the other reads, a bump is seen by both
through their two-level caches, expired values are misses and are purged as values are
written, concurrent writers neither deadlock nor lose a bump, and a database without the
tables is a miss, never an error for the reader."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from core.db import Database
from core.page_cache import InProcessPageCache, TwoLevelPageCache
from core.page_cache_postgres import PURGE_AT_LEAST, PostgresPageCache
from core.page_cache_store import PageCacheEntryRow
from tests.concurrency import race
from tests.databases import PostgresDatabases

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def workers(pg_url: str) -> Iterator[tuple[Database, Database]]:
    """Two processes' views of one database: separate engines, separate pools."""
    one, two = Database.connect(pg_url), Database.connect(pg_url)
    yield one, two
    one.dispose()
    two.dispose()


def _two_level(database: Database) -> TwoLevelPageCache:
    return TwoLevelPageCache(InProcessPageCache(), PostgresPageCache(database.engine))


def _rows(database: Database, *, expired: bool | None = None) -> int:
    query = select(func.count()).select_from(PageCacheEntryRow)
    if expired is not None:
        live = PageCacheEntryRow.expires_at > func.now()
        query = query.where(~live if expired else live)
    with database.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_a_value_one_worker_puts_the_other_reads(workers: tuple[Database, Database]) -> None:
    one, two = (PostgresPageCache(w.engine) for w in workers)
    one.put_many([("a", b"\x00binary\xff"), ("b", b""), ("a", b"last wins")])
    assert two.get_many("s", ["b", "missing", "a"]) == (0, [b"", None, b"last wins"])
    assert two.get_many("s", []) == (0, [])


def test_a_bump_reaches_both_workers_two_level_caches(
    workers: tuple[Database, Database],
) -> None:
    one, two = (_two_level(w) for w in workers)
    one.put_many([("page", b"0\nold")])
    assert two.get_many("board", ["page"]) == (0, [b"0\nold"])  # now kept in two's process
    assert one.get_many("board", ["page"]) == (0, [b"0\nold"])
    assert two.bump("board") == 1
    assert one.get_many("board", ["page"])[0] == 1 == two.revision("board")  # old stamp: stale
    one.put_many([("page", b"1\nnew")])
    assert two.get_many("board", ["page"]) == (1, [b"1\nnew"])  # not its kept old value
    assert one.revision("other") == 0


def test_expired_values_are_misses_and_purged_as_values_are_written(
    workers: tuple[Database, Database],
) -> None:
    one, two = workers
    expired = PostgresPageCache(one.engine, ttl_seconds=-1)
    lasting = PostgresPageCache(two.engine)
    expired.put_many([("gone", b"x")])
    assert lasting.get_many("s", ["gone"]) == (0, [None])
    backlog = 2 * PURGE_AT_LEAST + 8
    lasting.put_many([(f"old:{n}", b"x") for n in range(backlog)])
    assert _rows(one, expired=False) == backlog
    with one.engine.begin() as connection:  # their TTL passes (the database's clock)
        connection.execute(
            text("UPDATE page_cache_entries SET expires_at = now() - interval '1 second'")
        )
    assert expired.get_many("s", ["old:0"]) == (0, [None])
    for left in (backlog - PURGE_AT_LEAST, 8, 0):  # each put purges a bounded batch
        lasting.put_many([("new", b"%d" % left)])
        assert _rows(one, expired=True) == left and _rows(one, expired=False) == 1
    assert expired.get_many("s", ["new"]) == (0, [b"0"])


def test_writers_racing_on_the_same_keys_neither_deadlock_nor_lose_a_bump(
    workers: tuple[Database, Database], caplog: pytest.LogCaptureFixture
) -> None:
    """Real threads: overlapping puts (keys in every order) with purges of expired rows, and
    bumps. A failed write is only logged, so the log is what must stay empty."""
    caches = [PostgresPageCache(w.engine, ttl_seconds=ttl) for w in workers for ttl in (-1, 60)]
    keys = [f"k{n}" for n in range(30)]

    def write(i: int) -> list[int]:
        cache = caches[i % len(caches)]
        bumps = []
        for round_ in range(15):
            order = keys[::-1] if (i + round_) % 2 else keys
            cache.put_many([(k, b"%d:%d" % (i, round_)) for k in order])
            bumps.append(cache.bump("s"))
        return bumps

    with caplog.at_level(logging.WARNING, logger="core.page_cache_postgres"):
        results = race(6, write)
    assert not [r for r in results if isinstance(r, Exception)]
    assert not caplog.records
    bumped = sorted(b for found in results for b in found)
    assert bumped == list(range(1, 6 * 15 + 1))  # every bump counted once
    assert caches[1].revision("s") == 6 * 15


values = st.binary(max_size=64)
puts = st.lists(
    st.tuples(st.integers(0, 1), st.sampled_from(["a", "b", "c", "d"]), values), max_size=12
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(puts)
def test_get_after_put_returns_the_latest_value_to_either_worker(
    workers: tuple[Database, Database], steps: list[tuple[int, str, bytes]]
) -> None:
    caches = [_two_level(w) for w in workers]
    for cache in caches:
        cache.clear()
    latest: dict[str, bytes] = {}
    for worker, key, value in steps:
        caches[worker].put_many([(key, value)])
        latest[key] = value
        other = PostgresPageCache(workers[1 - worker].engine)  # the shared tier itself
        assert other.get_many("s", [key]) == (0, [value])
        assert caches[worker].get_many("s", [key]) == (0, [value])
    keys = ["a", "b", "c", "d"]
    shared = PostgresPageCache(workers[0].engine)
    assert shared.get_many("s", keys)[1] == [latest.get(k) for k in keys]


def test_the_tables_skip_the_wal(workers: tuple[Database, Database]) -> None:
    """UNLOGGED (migration 0030): a crash empties the cache, which only costs recomputing."""
    query = text(
        "SELECT relname, relpersistence FROM pg_class "
        "WHERE relname IN ('page_cache_entries', 'page_cache_revisions')"
    )
    with workers[0].engine.connect() as connection:
        found = dict(connection.execute(query).all())
    assert found == {"page_cache_entries": "u", "page_cache_revisions": "u"}


def test_a_database_without_the_tables_is_a_miss(
    postgres_databases: PostgresDatabases, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres_databases.empty()
    cache = PostgresPageCache.connect(url)
    try:
        with caplog.at_level(logging.WARNING, logger="core.page_cache_postgres"):
            assert cache.get_many("s", ["a"]) == (-1, [None])
            cache.put_many([("a", b"1")])  # dropped
        assert len(caplog.records) == 2
        with pytest.raises(Exception, match="page_cache_revisions"):
            cache.bump("s")  # whether a failed invalidation is fatal is the writer's call
        with cache.engine.connect() as connection:  # the pool's own settings hold
            timeout = connection.execute(text("SHOW statement_timeout")).scalar_one()
        assert timeout == "2s"
    finally:
        cache.close()
        postgres_databases.drop(url)
