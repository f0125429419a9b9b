"""Leaderboard pages from the shared page cache (engine.contests.board_pages): a cached page is
the fresh page byte for byte, a tick invalidates it, two app instances on one Redis serve one
page, and a page computed for an older tick is never served after the newer tick commits.

Every test runs on SQLite and PostgreSQL, with this process's cache, with Redis (skipped
when Redis is not reachable, unless REQUIRE_REDIS=1) and, on PostgreSQL, with the two-level
cache shared through the database (core.page_cache_postgres)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from api.http.app import create_app
from api.http.schemas.leaderboard import LeaderboardOut, board_page_json, encode_row
from core.config import Settings
from core.db import Database
from core.page_cache import InProcessPageCache, PageCache, RedisPageCache, TwoLevelPageCache
from core.page_cache_postgres import PostgresPageCache
from core.users.model import Role, User
from core.users.services import NewAccount, UsersUnitOfWork, create_users
from core.users.store import UserRow
from engine.contests import board_pages, entries, ranking
from engine.contests import leaderboard as boards
from engine.contests.model import Contest
from engine.trading.venue import NotEntered
from engine.uow import EngineCaches, EngineUnitOfWork
from tests import contest_builders as build
from tests.concurrency import race
from tests.conftest import PASSWORD

REDIS_URL = os.environ.get("PAPERLEAGUE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_REDIS = os.environ.get("REQUIRE_REDIS") == "1"
MEMBERS = 9
FIRST_DAY = date(2024, 1, 1)


def _redis_client():  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    return client


@pytest.fixture
def redis_pages() -> Iterator[RedisPageCache]:
    """A Redis cache under a prefix of its own (other runs may share the server)."""
    cache = RedisPageCache(_redis_client(), prefix=f"pltest:{uuid.uuid4().hex}:")
    yield cache
    cache.clear()


@pytest.fixture(params=["process", "redis", "postgres"])
def pages(request: pytest.FixtureRequest) -> PageCache:
    if request.param == "redis":
        return request.getfixturevalue("redis_pages")  # type: ignore[no-any-return]
    if request.param == "postgres":
        if request.getfixturevalue("backend") != "postgresql":
            pytest.skip("the page cache shared through the database: PostgreSQL only")
        database: Database = request.getfixturevalue("database")
        return TwoLevelPageCache(InProcessPageCache(), PostgresPageCache(database.engine))
    return InProcessPageCache()


@dataclass
class Board:
    database: Database
    contest_id: int
    members: list[User]
    outsider: User
    orders: dict[int, list[int]]  # tick → member ids in position order


@pytest.fixture
def board(database: Database, make_user: Callable[..., User]) -> Board:
    uow = EngineUnitOfWork(database.sessions)
    today = date.today()
    season = build.season(
        uow,
        make_user(Role.OPERATOR),
        days=20,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=365),
    )
    contest: Contest = build.contest(uow, season)
    names = [f"board.{uuid.uuid4().hex[:8]}.{n}" for n in range(MEMBERS + 1)]
    accounts = [NewAccount(username=name, roles=frozenset({Role.MEMBER})) for name in names]
    *members, outsider = create_users(
        UsersUnitOfWork(database.sessions), accounts, password=PASSWORD
    )
    for member in members:
        entries.join_contest(uow, contest.id, member.id)
    return Board(database, contest.id, members, outsider, {})


Scores = list[tuple[int | None, bool]]  # per member: metric in hundredths (None: none), qualified
scores = st.lists(
    st.tuples(st.one_of(st.none(), st.integers(-3, 3)), st.booleans()),
    min_size=MEMBERS,
    max_size=MEMBERS,
)


def commit_tick(board: Board, scored: Scores) -> int:
    """A tick's snapshot of these scores, committed as the clock does (the contest's tick moves
    in the same transaction); the tick."""
    ids = [m.id for m in board.members]
    metric = [float("nan") if m is None else m / 100 for m, _ in scored]
    ranked = ranking.rank(ids, metric, qualified=[q for _, q in scored])
    uow = EngineUnitOfWork(board.database.sessions)
    with uow:
        row = uow.trading.contest(board.contest_id, lock=True)
        assert row is not None
        tick = row.clock_ticks + 1
        rows = ranked.to_rows()
        by_member = dict(zip(ids, scored, strict=True))
        uow.standings.add_snapshots(
            {
                "contest_id": [board.contest_id] * len(rows),
                "tick": [tick] * len(rows),
                "member_id": [p.member_id for p in rows],
                "day": [FIRST_DAY + timedelta(days=tick)] * len(rows),
                "position": [p.position for p in rows],
                "rank": [p.rank for p in rows],
                "metric": [None if p.metric is None else Decimal(str(p.metric)) for p in rows],
                "secondary": [None] * len(rows),
                "reached_at": [0] * len(rows),
                "qualified": [by_member[p.member_id][1] for p in rows],
                "equity": [Decimal(1_000_000) + p.position for p in rows],
                "total_return": [None] * len(rows),
                "trades": [p.position % 3 for p in rows],
            }
        )
        row.clock_ticks = tick
        row.clock_day = FIRST_DAY + timedelta(days=tick)
        uow.commit()
    board.orders[tick] = [p.member_id for p in rows]
    return tick


@dataclass(frozen=True)
class Ask:
    viewer: int  # index into members; MEMBERS: the outsider
    limit: int
    cursor: int
    around: bool
    k: int


asks = st.builds(
    Ask,
    viewer=st.integers(0, MEMBERS),
    limit=st.integers(1, 12),
    cursor=st.integers(0, MEMBERS + 1),
    around=st.booleans(),
    k=st.integers(0, 4),
)


def cached_body(uow: EngineUnitOfWork, board: Board, viewer: int, ask: Ask) -> bytes:
    page = board_pages.board_page(
        uow,
        board.contest_id,
        viewer,
        operator=False,
        encode=encode_row,
        limit=ask.limit,
        cursor=ask.cursor,
        around=ask.around,
        k=ask.k,
    )
    return board_page_json(page)


def fresh_body(board: Board, viewer: int, ask: Ask) -> bytes:
    """The page as the uncached service computes it, with caches nobody filled."""
    uow = EngineUnitOfWork(board.database.sessions, caches=EngineCaches())
    found = boards.leaderboard(
        uow,
        board.contest_id,
        viewer,
        limit=ask.limit,
        cursor=ask.cursor,
        around=ask.around,
        k=ask.k,
    )
    return LeaderboardOut.of(found).model_dump_json().encode()


def _viewer(board: Board, index: int) -> int:
    return board.outsider.id if index == MEMBERS else board.members[index].id


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scored=scores, asked=st.lists(asks, min_size=1, max_size=3))
def test_a_cached_page_is_the_fresh_page_byte_for_byte(
    board: Board, pages: PageCache, scored: Scores, asked: Sequence[Ask]
) -> None:
    commit_tick(board, scored)
    uow = EngineUnitOfWork(board.database.sessions, caches=EngineCaches(pages=pages))
    for ask in asked:
        viewer = _viewer(board, ask.viewer)
        if ask.around and ask.viewer == MEMBERS:
            with pytest.raises(NotEntered):
                cached_body(uow, board, viewer, ask)
            with pytest.raises(NotEntered):
                fresh_body(board, viewer, ask)
            continue
        expected = fresh_body(board, viewer, ask)
        assert cached_body(uow, board, viewer, ask) == expected  # filled
        assert cached_body(uow, board, viewer, ask) == expected  # served as kept
        other = EngineUnitOfWork(board.database.sessions, caches=EngineCaches(pages=pages))
        assert cached_body(other, board, viewer, ask) == expected  # another process's view


TOP = Ask(viewer=0, limit=MEMBERS, cursor=0, around=False, k=0)


def _order(body: bytes) -> list[int]:
    return [
        row["member_id"] for row in LeaderboardOut.model_validate_json(body).model_dump()["items"]
    ]


def test_a_bump_recomputes_what_the_tick_does_not_fix(board: Board) -> None:
    """A display name changed mid-tick (an erasure) shows once ``board_changed`` is called
    (on Redis: the two-app test)."""
    pages = InProcessPageCache()
    uow = EngineUnitOfWork(board.database.sessions, caches=EngineCaches(pages=pages))
    viewer = board.members[0].id
    commit_tick(board, [(m, True) for m in range(MEMBERS)])
    before = cached_body(uow, board, viewer, TOP)
    with board.database.sessions() as session:
        session.execute(update(UserRow).values(display_name="renamed"))
        session.commit()
    assert cached_body(uow, board, viewer, TOP) == before  # kept for the tick …
    board_pages.board_changed(pages, board.database.sessions)
    after = cached_body(uow, board, viewer, TOP)  # … until the writer bumps the revision
    assert after == fresh_body(board, viewer, TOP) and b"renamed" in after


class LateWriter:
    """A page cache whose first write is held until ``before_write`` has run: the reader that
    computed a chunk is overtaken by the clock committing the next tick."""

    def __init__(self, inner: PageCache, before_write: Callable[[], None]) -> None:
        self.inner = inner
        self.before_write: Callable[[], None] | None = before_write

    def get_many(self, scope: str, keys: Sequence[str]) -> tuple[int, list[bytes | None]]:
        return self.inner.get_many(scope, keys)

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        if self.before_write is not None and items:
            overtake, self.before_write = self.before_write, None
            overtake()
        self.inner.put_many(items)

    def revision(self, scope: str) -> int:
        return self.inner.revision(scope)

    def bump(self, scope: str) -> int:
        return self.inner.bump(scope)

    def clear(self) -> None:
        self.inner.clear()


def test_the_next_tick_invalidates_every_page_even_one_written_late(
    board: Board, pages: PageCache
) -> None:
    """A reader computes the first tick's page and is overtaken by the clock committing the
    second before it writes the page: readers after the commit are served the second tick."""
    viewer = board.members[0].id
    first = commit_tick(board, [(m, True) for m in range(MEMBERS)])
    ticks: list[int] = []
    late = LateWriter(
        pages, lambda: ticks.append(commit_tick(board, [(-m, True) for m in range(MEMBERS)]))
    )
    slow = EngineUnitOfWork(board.database.sessions, caches=EngineCaches(pages=late))
    stale = cached_body(slow, board, viewer, TOP)  # computed for the first tick, kept after
    assert LeaderboardOut.model_validate_json(stale).tick == first and ticks
    assert _order(stale) == board.orders[first] == board.orders[ticks[0]][::-1]
    for process in (
        slow,
        EngineUnitOfWork(board.database.sessions, caches=EngineCaches(pages=pages)),
    ):
        served = cached_body(process, board, viewer, TOP)
        assert LeaderboardOut.model_validate_json(served).tick == ticks[0]
        assert _order(served) == board.orders[ticks[0]]
        assert served == fresh_body(board, viewer, TOP)


def test_two_app_instances_on_one_redis_serve_one_page(board: Board, settings: Settings) -> None:
    """Two apps configured with one PAPERLEAGUE_REDIS_URL (two workers): a page one filled is
    served by the other, and an erasure through one recomputes both."""
    client = _redis_client()
    tag = board_pages.board_scope(board.database.sessions).removeprefix("board:")
    without_redis = (
        TwoLevelPageCache
        if board.database.engine.dialect.name == "postgresql"
        else (InProcessPageCache)
    )
    assert isinstance(
        create_app(settings, database=board.database).state.engine_caches.pages, without_redis
    )
    try:
        _serve_one_page(
            board,
            settings.model_copy(update={"redis_url": REDIS_URL, "migrate_on_start": False}),
            RedisPageCache,
        )
    finally:  # the app's own prefix: leave nothing of this database behind
        client.delete(*client.scan_iter(match=f"pl:*{tag}*"), f"pl:rev:board:{tag}")


@pytest.mark.postgres_only
def test_two_app_instances_on_one_postgres_serve_one_page(
    postgres_backend: None, board: Board, settings: Settings
) -> None:
    """The same without Redis: two apps on one PostgreSQL database share pages through it;
    turned off, each app keeps its own."""
    off = settings.model_copy(update={"page_cache_postgres": False})
    assert isinstance(
        create_app(off, database=board.database).state.engine_caches.pages, InProcessPageCache
    )
    _serve_one_page(
        board, settings.model_copy(update={"migrate_on_start": False}), TwoLevelPageCache
    )


def _serve_one_page(board: Board, configured: Settings, kind: type[PageCache]) -> None:
    apps = [create_app(configured, database=board.database) for _ in range(2)]
    assert all(isinstance(app.state.engine_caches.pages, kind) for app in apps)
    commit_tick(board, [(m, True) for m in range(MEMBERS)])
    member = board.members[0]
    with TestClient(apps[0]) as one, TestClient(apps[1]) as two:
        token = one.post(
            "/v1/auth/token", data={"username": member.username, "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        path = f"/v1/contests/{board.contest_id}/leaderboard"
        first = one.get(path, headers=headers)
        assert first.status_code == 200 and first.headers["content-type"] == "application/json"
        with board.database.sessions() as session:  # behind the cache's back
            session.execute(update(UserRow).values(display_name="renamed"))
            session.commit()
        second = two.get(path, headers=headers)
        assert second.content == first.content  # the other instance served the kept page
        board_pages.board_changed(apps[0].state.engine_caches.pages, board.database.sessions)
        third = two.get(path, headers=headers)
        assert b"renamed" in third.content and b"renamed" in one.get(path, headers=headers).content
        assert third.json() == LeaderboardOut.model_validate_json(
            fresh_body(board, member.id, Ask(0, 50, 0, False, 5))
        ).model_dump(mode="json")


@pytest.fixture
def postgres_backend(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("real concurrency: PostgreSQL only")


@pytest.mark.postgres_only
def test_readers_racing_the_clock_never_see_an_older_tick(
    postgres_backend: None, board: Board, pages: PageCache
) -> None:
    """Real threads: readers while the clock commits ticks; every page is of a tick at least as
    new as the last one committed before the read began, in that tick's order."""
    committed = [commit_tick(board, [(m, True) for m in range(MEMBERS)])]
    done = threading.Event()

    def clock() -> None:
        for n in range(1, 7):
            committed.append(commit_tick(board, [((m * n) % 5, True) for m in range(MEMBERS)]))
        done.set()

    def read(i: int) -> list[tuple[int, int, list[int]]]:
        if i == 0:
            clock()
            return []
        uow = EngineUnitOfWork(board.database.sessions, caches=EngineCaches(pages=pages))
        seen = []
        while not done.is_set():
            floor = committed[-1]
            body = cached_body(uow, board, board.members[i].id, TOP)
            seen.append((floor, LeaderboardOut.model_validate_json(body).tick, _order(body)))
        return seen

    results = race(4, read)
    reads = [r for found in results for r in found]  # an exception fails the zip below
    assert not [r for r in results if isinstance(r, Exception)]
    assert reads
    for floor, tick, order in reads:
        assert tick >= floor and order == board.orders[tick]
