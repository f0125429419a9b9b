"""The live push stream: a member's own events (order fills and statuses) and their contests'
broadcasts (rank changes, live minute ranks, PK results, feed status) as server-sent events.

``GET /v1/me/events`` (``text/event-stream``) reads the member's ``member_events`` by cursor
when a commit wakes it (``core.member_events_wakeup``), at the latest every
``event_stream_poll_seconds`` (``engine.contests.live_feed.FeedReader``: up to the commit
fence, broadcasts personalized, those with nothing new for the member skipped) and sends each
with its ``id:``, so a client that
reconnects with ``Last-Event-ID`` resumes after the last event it got: no gaps, no
duplicates. Idle streams send a heartbeat comment every ``event_stream_heartbeat_seconds``;
a stream ends when its client disconnects or after ``event_stream_max_seconds`` (EventSource
reconnects on its own). The table is the only state, so any worker process serves any member.

An EventSource cannot send an ``Authorization`` header: it opens the stream with a short-lived
``?stream_token=`` from ``POST /v1/me/events/token`` instead.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from api.http.deps import CurrentUser, DatabaseDep, SettingsDep, oauth2_scheme
from api.http.problems import problem_doc
from api.http.security import issue_stream_token, stream_token_user, token_user
from core.config import Settings
from core.db import Database
from core.errors import Unauthenticated
from core.member_events import (
    HEARTBEAT,
    parse_cursor,
    ready_frame,
    sse_frame,
)
from core.member_events_wakeup import waiter as wakeup_waiter
from core.users.model import User
from engine.contests.live_feed import FeedBatch, FeedReader
from engine.uow import EngineUnitOfWork

router = APIRouter(tags=["events"], responses={401: problem_doc("Not authenticated")})

EVENT_STREAM = "text/event-stream"
BATCH = 500  # events read per poll at most (the next poll reads on)


class StreamTokenOut(BaseModel):
    stream_token: str
    expires_in: int


@router.post("/me/events/token", response_model=StreamTokenOut)
def stream_token(user: CurrentUser, settings: SettingsDep) -> StreamTokenOut:
    """A short-lived token for ``GET /v1/me/events?stream_token=…`` (EventSource sends no
    headers); it opens the caller's stream and nothing else."""
    token, lifetime = issue_stream_token(user, settings)
    return StreamTokenOut(stream_token=token, expires_in=lifetime)


def _stream_user(
    token: Annotated[str | None, Depends(oauth2_scheme)],
    settings: SettingsDep,
    database: DatabaseDep,
    stream_token: Annotated[str | None, Query(max_length=2000)] = None,
) -> User:
    if stream_token is not None:
        user = stream_token_user(stream_token, settings, database.sessions)
        if user is None:
            raise Unauthenticated("the stream token is invalid, expired or revoked")
        return user
    if token is None:
        raise Unauthenticated("a bearer token or a stream_token is required")
    user = token_user(token, settings, database.sessions)
    if user is None:
        raise Unauthenticated(
            "the bearer token is invalid, expired or revoked, or its user is disabled"
        )
    return user


StreamUser = Annotated[User, Depends(_stream_user)]


@router.get(
    "/me/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {EVENT_STREAM: {}},
            "description": (
                "The member's events: `order.fill`, `order.status`, and for the contests the"
                " member has an account in `rank.change`, `rank.live`, `pk.result` (the"
                " member's team's boards) and `contest.feed`"
            ),
        }
    },
)
def my_events(
    request: Request,
    user: StreamUser,
    settings: SettingsDep,
    database: DatabaseDep,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=40)] = None,
) -> StreamingResponse:
    """The caller's events as server-sent events, from after ``Last-Event-ID`` (a reconnect),
    else after ``after``, else from now."""
    cursor = parse_cursor(last_event_id)
    if cursor is None:
        cursor = after
    uow = EngineUnitOfWork(database.sessions, caches=request.app.state.engine_caches)
    reader = FeedReader.from_now(uow, user.id) if cursor is None else FeedReader(user.id, cursor)
    return StreamingResponse(
        _frames(request, database, uow, settings, reader),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _read(uow: EngineUnitOfWork, reader: FeedReader) -> FeedBatch:
    return reader.read(uow, limit=BATCH)


async def _frames(
    request: Request,
    database: Database,
    uow: EngineUnitOfWork,
    settings: Settings,
    reader: FeedReader,
) -> AsyncIterator[str]:
    poll, beat = settings.event_stream_poll_seconds, settings.event_stream_heartbeat_seconds
    started = last_sent = time.monotonic()
    # Taken before the first read: a commit from now on ends the wait early (the poll is the
    # safety net for a wake-up that never comes).
    wakeup = wakeup_waiter(database, reader.member_id, enabled=settings.event_stream_wakeup)
    # The reconnect delay EventSource waits after the stream ends (ms), and where this stream
    # starts: a client that reconnects after it with ``after=`` misses nothing meanwhile.
    yield f"retry: {int(max(poll, 0.5) * 2000)}\n\n" + ready_frame(reader.cursor)
    while True:
        batch = await anyio.to_thread.run_sync(_read, uow, reader)
        events = batch.events
        for event in events:
            yield sse_frame(event)
        now = time.monotonic()
        if events:
            last_sent = now
        elif now - last_sent >= beat:
            last_sent = now
            yield HEARTBEAT
        if now - started >= settings.event_stream_max_seconds or await request.is_disconnected():
            return
        if not batch.full:
            await wakeup.wait(poll)
