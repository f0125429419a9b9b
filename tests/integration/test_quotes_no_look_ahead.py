"""Property: however far a replay minute contest has ticked, its quote, its intraday minutes
and the daily bars show nothing from a minute it has not ticked, and everything it has, in the
contest's own view and in the public one. Each example's contest trades its own symbol (the
examples share one database, and a slower contest on a symbol would narrow every view)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.db import Database
from engine.intraday_clock import run_intraday_tick
from engine.market.intraday_services import install_synthetic_intraday
from engine.market.model import Instrument, Market
from engine.market.sessions import sessions_for
from engine.trading import quotes, services
from engine.uow import EngineUnitOfWork

START = date(2024, 1, 2)
EXAMPLES = 12
FAR = datetime(2100, 1, 1, tzinfo=UTC)  # the wall clock plays no part in what is visible


@pytest.fixture
def fresh(database: Database) -> Iterator[tuple[Instrument, tuple[date, ...]]]:
    """One new symbol per example, all with two sessions of minutes."""
    uow = EngineUnitOfWork(database.sessions)
    done = install_synthetic_intraday(
        uow, Market.CN, count=EXAMPLES + 4, seed=7, start=START, sessions=2
    )
    return iter([(i, done.days) for i in done.instruments])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ticked=st.integers(min_value=0, max_value=24), day=st.sampled_from([0, 1]))
@example(ticked=0, day=0)  # every edge, whatever the draw
@example(ticked=0, day=1)
@example(ticked=1, day=1)
def test_nothing_after_the_last_ticked_minute_is_visible(
    database: Database,
    fresh: Iterator[tuple[Instrument, tuple[date, ...]]],
    ticked: int,
    day: int,
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    instrument, days = next(fresh)
    symbol = instrument.symbol
    session = sessions_for(Market.CN).session(days[day])
    assert session is not None
    contest = services.create_venue(
        uow,
        title="replay",
        market=Market.CN,
        universe=[symbol],
        starting_cash=Decimal(1_000_000),
        trading_start=session.day,
        trading_end=days[-1],
        bar_interval="minute",
    ).contest_id
    minutes = session.minutes()
    for minute in minutes[:ticked]:
        assert run_intraday_tick(uow, contest, minute, now=minute).ran
    for contest_id in (contest, None):
        shown_day, shown = quotes.visible_minutes(
            uow, symbol, day=session.day, contest_id=contest_id, now=FAR
        )
        assert shown_day == session.day
        assert [b.start for b in shown] == minutes[:ticked]
        latest = quotes.visible_minutes(uow, symbol, day=None, contest_id=contest_id, now=FAR)
        if ticked:
            assert latest == (session.day, shown)
        elif day:  # not started on its second session: the first is all in the past
            first = sessions_for(Market.CN).session(days[0])
            assert first is not None
            assert (latest[0], len(latest[1])) == (days[0], len(first.minutes()))
        else:
            assert latest == (None, [])
        quote = quotes.quote(
            uow, symbol, contest_id=contest_id, now=FAR, stale_after=timedelta(minutes=2)
        )
        if ticked:
            assert (quote.intraday, quote.at) == (True, minutes[ticked - 1])
            assert quote.price == shown[-1].close
        else:  # the last minute of an earlier session, or no price at all
            assert (quote.intraday, quote.day) == ((True, days[0]) if day else (False, None))
        daily = services.visible_bars(
            uow, symbol, start=session.day, end=session.day, contest_id=contest_id
        )
        assert daily == []  # the session's own close is printed only at its last minute
