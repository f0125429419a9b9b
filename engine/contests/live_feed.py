"""A contest's facts on its members' live streams: one broadcast row each, personalized per stream.

**Writing** (inside the transaction of the fact, so a broadcast exists iff its fact committed):
``standings.record_tick`` broadcasts ``rank.change`` (contest, tick, day) for every standings tick
(the daily clock and a minute contest's session close); the intraday clock stores each minute's
live ranking once (``live_rankings``, the member ids by equity, packed) and broadcasts
``rank.live`` (contest, bar, previous bar), and broadcasts ``contest.feed`` when its quote feed
goes stale or recovers; judging a PK board broadcasts ``pk.result``. One row per fact, whatever
the contest's size: a tick of 100,000 accounts writes one event row, not 100,000.

**Reading** (``FeedReader``, one per stream): a poll reads the member's own rows and the
broadcasts of the contests the member has an account in (a sub-select on the accounts, so a
contest joined after the stream opened is seen at the next poll), up to the commit fence, and
personalizes each broadcast:

- ``rank.change``: the member's competition rank in the tick's standings and in the previous
  tick's (``leaderboard.standings_at``: this process's cache, the shared cache's rank index,
  else the snapshot; O(log n) per member). **Sent only when the rank differs from the previous
  tick's** (unranked counts as a rank, ``None``); a member not on the tick's board gets nothing.
- ``rank.live``: the member's place in the minute's ranking and in the previous bar's (both
  read once per process and kept, ``LiveRankings``). Sent only when the place changed (a
  previous bar no longer kept counts as no place). Comparing with the previous tick, not with
  what this connection sent, keeps a reconnecting stream's answer the same.
- ``pk.result``: sent only to members of the board's two teams, with their team's outcome.
- ``contest.feed``: sent as written to every member of the contest.

The commit fence (``core.member_events.CommitFence``) is observed once per database per
process for all the streams polling together (``SharedFence``).
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np

from core.clock import utc_now
from core.member_events import (
    CONTEST_FEED,
    PK_RESULT,
    RANK_CHANGE,
    RANK_LIVE,
    CommitFence,
    EventPayload,
    MemberEvent,
)
from core.member_events_store import (
    MemberEventsRepository,
    record_broadcast,
    record_live_ranking,
)
from engine.contests.leaderboard import standings_at
from engine.contests.ranking import Standings

if TYPE_CHECKING:
    from engine.uow import EngineUnitOfWork

PAUSED, LIVE = "paused", "live"

# --- writing (inside the fact's transaction) ---------------------------------------------------


def broadcast_tick(uow: EngineUnitOfWork, contest_id: int, tick: int, day: date) -> None:
    """A standings tick committed with the fact: its members' streams send ``rank.change``."""
    payload = {"contest_id": contest_id, "tick": tick, "day": day.isoformat()}
    record_broadcast(uow.session, contest_id, RANK_CHANGE, payload, now=utc_now())


def broadcast_live_ranking(
    uow: EngineUnitOfWork,
    contest_id: int,
    bar_start: datetime,
    member_ids: Sequence[int],
    *,
    previous_bar: datetime | None,
) -> None:
    """Store the minute's ranking (member ids, best equity first) and broadcast ``rank.live``."""
    record_live_ranking(uow.session, contest_id, bar_start, member_ids)
    payload = {
        "contest_id": contest_id,
        "bar_start": bar_start.isoformat(),
        "previous_bar": None if previous_bar is None else previous_bar.isoformat(),
    }
    record_broadcast(uow.session, contest_id, RANK_LIVE, payload, now=utc_now())


def broadcast_feed(
    uow: EngineUnitOfWork, contest_id: int, *, stale: Sequence[str], at: datetime
) -> None:
    """The contest's feed went stale (``stale`` names the symbols; matching paused) or
    recovered (``stale`` empty)."""
    payload = {
        "contest_id": contest_id,
        "status": PAUSED if stale else LIVE,
        "stale_symbols": list(stale),
        "at": at.isoformat(),
    }
    record_broadcast(uow.session, contest_id, CONTEST_FEED, payload, now=utc_now())


def broadcast_pk_result(uow: EngineUnitOfWork, contest_id: int, result: EventPayload) -> None:
    """A judged PK board (``pk_rounds``' result payload): its two teams' members are told."""
    record_broadcast(uow.session, contest_id, PK_RESULT, result, now=utc_now())


# --- personalizing (pure) ----------------------------------------------------------------------


def rank_change(
    payload: EventPayload, member_id: int, now: Standings | None, before: Standings | None
) -> EventPayload | None:
    """The member's ``rank.change`` for a tick with standings ``now`` (previous tick:
    ``before``), or None when the member is not on the board or the rank did not change."""
    if now is None or now.position_of(member_id) is None:
        return None
    rank = now.rank_of(member_id)
    previous = None if before is None else before.rank_of(member_id)
    if rank == previous:
        return None
    position = now.position_of(member_id) or 0
    value = float(now.metric[position - 1])
    return {
        **payload,
        "rank": rank,
        "previous_rank": previous,
        "position": position,
        "metric": None if np.isnan(value) else value,
    }


@dataclass(frozen=True, slots=True, eq=False)
class LiveRanking:
    """A minute's ranking: member ids, best first; a member's rank is its 1-based place."""

    member_ids: np.ndarray
    sorted_ids: np.ndarray = field(init=False)
    places: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        order = np.argsort(self.member_ids, kind="stable")
        object.__setattr__(self, "sorted_ids", self.member_ids[order])
        object.__setattr__(self, "places", order + 1)

    @classmethod
    def of(cls, member_ids: Sequence[int]) -> LiveRanking:
        return cls(np.asarray(member_ids, dtype=np.int64))

    def rank_of(self, member_id: int) -> int | None:
        slot = int(self.sorted_ids.searchsorted(member_id))
        if slot < self.sorted_ids.size and int(self.sorted_ids[slot]) == member_id:
            return int(self.places[slot])
        return None


def live_rank(
    payload: EventPayload, member_id: int, now: LiveRanking | None, before: LiveRanking | None
) -> EventPayload | None:
    """The member's ``rank.live`` at a minute bar, or None when not ranked or unchanged."""
    rank = None if now is None else now.rank_of(member_id)
    if rank is None:
        return None
    previous = None if before is None else before.rank_of(member_id)
    if rank == previous:
        return None
    return {**payload, "rank": rank, "previous_rank": previous}


def pk_result(payload: EventPayload, team_id: int | None) -> EventPayload | None:
    """The board's result for a member of team ``team_id`` (None: not on the board)."""
    if team_id is None or team_id not in (payload.get("team_a"), payload.get("team_b")):
        return None
    outcome = payload.get("outcome")
    side = "a" if team_id == payload.get("team_a") else "b"
    if outcome == "draw":
        mine = "draw"
    elif outcome == "bye":
        mine = "bye"
    else:
        mine = "won" if outcome == f"win_{side}" else "lost"
    return {**payload, "team_id": team_id, "team_outcome": mine}


# --- reading (per stream) ----------------------------------------------------------------------


class LiveRankings:
    """The minute rankings this process has read, newest ``size`` kept (every stream of the
    process reads a bar's ranking once)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[str, int, str], LiveRanking | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, uow: EngineUnitOfWork, contest_id: int, bar: str | None) -> LiveRanking | None:
        if bar is None:
            return None
        key = (uow.source(), contest_id, bar)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        ids = MemberEventsRepository(uow.session).live_ranking(
            contest_id, datetime.fromisoformat(bar)
        )
        found = None if ids is None else LiveRanking.of(ids)
        with self._lock:
            self._kept[key] = found
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return found


LIVE_RANKINGS = LiveRankings()


@dataclass(slots=True)
class _Observed:
    fence: CommitFence = field(default_factory=CommitFence)
    started: int = -1  # the ticket of the last observation's start
    value: int | None = None


class SharedFence:
    """The commit fence of each database, shared by every stream of the process: a fence is a
    lower bound that stays true, so any stream may use any observation that began after it
    asked. Streams that poll together (a wake-up reaches them all at once) wait for one
    observation instead of each making their own (two small queries)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets = itertools.count()
        self._observed: dict[str, _Observed] = {}

    def upto(self, uow: EngineUnitOfWork) -> int | None:
        """The fence for a read about to start (None: no fence needed, see the repository)."""
        asked = next(self._tickets)
        with self._lock:
            observed = self._observed.setdefault(uow.source(), _Observed())
            if observed.started > asked:  # began after we asked: it saw what we would
                return observed.value
            observed.started = next(self._tickets)
            observed.value = MemberEventsRepository(uow.session).fence(observed.fence)
            return observed.value


FENCES = SharedFence()


@dataclass(slots=True)
class FeedBatch:
    events: list[MemberEvent]
    full: bool  # the read hit its limit: read on without waiting


@dataclass(slots=True)
class FeedReader:
    """One stream's reader: its cursor (the last row read, sent or skipped) and commit fence."""

    member_id: int
    cursor: int
    fences: SharedFence = FENCES
    rankings: LiveRankings = LIVE_RANKINGS

    @classmethod
    def from_now(cls, uow: EngineUnitOfWork, member_id: int) -> FeedReader:
        """A reader that starts after the newest committed row: "now" is that row, so a
        transaction still in flight with a lower id counts as before the stream (as any start
        without a cursor must draw a line); those with higher ids reach it once the fence
        passes them."""
        reader = cls(member_id, 0)
        with uow.reading():
            reader.fences.upto(uow)  # the fence starts its watch no later than the stream
            reader.cursor = MemberEventsRepository(uow.session).newest_id()
        return reader

    def read(self, uow: EngineUnitOfWork, *, limit: int) -> FeedBatch:
        """The member's next events (personalized), at most ``limit`` rows read."""
        with uow.reading():
            upto = self.fences.upto(uow)
            repo = MemberEventsRepository(uow.session)
            rows = repo.after(self.member_id, self.cursor, limit=limit, upto=upto)
            events = [e for row in rows if (e := self._personal(uow, row)) is not None]
        if rows:
            self.cursor = rows[-1].id
        return FeedBatch(events, full=len(rows) >= limit)

    def _personal(self, uow: EngineUnitOfWork, row: MemberEvent) -> MemberEvent | None:
        if row.user_id is not None or row.contest_id is None:
            return row
        payload = self._payload(uow, row.contest_id, row)
        if payload is None:
            return None
        return MemberEvent(
            row.id, self.member_id, row.kind, payload, row.created_at, row.contest_id
        )

    def _payload(
        self, uow: EngineUnitOfWork, contest_id: int, row: MemberEvent
    ) -> EventPayload | None:
        p = row.payload
        if row.kind == RANK_CHANGE:
            tick = int(p["tick"])
            now = standings_at(uow, contest_id, tick, remember=True)
            before = standings_at(uow, contest_id, tick - 1, remember=True)
            return rank_change(p, self.member_id, now, before)
        if row.kind == RANK_LIVE:
            now_live = self.rankings.get(uow, contest_id, p["bar_start"])
            before_live = self.rankings.get(uow, contest_id, p.get("previous_bar"))
            return live_rank(p, self.member_id, now_live, before_live)
        if row.kind == PK_RESULT:
            return pk_result(p, uow.contests.team_of(contest_id, self.member_id))
        return p
