"""The in-process fan-out of core.member_events_wakeup: a notification wakes exactly the
streams of the members it names (all of them when it names nobody), and a stream that was not
woken waits out its timeout (the poll)."""

from __future__ import annotations

import asyncio
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from core.member_events_wakeup import HUB, Waiter

members = st.sets(st.integers(min_value=1, max_value=20), max_size=8)


@settings(max_examples=40, deadline=None)
@given(streams=st.lists(st.integers(min_value=1, max_value=20), max_size=8), named=members,
       everybody=st.booleans())  # fmt: skip
def test_a_notification_wakes_exactly_the_streams_of_the_members_it_names(
    streams: list[int], named: set[int], everybody: bool
) -> None:
    async def woken() -> list[bool]:
        waiters = [Waiter(user) for user in streams]
        for waiter in waiters:
            HUB.add(waiter)
        # From another thread, as the listener and the writers signal.
        signal = threading.Thread(target=HUB.wake, args=(None if everybody else named,))
        signal.start()
        signal.join()
        return [await waiter.wait(0) for waiter in waiters]

    expected = [everybody or user in named for user in streams]
    assert asyncio.run(woken()) == expected


def test_a_wake_up_counts_once_and_a_disabled_waiter_only_sleeps() -> None:
    async def waits() -> tuple[bool, bool, bool]:
        waiter, poll_only = Waiter(7), Waiter(7, enabled=False)
        HUB.add(waiter)
        HUB.add(poll_only)
        HUB.wake({7})
        HUB.wake({7})  # folds into the first: one early return
        return await waiter.wait(0), await waiter.wait(0), await poll_only.wait(0)

    assert asyncio.run(waits()) == (True, False, False)


def test_a_stream_that_ended_is_forgotten() -> None:
    async def open_and_end() -> None:
        HUB.add(Waiter(99))  # nobody keeps it: gone with the stream

    asyncio.run(open_and_end())
    assert HUB.wake({99}) == 0
