"""A member's own event feed (the live push stream, ``GET /v1/me/events``): the pure parts.

A fact about one member's orders (a fill, an order's new status) writes one ``member_events``
row in the transaction that writes the fact (``core.member_events_store``), so an event exists
iff its fact committed. Ids increase with every insert; a stream reads a member's rows after
a cursor (the SSE ``Last-Event-ID``), so a reconnecting client resumes without gaps or
duplicates, and any worker process can serve any member (the table is the only state).

A placed order is not announced here: the member's own request returns it, and placing an
order must stay within its statement ceiling (tests/e2e/test_statement_ceilings.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ORDER_FILL = "order.fill"
ORDER_STATUS = "order.status"
MEMBER_EVENT_KINDS: tuple[str, ...] = (ORDER_FILL, ORDER_STATUS)

EventPayload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class MemberEvent:
    id: int
    user_id: int
    kind: str
    payload: EventPayload
    created_at: datetime


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
