"""Leaderboard pages served from the shared page cache (``EngineCaches.pages``).

A committed tick's board never changes, so its rows are serialized once per tick and kept in
chunks of ``CHUNK`` positions under (database, contest, tick, chunk): a page or an around-me
window is at most three chunks, fetched in one round trip together with the cache's revision.
The tick comes from the contest's row, read in the same transaction as the visibility check:
the clock bumps it in the very transaction that commits the tick's snapshot, so once a tick has
committed no reader can ask for an older tick's chunks, and a chunk written late by a reader of
the older tick lands under the older key, where nobody looks any more.

What a chunk shows that the tick does not fix (display names, unranked reasons under person
links and journal notes) is as of the chunk's first read; the writers that change it call
``board_changed``, which bumps the revision every chunk carries, so the next read recomputes.

The viewer's own place (``me``) and the around-me window come from the tick's ``Standings``
(kept per process, shared through the cache as the tick's rank index): O(log n) plus the
window's chunks.

In steady state (the tick unchanged) ``kept_board_page`` answers from this process alone, with
no round trip and no thread: the contest's head as ``board_page`` last read it (kept by
``engine.contests.contest_heads`` until the database announces a change), the tick's
``Standings`` and the chunks this process holds under the revision it has heard. What it
cannot answer so (a head not kept or not trusted, a private contest for a non-operator, a chunk
missing) is ``board_page``'s, in the thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from core.errors import NotFound
from core.page_cache import PageCache, kept_here
from engine.contests import visibility
from engine.contests.leaderboard import (
    LeaderboardRow,
    MyPlace,
    check_paging,
    my_place,
    rows_of,
    scope_of,
    standings_at,
)
from engine.contests.ranking import Standings
from engine.trading.store import ContestRow
from engine.trading.store_accounts import ContestHead
from engine.trading.venue import NotEntered
from engine.uow import EngineCaches, EngineUnitOfWork

log = logging.getLogger(__name__)

CHUNK = 50  # positions per cached chunk
RowEncoder = Callable[[LeaderboardRow], bytes]  # one row as it is served (no newline inside)


@dataclass(frozen=True, slots=True)
class BoardPage:
    """``engine.contests.leaderboard.Leaderboard`` with its rows already serialized."""

    contest_id: int
    tick: int
    day: date | None
    entries: int
    ranked: int
    rows: tuple[bytes, ...]
    next_cursor: int | None
    me: MyPlace | None


def board_scope(sessions: sessionmaker[Session]) -> str:
    """The revision scope of every cached board of the database ``sessions`` open (usable
    outside a transaction)."""
    bind = sessions.kw["bind"]
    return scope_of(bind.engine.url.render_as_string(hide_password=True))


def board_changed(pages: PageCache, sessions: sessionmaker[Session]) -> None:
    """Something boards show changed outside the tick (a display name, person links, a journal
    note): every cached chunk of the database is recomputed on its next read. The change has
    committed already, so a cache that cannot be bumped is logged, not raised: its chunks
    expire within the cache's TTL."""
    try:
        pages.bump(board_scope(sessions))
    except Exception:
        log.exception("page cache: the boards' revision could not be bumped")


def note_changed(uow: EngineUnitOfWork, contest_id: int) -> None:
    """A journal note changed: it shows on the board (an unranked reason) only in a contest
    that requires notes for ranking."""
    with uow.reading():
        contest = uow.trading.contest(contest_id)
        shown = contest is not None and contest.notes_required_for_ranking
    if shown:
        board_changed(uow.caches.pages, uow.sessions)


def board_page(
    uow: EngineUnitOfWork,
    contest_id: int,
    viewer_id: int,
    *,
    operator: bool,
    encode: RowEncoder,
    limit: int = 50,
    cursor: int | None = None,
    around: bool = False,
    k: int = 5,
) -> BoardPage:
    """The unscoped page ``leaderboard.leaderboard`` computes, from the cache: a page after
    position ``cursor`` or the viewer's row with ``k`` rows either side. A contest the viewer
    may not see is the ``NotFound`` of a contest that does not exist.

    The contest is read as its head (id, tick, invite code; no JSON decoded), which is all a
    page whose chunks are all kept needs; only a chunk to compute reads the whole row, and
    computes it for the head's tick (a later one may have committed between the two reads).
    The head is kept in process for ``kept_board_page`` (if no change was heard meanwhile)."""
    check_paging(limit, cursor, k)
    # Before the transaction's snapshot: a chunk computed from it carries a revision no newer
    # than what it saw, so a writer's bump after its commit can never be stamped on older rows.
    # (A revision heard by notification, core.page_cache.NotifiedRevisions, was current when
    # heard, so it is no newer than the database's either: the argument stands without the
    # round trip.) The heads' epoch, likewise: a head older than a change heard is not kept.
    scope = board_scope(uow.sessions)
    revision = uow.caches.pages.revision(scope)
    epoch = uow.caches.heads.epoch()
    with uow.reading():
        head = uow.trading.contest_head(contest_id)
        if head is not None:
            uow.caches.heads.remember(uow.source(), head, epoch=epoch)
        if head is None or not visibility.may_see(uow, head, viewer_id, operator=operator):
            raise NotFound(f"no contest {contest_id}", contest_id=contest_id)
        board = standings_at(uow, head.id, head.clock_ticks, remember=True)
        board = board or Standings.from_rows([])
        span = _span(board, viewer_id, limit=limit, cursor=cursor, around=around, k=k)
        if span is None:  # around=me, not on the board: entered since the tick, or never
            if uow.trading.account(contest_id, viewer_id) is None:
                raise NotEntered(
                    "around=me needs your entry in this contest", contest_id=contest_id
                )
            span = (0, 0, None)
        start, stop, following = span
        rows = _rows(uow, head, board, (start, stop), encode, scope=scope, revision=revision)
        return _page(head, board, viewer_id, rows, following)


def kept_board_page(
    caches: EngineCaches,
    contest_id: int,
    viewer_id: int,
    *,
    operator: bool,
    limit: int = 50,
    cursor: int | None = None,
    around: bool = False,
    k: int = 5,
) -> BoardPage | None:
    """The page ``board_page`` would serve, when all it needs is in this process and may be
    trusted now: the contest's head (``ContestHeads``: no change heard since it was read), the
    tick's standings and every chunk stamped with the current revision. ``None`` otherwise,
    and for what only the database can tell (a private contest's entrants, around=me for a
    viewer not on the board): the caller then calls ``board_page``. No round trip, no lock
    waited on for long: an event loop may call it."""
    check_paging(limit, cursor, k)
    heads = caches.heads
    head = heads.get(contest_id)
    if head is None or heads.source is None:
        return None
    if head.invite_code is not None and not operator:  # entrants are the database's to tell
        return None
    if head.clock_ticks <= 0:
        board: Standings | None = Standings.from_rows([])
    else:
        board = caches.standings.get((heads.source, head.id, head.clock_ticks))
    if board is None:
        return None
    span = _span(board, viewer_id, limit=limit, cursor=cursor, around=around, k=k)
    if span is None:
        return None
    start, stop, following = span
    rows = _kept_rows(caches.pages, head, (start, stop), scope=scope_of(heads.source))
    return None if rows is None else _page(head, board, viewer_id, rows, following)


def _span(
    board: Standings, viewer_id: int, *, limit: int, cursor: int | None, around: bool, k: int
) -> tuple[int, int, int | None] | None:
    """The positions ``start + 1 … stop`` a page shows and its next cursor; ``None`` for
    around=me when the viewer is not on the board."""
    n = len(board)
    if around:
        position = board.position_of(viewer_id)
        if position is None:
            return None
        return max(position - 1 - k, 0), min(position + k, n), None
    start = min(cursor or 0, n)
    stop = min(start + limit, n)
    return start, stop, stop if start < stop < n else None


def _page(
    head: ContestHead,
    board: Standings,
    viewer_id: int,
    rows: tuple[bytes, ...],
    following: int | None,
) -> BoardPage:
    return BoardPage(
        contest_id=head.id,
        tick=head.clock_ticks,
        day=head.clock_day,
        entries=len(board),
        ranked=board.ranked_count,
        rows=rows,
        next_cursor=following,
        me=my_place(board, viewer_id),
    )


def _chunks(scope: str, head: ContestHead, start: int, stop: int) -> tuple[range, list[str]]:
    """The chunks holding positions ``start + 1 … stop`` and their keys."""
    tag = scope.removeprefix("board:")
    chunks = range(start // CHUNK, (stop - 1) // CHUNK + 1)
    return chunks, [f"lb:{tag}:{head.id}:{head.clock_ticks}:rows:{c}" for c in chunks]


def _kept_rows(
    pages: PageCache, head: ContestHead, span: tuple[int, int], *, scope: str
) -> tuple[bytes, ...] | None:
    """``_rows`` when every chunk is kept in this process under the current revision, else
    ``None``."""
    start, stop = span
    if start >= stop:
        return ()
    chunks, keys = _chunks(scope, head, start, stop)
    kept = kept_here(pages, scope, keys)
    if kept is None or kept[0] < 0:
        return None
    stamp = b"%d\n" % kept[0]
    rows: list[bytes] = []
    for chunk, value in zip(chunks, kept[1], strict=True):
        if value is None or not value.startswith(stamp):
            return None
        first = chunk * CHUNK
        rows += value[len(stamp) :].split(b"\n")[max(start - first, 0) : stop - first]
    return tuple(rows)


def _rows(
    uow: EngineUnitOfWork,
    head: ContestHead,
    board: Standings,
    span: tuple[int, int],
    encode: RowEncoder,
    *,
    scope: str,
    revision: int,
) -> tuple[bytes, ...]:
    """The serialized rows at positions ``start + 1 … stop``, chunk by chunk: a chunk stamped
    with the cache's current revision is served as kept, any other is computed (and kept
    stamped with ``revision``, read before the transaction, unless a bump came since)."""
    start, stop = span
    if start >= stop:
        return ()
    chunks, keys = _chunks(scope, head, start, stop)
    current, found = uow.caches.pages.get_many(scope, keys)
    stamp = b"%d\n" % current
    rows: list[bytes] = []
    fresh: list[tuple[str, bytes]] = []
    contest: ContestRow | None = None  # the whole row, read for the first chunk to compute
    for chunk, key, kept in zip(chunks, keys, found, strict=True):
        if kept is not None and current >= 0 and kept.startswith(stamp):
            encoded = kept[len(stamp) :].split(b"\n")
        else:
            contest = contest or uow.trading.contest(head.id)
            if contest is None:  # deleted since the head was read
                raise NotFound(f"no contest {head.id}", contest_id=head.id)
            placings = board.top(CHUNK, after_position=chunk * CHUNK)
            shown = rows_of(uow, contest, board, placings, tick=head.clock_ticks)
            encoded = [encode(row) for row in shown]
            if current == revision >= 0:
                fresh.append((key, stamp + b"\n".join(encoded)))
        first = chunk * CHUNK
        rows += encoded[max(start - first, 0) : stop - first]
    uow.caches.pages.put_many(fresh)
    return tuple(rows)
