"""A member's own event feed (the live push stream, ``GET /v1/me/events``): the pure parts.

A fact about one member's orders (a fill, an order's new status) writes one ``member_events``
row in the transaction that writes the fact (``core.member_events_store``), so an event exists
iff its fact committed. Ids increase with every insert; a stream reads a member's rows after
a cursor (the SSE ``Last-Event-ID``), so a reconnecting client resumes without gaps or
duplicates, and any worker process can serve any member (the table is the only state).

A placed order is not announced here: the member's own request returns it, and placing an
order must stay within its statement ceiling (tests/e2e/test_statement_ceilings.py).

**Broadcasts.** A fact about a whole contest (a standings tick, a minute's live ranking, a PK
board judged, the feed pausing or resuming) writes ONE row with ``contest_id`` and no
``user_id`` (a contest may hold 100,000 accounts and tick every minute). A stream reads its
member's own rows and the broadcasts of the contests the member has an account in, and
personalizes each broadcast (``engine.contests.live_feed``): the member's rank from the tick's
ranking, the member's team's PK outcome; a broadcast that says nothing new to the member is
skipped (the cursor still moves past it).

**Commit order.** On PostgreSQL ids come from a sequence, so a transaction holding id 10 may
commit after one holding id 11; a reader only reads up to a commit fence
(``CommitFence``): the highest id every transaction that could still commit a lower one has
finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ORDER_FILL = "order.fill"
ORDER_STATUS = "order.status"
RANK_CHANGE = "rank.change"  # a standings tick changed the member's rank
RANK_LIVE = "rank.live"  # a minute contest's live (equity) rank changed at a minute bar
PK_RESULT = "pk.result"  # a PK board of the member's team was judged
CONTEST_FEED = "contest.feed"  # a minute contest's quote feed went stale (paused) or recovered
MEMBER_EVENT_KINDS: tuple[str, ...] = (
    ORDER_FILL,
    ORDER_STATUS,
    RANK_CHANGE,
    RANK_LIVE,
    PK_RESULT,
    CONTEST_FEED,
)
BROADCAST_KINDS: tuple[str, ...] = (RANK_CHANGE, RANK_LIVE, PK_RESULT, CONTEST_FEED)

EventPayload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MemberEvent:
    """A row of the feed: a member's own event (``user_id``) or a contest's broadcast
    (``contest_id``, ``user_id`` None) before or after it is personalized."""

    id: int
    user_id: int | None
    kind: str
    payload: EventPayload
    created_at: datetime
    contest_id: int | None = None


@dataclass(slots=True)
class CommitFence:
    """The highest feed id below which nothing can still commit (PostgreSQL ids are drawn
    before their transactions commit, in any order).

    ``observe(drawn, running)`` takes, in this order, the sequence's last drawn id and then the
    ids of the database's transactions in progress: every id up to ``drawn`` was drawn by a
    transaction that had its xid by then (writers write their fact before its event) and so
    has either finished or is in ``running``. Once none of ``running`` is in progress at a
    later observation, the ids up to ``drawn`` are settled. With no writer in flight the fence
    is ``drawn`` at once; otherwise at the first observation after those writers end. Only the
    database's own transactions count, so a long transaction elsewhere in the cluster never
    holds a stream back. Monotonic: the fence never moves back.
    """

    fence: int = 0
    pending: list[tuple[int, frozenset[int]]] = field(default_factory=list)

    def observe(self, drawn: int, running: frozenset[int]) -> int:
        waiting = [*self.pending, (drawn, running)]
        settled = [d for d, writers in waiting if not writers & running]
        if settled:
            self.fence = max(self.fence, *settled)
        left = [(d, w) for d, w in waiting if w & running and d > self.fence]
        while len(left) > PENDING_KEPT:  # a later id waiting on both bounds the earlier one
            (_, first), (second, more) = left[0], left[1]
            left[:2] = [(second, first | more)]
        self.pending = left
        return self.fence


PENDING_KEPT = 8


def sse_frame(event: MemberEvent) -> str:
    """One server-sent event: ``id``, ``event`` (the kind) and one ``data`` line of JSON."""
    data = json.dumps(
        {
            "id": event.id,
            "kind": event.kind,
            "created_at": event.created_at.isoformat(),
            "payload": event.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
    )
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"


HEARTBEAT = ": heartbeat\n\n"
READY = "ready"


def ready_frame(cursor: int) -> str:
    """The first event of every stream: the cursor it starts after (no feed event of its own)."""
    return f"id: {cursor}\nevent: {READY}\ndata: {json.dumps({'cursor': cursor})}\n\n"


def parse_cursor(value: str | None) -> int | None:
    """A ``Last-Event-ID`` / ``after`` cursor: a non-negative int, else ``None`` (start now)."""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)
