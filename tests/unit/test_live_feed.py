"""The pure parts of the contest broadcasts on members' streams: personalizing a standings
tick, a minute's live ranking and a PK board, and the commit fence."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.member_events import CommitFence
from core.member_events_store import pack_ids, unpack_ids
from engine.contests import live_feed
from engine.contests.live_feed import (
    LiveRanking,
    SharedFence,
    live_rank,
    pk_result,
    rank_change,
)
from engine.contests.ranking import rank

PAYLOAD = {"contest_id": 7, "tick": 2, "day": "2026-01-05"}

# A tick's metrics: None is unranked (unqualified), values drawn from a few so ties happen.
metrics = st.lists(st.one_of(st.none(), st.sampled_from([-0.5, 0.0, 0.1, 0.25, 1.0])), max_size=12)


def naive_ranks(values: list[float | None]) -> list[int | None]:
    """Competition ranks by definition: 1 + the ranked entries strictly better."""
    ranked = [v for v in values if v is not None]
    return [None if v is None else 1 + sum(o > v for o in ranked) for v in values]


def standings_of(values: list[float | None]):  # type: ignore[no-untyped-def]
    ids = list(range(1, len(values) + 1))
    metric = [math.nan if v is None else v for v in values]
    return rank(ids, metric, qualified=[v is not None for v in values])


@settings(max_examples=200, deadline=None)
@given(before=metrics, now=metrics, first=st.booleans())
def test_a_member_gets_rank_change_iff_the_rank_changed_and_it_is_the_naive_rank(
    before: list[float | None], now: list[float | None], first: bool
) -> None:
    board_now, board_before = standings_of(now), None if first else standings_of(before)
    expected_now = naive_ranks(now)
    expected_before = [] if first else naive_ranks(before)
    for member in range(1, len(now) + 3):  # two members not on the board
        got = rank_change(PAYLOAD, member, board_now, board_before)
        if member > len(now):
            assert got is None
            continue
        rank_now = expected_now[member - 1]
        previous = expected_before[member - 1] if member <= len(expected_before) else None
        if rank_now == previous:
            assert got is None
        else:
            assert got is not None
            assert got["rank"] == rank_now and got["previous_rank"] == previous
            assert got["metric"] == now[member - 1]
            assert got["contest_id"] == 7 and got["tick"] == 2


@settings(max_examples=200, deadline=None)
@given(
    members=st.lists(st.integers(1, 10**6), unique=True, max_size=15),
    data=st.data(),
)
def test_a_member_gets_rank_live_iff_the_place_changed(
    members: list[int], data: st.DataObject
) -> None:
    now = data.draw(st.permutations(members))
    before = data.draw(st.one_of(st.none(), st.permutations(members[: len(members) // 2 + 1])))
    live_now = LiveRanking.of(now)
    live_before = None if before is None else LiveRanking.of(before)
    for member in [*members, 0]:
        got = live_rank({"bar_start": "x"}, member, live_now, live_before)
        place = now.index(member) + 1 if member in now else None
        previous = before.index(member) + 1 if before is not None and member in before else None
        if place is None or place == previous:
            assert got is None
        else:
            assert got == {"bar_start": "x", "rank": place, "previous_rank": previous}


@given(st.lists(st.integers(-(2**62), 2**62), max_size=50))
def test_live_rankings_pack_and_unpack_exactly(ids: list[int]) -> None:
    packed = pack_ids(ids)
    assert len(packed) == 8 * len(ids) and unpack_ids(packed) == ids
    assert np.array_equal(np.frombuffer(packed, dtype="<i8"), np.array(ids, dtype=np.int64))


def test_pk_results_reach_only_the_boards_teams_with_their_outcome() -> None:
    board = {"team_a": 1, "team_b": 2, "outcome": "win_b"}
    assert pk_result(board, 1) == board | {"team_id": 1, "team_outcome": "lost"}
    assert pk_result(board, 2) == board | {"team_id": 2, "team_outcome": "won"}
    assert pk_result(board, 3) is None and pk_result(board, None) is None
    assert pk_result(board | {"outcome": "draw"}, 2)["team_outcome"] == "draw"  # type: ignore[index]
    bye = {"team_a": 5, "team_b": None, "outcome": "bye"}
    assert pk_result(bye, 5)["team_outcome"] == "bye"  # type: ignore[index]


# --- the commit fence --------------------------------------------------------------------------

steps = st.lists(
    st.tuples(st.sampled_from(["begin", "draw", "end", "observe"]), st.integers(0, 5)), max_size=60
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_nothing_at_or_below_the_fence_can_still_commit(plan: list[tuple[str, int]]) -> None:
    """Writers take an xid, then draw ids, then end (commit or roll back) in any order; a
    reader observes (last drawn id, then the writers in flight) at any moment. Every id at or
    below the fence belongs to a writer that has ended, and the fence reaches the last drawn
    id once no writer is in flight."""
    fence = CommitFence()
    running: dict[int, list[int]] = {}  # xid -> ids drawn
    ended: set[int] = set()
    next_xid, drawn = 100, 0
    for action, pick in plan:
        xids = sorted(running)
        if action == "begin":
            running[next_xid] = []
            next_xid += 1
        elif action == "draw" and xids:
            drawn += 1
            running[xids[pick % len(xids)]].append(drawn)
        elif action == "end" and xids:
            ended.update(running.pop(xids[pick % len(xids)]))
        elif action == "observe":
            seen = fence.observe(drawn, frozenset(running))
            in_flight = {i for ids in running.values() for i in ids}
            assert all(i > seen for i in in_flight)
            assert seen <= drawn
            if not running:
                assert seen == drawn
    assert len(fence.pending) <= 8


def test_the_fence_waits_for_a_lower_id_that_commits_last() -> None:
    fence = CommitFence()
    # xid 1 drew id 10, xid 2 drew id 11 and committed; xid 1 still in flight.
    assert fence.observe(11, frozenset({1})) == 0
    assert fence.observe(11, frozenset({1, 3})) == 0  # a new writer (3) drew nothing yet
    assert fence.observe(12, frozenset({3})) == 11  # xid 1 ended: 10 and 11 are settled
    assert fence.observe(12, frozenset()) == 12
    assert fence.observe(5, frozenset()) == 12  # never moves back


class _Tickets:
    """``itertools.count`` that tells how many tickets were taken."""

    def __init__(self) -> None:
        self.taken = 0
        self.changed = threading.Condition()

    def __iter__(self) -> _Tickets:
        return self

    def __next__(self) -> int:
        with self.changed:
            self.taken += 1
            self.changed.notify_all()
            return self.taken


def test_streams_that_ask_during_an_observation_share_the_next_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A observes (slowly); B and C ask meanwhile. They cannot use A's (it began before they
    asked), so one more observation runs and the other of the two reuses it: two in all."""
    entered, release = threading.Event(), threading.Event()
    observations: list[int] = []

    class Repository:
        def __init__(self, session: object) -> None:
            pass

        def fence(self, fence: CommitFence) -> int:
            observations.append(len(observations) + 1)
            if len(observations) == 1:
                entered.set()
                assert release.wait(30)
            return 100 * len(observations)

    class Uow:
        session = None

        def source(self) -> str:
            return "db"

    monkeypatch.setattr(live_feed, "MemberEventsRepository", Repository)
    shared = SharedFence()
    tickets = _Tickets()
    shared._tickets = tickets  # type: ignore[assignment]
    got: dict[str, int | None] = {}

    def ask(name: str) -> None:
        got[name] = shared.upto(Uow())  # type: ignore[arg-type]

    first = threading.Thread(target=ask, args=("a",))
    first.start()
    assert entered.wait(30)
    waiters = [threading.Thread(target=ask, args=(n,)) for n in "bc"]
    for waiter in waiters:
        waiter.start()
    with tickets.changed:  # A's ask and start, then B's and C's asks
        assert tickets.changed.wait_for(lambda: tickets.taken >= 4, timeout=30)
    release.set()
    for thread in [first, *waiters]:
        thread.join(30)
    assert observations == [1, 2]
    assert got == {"a": 100, "b": 200, "c": 200}
    # Asked after every observation began: a new one.
    assert shared.upto(Uow()) == 300  # type: ignore[arg-type]
