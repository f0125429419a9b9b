"""Contest broadcasts on members' live streams, on SQLite and PostgreSQL: daily standings ticks
push ``rank.change``, judged PK boards push ``pk.result`` to the two teams' members only, a
minute contest pushes ``rank.live`` each minute and ``contest.feed`` when its feed pauses and
resumes; each fact is one row whatever the contest's size. And on PostgreSQL, a lower id that
commits after a higher one still reaches the stream (the commit fence)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, text

from core.clock import utc_now
from core.db import Database
from core.member_events import ORDER_STATUS, MemberEvent
from core.member_events_store import (
    LIVE_BARS_KEPT,
    MEMBER_EVENTS,
    LiveRankingRow,
    MemberEventRow,
)
from core.users import services as users
from core.users.model import Role, User
from core.users.services import NewAccount, UsersUnitOfWork
from engine import clock, intraday_clock
from engine.contests import pk_rounds
from engine.contests.live_feed import FeedReader, LiveRankings
from engine.contests.ranking import Standings
from engine.intraday_clock import run_intraday_tick
from engine.market.feeds import MinuteBar
from engine.market.intraday_services import install_synthetic_intraday, store_minute_bars
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.trading import order_desk, services, store_orders
from engine.uow import EngineUnitOfWork
from tests.engine_builders import request
from tests.integration.test_intraday_market import START
from tests.integration.test_teams_pk import league

MINUTE = timedelta(minutes=1)


def everything(uow: EngineUnitOfWork, reader: FeedReader) -> list[MemberEvent]:
    found: list[MemberEvent] = []
    while True:
        batch = reader.read(uow, limit=7)  # a small batch: paging is exercised too
        found += batch.events
        if not batch.full:
            return found


def kinds(events: list[MemberEvent], kind: str) -> list[MemberEvent]:
    return [e for e in events if e.kind == kind]


def broadcasts(uow: EngineUnitOfWork, kind: str) -> int:
    with uow.reading():
        stmt = select(func.count()).where(
            MemberEventRow.kind == kind, MemberEventRow.user_id.is_(None)
        )
        return int(uow.session.scalar(stmt) or 0)


def test_daily_ticks_push_rank_changes_and_pk_results_reach_only_the_boards_teams(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    game = league(uow, make_user(Role.OPERATOR), make_user, team_count=3, round_bars=2, bars=8)
    members = [m for pair in game.members.values() for m in pair]
    outsider = make_user()
    readers = {m.id: FeedReader(m.id, 0) for m in [*members, outsider]}
    clock.advance_clock(uow, game.contest.id, bars=100)
    with uow.reading():
        ticks = uow.trading.contest(game.contest.id).clock_ticks  # type: ignore[union-attr]
        # The stored snapshots, read straight from the table (not the stream's cache path).
        boards = {
            t: Standings.from_rows(uow.standings.placings(game.contest.id, t))
            for t in range(1, ticks + 1)
        }
    assert ticks >= 4
    assert broadcasts(uow, "rank.change") == ticks  # one row per tick, not one per member

    overview = pk_rounds.pk_overview(uow, game.contest.id)
    judged = [(r.round_no, b) for r in overview.rounds if r.judged for b in r.boards]
    assert broadcasts(uow, "pk.result") == len(judged)
    team_of = {m.id: team for team, pair in game.members.items() for m in pair}
    for member in members:
        events = everything(uow, readers[member.id])
        ranks = kinds(events, "rank.change")
        expected = [
            (t, boards[t].rank_of(member.id), None if t == 1 else boards[t - 1].rank_of(member.id))
            for t in range(1, ticks + 1)
            if t == 1 or boards[t].rank_of(member.id) != boards[t - 1].rank_of(member.id)
        ]
        expected = [e for e in expected if e[1] != e[2]]
        got = [(e.payload["tick"], e.payload["rank"], e.payload["previous_rank"]) for e in ranks]
        assert got == expected
        assert all(e.payload["contest_id"] == game.contest.id for e in ranks)

        results = kinds(events, "pk.result")
        team = team_of[member.id]
        mine = [(n, b.board) for n, b in judged if team in (b.team_a, b.team_b)]
        assert mine and [(e.payload["round_no"], e.payload["board"]) for e in results] == mine
        for event in results:
            assert event.payload["team_id"] == team
            outcome = event.payload["outcome"]
            side = "a" if event.payload["team_a"] == team else "b"
            assert event.payload["team_outcome"] == (
                outcome
                if outcome in ("draw", "bye")
                else ("won" if outcome == f"win_{side}" else "lost")
            )
        ids = [e.id for e in events]
        assert ids == sorted(set(ids))
    assert everything(uow, readers[outsider.id]) == []  # no account: no broadcast reaches them
    # Read again from the start: the same events (what a reconnect gets).
    again = FeedReader(members[0].id, 0)
    first = FeedReader(members[0].id, 0)
    assert everything(uow, again) == everything(uow, first)


@pytest.fixture
def minute_contest(database: Database, make_user: Callable[..., User]):  # type: ignore[no-untyped-def]
    uow = EngineUnitOfWork(database.sessions)
    done = install_synthetic_intraday(uow, Market.CN, count=2, seed=5, start=START, sessions=1)
    day = done.days[0]
    calendar = sessions_for(Market.CN)
    following = calendar.next_open(calendar.session_close(day))
    contest = services.create_venue(
        uow,
        title="live",
        market=Market.CN,
        universe=[i.symbol for i in done.instruments],
        starting_cash=Decimal(1_000_000),
        trading_start=day,
        trading_end=calendar.local_day(following),
        bar_interval="minute",
    ).contest_id
    members = [make_user() for _ in range(3)]
    for member in members:
        services.open_account(uow, contest, member.id)
    session = calendar.session(day)
    assert session is not None
    return uow, done, contest, members, session.minutes(), following


def test_minute_ticks_push_live_ranks_and_the_feed_status(
    minute_contest,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    uow, done, contest, members, minutes, following = minute_contest
    readers = {m.id: FeedReader(m.id, 0) for m in members}
    with uow.reading():
        member_of = {a.id: a.member_id for a in uow.trading.account_books(contest)}
    symbols = [i.symbol for i in done.instruments]

    def at(moment):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(store_orders, "utc_now", lambda: moment)
        monkeypatch.setattr(order_desk, "utc_now", lambda: moment)

    live: dict[int, list[tuple[str, int, int | None]]] = {m.id: [] for m in members}

    def tick(minute):  # type: ignore[no-untyped-def]
        """One minute, and every member's stream reading what it pushed."""
        done = run_intraday_tick(uow, contest, minute, now=minute + MINUTE)
        for member in members:
            live[member.id] += [
                (e.payload["bar_start"], e.payload["rank"], e.payload["previous_rank"])
                for e in kinds(everything(uow, readers[member.id]), "rank.live")
            ]
        return done

    rankings = [tick(minutes[0])]
    # Two members buy different amounts during minute 1; minute 2 fills them, so equity parts.
    at(minutes[1] + timedelta(seconds=30))
    for member, qty in zip(members[:2], ("1000", "3000"), strict=True):
        order_desk.place_order(uow, contest, member.id, request(symbol=symbols[0], qty=qty))
    rankings += [tick(minute) for minute in minutes[1:9]]
    assert all(t.ran for t in rankings)
    assert broadcasts(uow, "rank.live") == len(rankings)
    with uow.reading():
        kept = uow.session.scalar(select(func.count()).where(LiveRankingRow.contest_id == contest))
    assert kept == LIVE_BARS_KEPT  # only the newest bars are kept

    places = [{member_of[a]: i + 1 for i, a in enumerate(t.ranking)} for t in rankings]
    for member in members:
        expected = [
            (tick.bar_start.isoformat(), places[i][member.id], previous)
            for i, tick in enumerate(rankings)
            if places[i][member.id] != (previous := None if i == 0 else places[i - 1][member.id])
        ]
        assert live[member.id] == expected
        # A stream opened later in another process (nothing read yet): bars no longer kept are
        # skipped, the oldest kept one has no previous bar any more, the rest agree.
        elsewhere = FeedReader(member.id, 0, rankings=LiveRankings())
        late = [
            (e.payload["bar_start"], e.payload["rank"], e.payload["previous_rank"])
            for e in kinds(everything(uow, elsewhere), "rank.live")
        ]
        newest = {t.bar_start.isoformat() for t in rankings[-(LIVE_BARS_KEPT - 1) :]}
        assert [g for g in late if g[0] in newest] == [e for e in expected if e[0] in newest]
        assert all(g[0] in newest or g[2] is None for g in late)
    assert len({tuple(p.items()) for p in places}) > 1  # the ranking did move

    # The next session has no minutes stored: the feed pauses, then resumes with its bars.
    late = following + 5 * MINUTE
    # Finish the day first (the session close ranks it: one rank.change).
    closing = run_intraday_tick(uow, contest, minutes[-1], now=minutes[-1] + MINUTE)
    assert closing.session_closed and broadcasts(uow, "rank.change") == 1
    stale = run_intraday_tick(uow, contest, following, now=late)
    again = run_intraday_tick(uow, contest, following, now=late + MINUTE)
    assert stale.feed_stale and again.feed_stale
    store_minute_bars(
        uow,
        [MinuteBar(s, following, *[Decimal(10)] * 4, 10_000) for s in symbols],
        source="tape",
    )
    assert run_intraday_tick(uow, contest, following, now=late + 2 * MINUTE).ran
    for member in members:
        feed = kinds(everything(uow, readers[member.id]), "contest.feed")
        assert [(e.payload["status"], e.payload["stale_symbols"]) for e in feed] == [
            ("paused", list(stale.feed_stale)),
            ("live", []),
        ]
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None and intraday_clock.feed_status(row) == "live"


# --- the PostgreSQL id-order race --------------------------------------------------------------


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    database = Database.connect(pg_url)
    yield database
    database.dispose()


@pytest.mark.postgres_only
def test_a_lower_id_that_commits_last_still_reaches_the_stream(pg_database: Database) -> None:
    """Writer A draws id n and holds its transaction open; writer B draws n+1 and commits; a
    stream polling meanwhile must not move past n, so once A commits it delivers both, in
    id order, once each."""
    (member,) = users.create_users(
        UsersUnitOfWork(pg_database.sessions), [NewAccount("streamer")], password="a long password"
    )
    uow = EngineUnitOfWork(pg_database.sessions)
    reader = FeedReader.from_now(uow, member.id)
    drawn, release = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def writer(name: str, *, hold: bool) -> None:
        with pg_database.sessions() as session, session.begin():
            session.execute(text("SELECT pg_current_xact_id()"))  # the fact's write comes first
            row = session.execute(
                insert(MEMBER_EVENTS)
                .values(user_id=member.id, kind=ORDER_STATUS, payload={"writer": name})
                .values(created_at=utc_now())
                .returning(MEMBER_EVENTS.c.id)
            )
            ids[name] = int(row.scalar_one())
            if hold:
                drawn.set()
                assert release.wait(60)

    slow = threading.Thread(target=writer, args=("slow",), kwargs={"hold": True})
    slow.start()
    try:
        assert drawn.wait(60)
        fast = threading.Thread(target=writer, args=("fast",), kwargs={"hold": False})
        fast.start()
        fast.join(60)
        assert ids["fast"] > ids["slow"]  # the higher id committed first
        with pg_database.sessions() as session:  # visible: a bare cursor read would send it
            assert session.scalar(select(func.max(MemberEventRow.id))) == ids["fast"]
        held = reader.read(uow, limit=100).events
        assert held == []  # held at the fence: the lower id may still commit
    finally:
        release.set()
        slow.join(60)
    events = reader.read(uow, limit=100).events
    assert [(e.id, e.payload["writer"]) for e in events] == [
        (ids["slow"], "slow"),
        (ids["fast"], "fast"),
    ]
    assert reader.read(uow, limit=100).events == []
