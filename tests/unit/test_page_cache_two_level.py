"""The two-level page cache without a database: this process's LRU in front of a shared tier
(here another in-process cache standing for PostgreSQL, counted): a local hit asks the shared
tier only for the revision, a miss is fetched once, writes reach both, and a bump by any worker
is seen by every worker's next read, so no value stamped before it is current."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import Settings
from core.page_cache import (
    InProcessPageCache,
    PageCache,
    RedisPageCache,
    TwoLevelPageCache,
    page_cache_for,
)
from core.page_cache_postgres import PostgresPageCache

SECRET = "x" * 40


class Counted:
    """A shared tier that records the keys each read asked for."""

    def __init__(self, inner: PageCache) -> None:
        self.inner = inner
        self.asked: list[list[str]] = []

    def get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        self.asked.append(list(keys))
        return self.inner.get_many(scope, keys)

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self.inner.put_many(items)

    def revision(self, scope: str) -> int:
        return self.inner.revision(scope)

    def bump(self, scope: str) -> int:
        return self.inner.bump(scope)

    def clear(self) -> None:
        self.inner.clear()


class Down(Counted):
    """A shared tier that cannot answer (PostgreSQL unreachable): -1 and misses."""

    def get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        self.asked.append(list(keys))
        return -1, [None] * len(keys)


def test_a_local_hit_asks_the_shared_tier_for_the_revision_only() -> None:
    shared = Counted(InProcessPageCache())
    cache = TwoLevelPageCache(InProcessPageCache(), shared)
    cache.put_many([("a", b"1")])
    assert shared.inner.get_many("s", ["a"]) == (0, [b"1"])  # written through
    assert cache.get_many("s", ["a"]) == (0, [b"1"])
    assert shared.asked == [[]]


def test_a_value_another_worker_put_is_fetched_once_then_kept_here() -> None:
    shared = Counted(InProcessPageCache())
    one = TwoLevelPageCache(InProcessPageCache(), shared)
    two = TwoLevelPageCache(InProcessPageCache(), shared)
    one.put_many([("a", b"1"), ("b", b"2")])
    assert two.get_many("s", ["b", "a", "c"]) == (0, [b"2", b"1", None])
    assert two.get_many("s", ["a", "b", "c"]) == (0, [b"1", b"2", None])
    assert shared.asked == [["b", "a", "c"], ["c"]]


def test_a_bump_by_one_worker_is_the_next_revision_of_every_worker() -> None:
    shared = Counted(InProcessPageCache())
    one = TwoLevelPageCache(InProcessPageCache(), shared)
    two = TwoLevelPageCache(InProcessPageCache(), shared)
    one.put_many([("a", b"0\nold")])
    assert two.get_many("s", ["a"]) == (0, [b"0\nold"])
    assert one.bump("s") == 1 and two.revision("s") == 1 == one.revision("t") + 1
    one.put_many([("a", b"1\nnew")])  # what a reader computes after the bump
    # two kept the old value; the moved revision drops it and the new one is fetched
    assert two.get_many("s", ["a"]) == (1, [b"1\nnew"])
    assert two.get_many("s", ["a"]) == (1, [b"1\nnew"]) and shared.asked[-1] == []


def test_a_shared_tier_that_cannot_answer_gives_a_revision_no_value_carries() -> None:
    down = Down(InProcessPageCache())
    cache = TwoLevelPageCache(InProcessPageCache(), down)
    cache.put_many([("a", b"0\nx")])
    assert cache.get_many("s", ["a", "b"]) == (-1, [b"0\nx", None])  # -1: never current


def _settings(url: str, **overrides: object) -> Settings:
    return Settings(database_url=url, jwt_secret=SECRET, **overrides)  # type: ignore[arg-type]


def test_the_cache_is_chosen_by_the_settings() -> None:
    postgres = "postgresql+psycopg://postgres@127.0.0.1:1/none"  # never connected to here
    redis_url = "redis://127.0.0.1:1/0"
    assert isinstance(page_cache_for(_settings(postgres, redis_url=redis_url)), RedisPageCache)
    two_level = page_cache_for(_settings(postgres))
    assert isinstance(two_level, TwoLevelPageCache)
    assert isinstance(two_level.shared, PostgresPageCache)
    off = page_cache_for(_settings(postgres, page_cache_postgres=False))
    assert isinstance(off, InProcessPageCache)
    assert isinstance(page_cache_for(_settings("sqlite:///./x.db")), InProcessPageCache)


# A model of two workers over one shared tier: each operation is (worker, action, key).
KEYS = ["k0", "k1", "k2"]
operations = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.sampled_from(["read", "compute", "bump", "compute_late"]),
        st.sampled_from(KEYS),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_no_value_from_before_a_bump_is_ever_current(steps: list[tuple[int, str, str]]) -> None:
    """Writers stamp values with the revision they read before computing, as board_pages does
    (``compute_late``: a bump lands between the read and the write). Every read returns the
    latest revision any worker bumped to, a value stamped with it was computed after that
    bump, and a value is served (local or shared) once a worker has put one for its key."""
    shared = InProcessPageCache()
    workers = [TwoLevelPageCache(InProcessPageCache(), shared) for _ in range(2)]
    latest = 0
    computed: dict[str, list[tuple[int, bytes]]] = {key: [] for key in KEYS}
    serial = 0
    for worker, action, key in steps:
        cache = workers[worker]
        if action == "bump":
            latest = cache.bump("s")
            continue
        if action in ("compute", "compute_late"):
            seen = cache.revision("s")
            if action == "compute_late":
                latest = workers[1 - worker].bump("s")
            serial += 1
            value = b"%d\n%d" % (seen, serial)
            cache.put_many([(key, value)])
            computed[key].append((seen, value))
            continue
        revision, (found,) = cache.get_many("s", [key])
        assert revision == latest
        if computed[key]:
            assert found is not None and any(found == v for _, v in computed[key])
        else:
            assert found is None
        if found is not None and found.startswith(b"%d\n" % revision):
            assert (revision, found) in computed[key] and revision == latest
