"""Committed ticks' standings, kept by the process that owns the cache.

A tick's snapshot never changes once committed, so the ``Standings`` ranked for (database,
contest, tick) stay valid for as long as they are kept; the clock hands over the ones it ranked
after its transaction commits, and reads fill the cache from committed snapshots.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from engine.contests.ranking import Standings

TickKey = tuple[str, int, int]  # (database, contest id, tick)


class StandingsCache:
    """The most recently used ``size`` ticks' standings."""

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._kept: OrderedDict[TickKey, Standings] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: TickKey) -> Standings | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: TickKey, standings: Standings) -> None:
        with self._lock:
            self._kept[key] = standings
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        """Forget every tick (what a restart does)."""
        with self._lock:
            self._kept.clear()


def encode_standings(standings: Standings) -> bytes:
    """The standings' arrays as bytes (24 per entry), for a cache other processes read."""
    count = np.array([len(standings)], dtype="<i8")
    ids = standings.member_ids.astype("<i8")
    ranks = standings.ranks.astype("<i8")
    metric = standings.metric.astype("<f8")
    return count.tobytes() + ids.tobytes() + ranks.tobytes() + metric.tobytes()


def decode_standings(data: bytes) -> Standings:
    """The standings ``encode_standings`` wrote; ``ValueError`` when ``data`` is not that."""
    if len(data) < 8:
        raise ValueError("not encoded standings")
    n = int(np.frombuffer(data, dtype="<i8", count=1)[0])
    if n < 0 or len(data) != 8 + 24 * n:
        raise ValueError("not encoded standings")
    ids = np.frombuffer(data, dtype="<i8", count=n, offset=8).astype(np.int64)
    ranks = np.frombuffer(data, dtype="<i8", count=n, offset=8 + 8 * n).astype(np.int64)
    metric = np.frombuffer(data, dtype="<f8", count=n, offset=8 + 16 * n).astype(np.float64)
    standings = Standings(ids, ranks, metric)
    standings.check_invariants()
    return standings
