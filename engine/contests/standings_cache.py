"""Committed ticks' standings, kept by the process that owns the cache.

A tick's snapshot never changes once committed, so the ``Standings`` ranked for (database,
contest, tick) stay valid for as long as they are kept; the clock hands over the ones it ranked
after its transaction commits, and reads fill the cache from committed snapshots.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

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
