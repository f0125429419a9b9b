"""The page cache without a database: LRU and TTL in process, Redis down reads as a miss, and the
tick's rank index survives its encoding."""

from __future__ import annotations

import math

import numpy as np
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from core.page_cache import InProcessPageCache, RedisPageCache
from engine.contests import ranking
from engine.contests.standings_cache import decode_standings, encode_standings


def test_in_process_keeps_the_recent_values_for_their_ttl() -> None:
    cache = InProcessPageCache(size=2, ttl_seconds=60)
    cache.put_many([("a", b"1"), ("b", b"2")])
    assert cache.get_many("s", ["a"]) == (0, [b"1"])
    cache.put_many([("c", b"3")])  # b is the least recently used now
    assert cache.get_many("s", ["a", "b", "c"]) == (0, [b"1", None, b"3"])
    assert cache.bump("s") == 1 and cache.get_many("s", [])[0] == 1 and cache.revision("t") == 0
    stale = InProcessPageCache(ttl_seconds=-1)
    stale.put_many([("a", b"1")])
    assert stale.get_many("s", ["a"]) == (0, [None])


def test_redis_down_is_a_miss_and_writes_are_dropped() -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    cache = RedisPageCache(down)
    assert cache.get_many("s", ["a", "b"]) == (-1, [None, None])  # -1: matches no stored value
    cache.put_many([("a", b"1")])
    assert cache.revision("s") == -1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.one_of(st.none(), st.integers(-5, 5)), st.booleans()), min_size=0, max_size=30
    )
)
def test_the_rank_index_survives_its_encoding(scored: list[tuple[int | None, bool]]) -> None:
    ids = np.arange(1, len(scored) + 1, dtype=np.int64) * 7
    metric = [math.nan if m is None else m / 10 for m, _ in scored]
    standings = ranking.rank(ids, metric, qualified=[q for _, q in scored])
    again = decode_standings(encode_standings(standings))
    assert again.to_rows() == standings.to_rows()
    for member in ids.tolist():
        assert again.position_of(member) == standings.position_of(member)
        assert again.percentile(member) == standings.percentile(member)
