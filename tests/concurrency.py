"""Run a callable from many real threads released at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def race(count: int, call: Callable[[int], Any]) -> list[Any]:
    """Call ``call(i)`` for i in range(count) from ``count`` threads started together.

    Returns each call's result, or the exception it raised, in thread order.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except Exception as exc:  # the caller inspects what each thread got
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
