"""The books the clock marks, kept between ticks by the process that owns the cache.

A tick reads every account's cash and non-zero holdings of its contest. What a committed tick
left is what the next one starts from, unless something else wrote those books in between:
every writer of an existing account's cash or positions bumps the contest's ``books_version``
(``TradingRepository.save_books``), so an entry is used only while the version it was kept at
is still the contest's. Accounts opened since are read by id. Any other miss (another process
ran the clock, a rolled-back tick, a new process) reads everything.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from engine.trading.store import AccountBook

Holdings = dict[int, dict[str, Decimal]]  # account id -> symbol -> non-zero quantity


@dataclass(frozen=True, slots=True)
class KeptBooks:
    version: int  # the contest's books_version these books were kept at
    books: dict[int, AccountBook]
    held: Holdings  # inner dicts are never mutated


class BooksCache:
    """Kept books per (database, contest), the most recently used ``size`` contests."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[str, int], KeptBooks] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, source: str, contest_id: int, version: int) -> KeptBooks | None:
        with self._lock:
            found = self._kept.get((source, contest_id))
        return found if found is not None and found.version == version else None

    def put(self, source: str, contest_id: int, kept: KeptBooks) -> None:
        with self._lock:
            key = (source, contest_id)
            self._kept[key] = kept
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        """Drop every kept book (what a restart does)."""
        with self._lock:
            self._kept.clear()
