"""Minute bars on SQLite and PostgreSQL: storage, daily bars derived from them, the tape
replayed from the database, and a contest window ending on a weekend that still finishes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core.db import Database
from core.errors import RuleViolation
from core.users.model import Role, User
from engine import clock
from engine.contests.model import ContestState
from engine.market.feeds import MinuteBar
from engine.market.intraday_services import (
    derive_daily_bars,
    install_synthetic_intraday,
    store_minute_bars,
)
from engine.market.model import Market
from engine.market.services import MarketUnitOfWork
from engine.market.synthetic import synthetic_universe
from engine.market.synthetic_intraday import SyntheticIntradayFeed
from engine.market.tape import tape_from_db
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build
from tests.concurrency import race
from tests.contest_builders import NOW

# Thursday 26 September 2024 .. Tuesday 8 October: National Day week falls in between.
START = date(2024, 9, 26)


@pytest.fixture
def uow(database: Database) -> MarketUnitOfWork:
    return MarketUnitOfWork(database.sessions)


def test_synthetic_sessions_store_minutes_and_derive_the_daily_bars(uow: MarketUnitOfWork) -> None:
    done = install_synthetic_intraday(uow, Market.CN, count=2, seed=5, start=START, sessions=3)
    assert done.days == (date(2024, 9, 26), date(2024, 9, 27), date(2024, 9, 30))
    assert done.minute_bars == 2 * 3 * 240 and done.daily_bars == 6
    symbols = [i.symbol for i in done.instruments]
    feed = SyntheticIntradayFeed(list(done.instruments), seed=5, start=START, sessions=3)
    with uow.reading():
        daily = uow.market.bars_between(symbols, START, date(2024, 10, 31))
        minutes = uow.minutes.minute_bars_of_day(symbols, date(2024, 9, 27))
        sources = uow.market.bar_sources(symbols[0])
    assert daily == feed.daily_bars()
    assert minutes == [m for m in feed.all_minutes() if m.start.date() == date(2024, 9, 27)]
    assert sources == {"synthetic-intraday"}
    again = install_synthetic_intraday(uow, Market.CN, count=2, seed=5, start=START, sessions=3)
    assert (again.minute_bars, again.daily_bars) == (0, 0)


def test_a_day_is_derived_open_first_high_max_low_min_close_last(uow: MarketUnitOfWork) -> None:
    instrument = synthetic_universe(Market.US, 1, seed=1)[0]
    with uow:
        uow.market.add_instruments([instrument])
        uow.commit()
    open_ = datetime(2024, 11, 29, 14, 30, tzinfo=UTC)  # 09:30 New York, a half day
    prices = [
        ("10", "12", "9.5", "11", 100),
        ("11", "11.5", "8", "9", 50),
        ("9", "10", "9", "10", 7),
    ]
    bars = [
        MinuteBar(instrument.symbol, open_ + timedelta(minutes=k), *map(Decimal, p[:4]), p[4])
        for k, p in enumerate(prices)
    ]
    assert store_minute_bars(uow, bars, source="tape") == 3
    assert derive_daily_bars(uow, [instrument.symbol], date(2024, 11, 29)) == 1
    with uow.reading():
        (day,) = uow.market.bars(instrument.symbol, date(2024, 11, 29), date(2024, 11, 29))
        tape = tape_from_db(uow.minutes, [instrument.symbol], date(2024, 11, 29))
    assert (day.open, day.high, day.low, day.close, day.volume) == (
        Decimal("10"),
        Decimal("12"),
        Decimal("8"),
        Decimal("10"),
        157,
    )
    assert tape.poll([instrument.symbol], open_, open_ + timedelta(hours=1)).bars == bars


def test_a_minute_outside_the_session_is_refused_and_nothing_is_stored(
    uow: MarketUnitOfWork,
) -> None:
    instrument = synthetic_universe(Market.CN, 1, seed=1)[0]
    with uow:
        uow.market.add_instruments([instrument])
        uow.commit()
    morning = MinuteBar(
        instrument.symbol, datetime(2024, 10, 8, 3, 29, tzinfo=UTC), *[Decimal(5)] * 4, 100
    )
    lunch = replace(morning, start=datetime(2024, 10, 8, 4, 0, tzinfo=UTC))  # 12:00 Shanghai
    with pytest.raises(RuleViolation) as refused:
        store_minute_bars(uow, [morning, lunch], source="tape")
    assert refused.value.rule == "outside_session"
    with uow.reading():
        assert uow.minutes.minute_bars_of_day([instrument.symbol], date(2024, 10, 8)) == []


def test_a_contest_ending_on_a_saturday_finishes_on_the_friday_before(
    database: Database, make_user: Callable[..., User]
) -> None:
    engine_uow = EngineUnitOfWork(database.sessions)
    season = build.season(engine_uow, make_user(Role.OPERATOR), days=15)
    # Synthetic bars run Monday 1 January 2024 on; Saturday the 13th has none.
    contest = build.contest(engine_uow, season, trading_end=date(2024, 1, 13))
    assert contest.trading_end == date(2024, 1, 12)
    report = clock.advance_contest_clock(engine_uow, contest.id, bars=20, now=NOW)
    assert report.finished and report.clock_day == date(2024, 1, 12)
    from engine.contests import services as contests

    assert contests.get_contest(engine_uow, contest.id, now=NOW).state is ContestState.FINISHED


@pytest.mark.postgres_only
def test_feeds_storing_the_same_minutes_at_once_store_each_minute_once(pg_url: str) -> None:
    """Two pollers (a worker and its restart) storing overlapping minutes of one session."""
    database = Database.connect(pg_url)
    uow = MarketUnitOfWork(database.sessions)
    instruments = synthetic_universe(Market.CN, 2, seed=9)
    with uow:
        uow.market.add_instruments(instruments)
        uow.commit()
    minutes = SyntheticIntradayFeed(instruments, seed=9, start=START, sessions=1).all_minutes()
    halves = [minutes[: len(minutes) * 2 // 3], minutes[len(minutes) // 3 :]]
    stored = race(
        2,
        lambda i: store_minute_bars(
            MarketUnitOfWork(database.sessions), halves[i], source="synthetic-intraday"
        ),
    )
    with uow.reading():
        kept = uow.minutes.minute_bars_of_day([i.symbol for i in instruments], START)
    database.dispose()
    assert sum(stored) == len(minutes) == len(kept)
