"""The intraday clock of a minute contest: next-quote fills from the minute store, one run per
(contest, bar), day orders expiring at the session's close with the daily ranking, and a feed
outage pausing matching (status ``feed_stale``) until the minute's bars arrive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from core.db import Database
from core.errors import RuleViolation
from core.users.model import User
from engine import clock, intraday_clock
from engine.intraday_clock import run_intraday_tick
from engine.market.feeds import MinuteBar
from engine.market.intraday_services import install_synthetic_intraday, store_minute_bars
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.trading import order_desk, services, store_orders
from engine.trading.admission import OrderRefused
from engine.trading.orders import OrderStatus, Reason
from engine.uow import EngineUnitOfWork
from tests.engine_builders import request
from tests.integration.test_intraday_market import START

MINUTE = timedelta(minutes=1)


def _at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Orders placed from now on are judged and accepted at ``moment``."""
    monkeypatch.setattr(store_orders, "utc_now", lambda: moment)
    monkeypatch.setattr(order_desk, "utc_now", lambda: moment)


def test_a_minute_contest_fills_at_the_next_bar_once_and_expires_day_orders_at_the_close(
    database: Database, make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    done = install_synthetic_intraday(uow, Market.CN, count=2, seed=5, start=START, sessions=1)
    day = done.days[0]
    calendar = sessions_for(Market.CN)
    following = calendar.next_open(calendar.session_close(day))
    symbol = done.instruments[0].symbol
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
    member = make_user()
    services.open_account(uow, contest, member.id)
    session = calendar.session(day)
    assert session is not None
    minutes = session.minutes()

    first = run_intraday_tick(uow, contest, minutes[0], now=minutes[0] + MINUTE)
    assert first.ran and first.fills == () and not first.session_closed
    with uow.reading():
        bars = {b.start: b for b in uow.minutes.minute_bars_of_day([symbol], day)}
        close = uow.market.bars_on(day, [symbol])[symbol].close
    # A limit at the bottom of the day's band, below every minute's low: it rests all day.
    floor = (close * Decimal("0.9")).quantize(Decimal("0.01"), rounding="ROUND_UP")
    assert floor < min(b.low for b in bars.values())
    # Before the first minute has ended there is no quote yet.
    _at(monkeypatch, minutes[0] + timedelta(seconds=30))
    with pytest.raises(OrderRefused) as early:
        order_desk.place_order(uow, contest, member.id, request(symbol=symbol))
    assert early.value.reason is Reason.STALE_FEED
    # Accepted during minute 1: its bar (current at submission) never fills it; minute 2 does.
    _at(monkeypatch, minutes[1] + timedelta(seconds=30))
    buy = order_desk.place_order(uow, contest, member.id, request(symbol=symbol, qty="1000"))
    low = order_desk.place_order(
        uow, contest, member.id, request(symbol=symbol, type="limit", limit=str(floor))
    )
    current = run_intraday_tick(uow, contest, minutes[1], now=minutes[1] + MINUTE)
    assert current.ran and current.fills == ()
    tick = run_intraday_tick(uow, contest, minutes[2], now=minutes[2] + MINUTE)
    assert tick.ran and [f.order_id for f in tick.fills] == [buy.id]
    fill = tick.fills[0]
    assert fill.qty == 1000 and fill.price >= bars[minutes[2]].open  # a buy slips upward
    assert tick.ranking and tick.equity[0] < Decimal(1_000_000)  # fees and the spread

    again = run_intraday_tick(uow, contest, minutes[2], now=minutes[2] + MINUTE)
    earlier = run_intraday_tick(uow, contest, minutes[1], now=minutes[2] + MINUTE)
    assert not again.ran and not earlier.ran
    with uow.reading():
        account = uow.trading.account_books(contest)[0].id
        assert len(uow.trading.fills_on_days([account], [day])[account]) == 1

    # The daily clock leaves a minute contest alone.
    assert clock.advance_clock(uow, contest).days == []

    closing = run_intraday_tick(uow, contest, minutes[-1], now=minutes[-1] + MINUTE)
    assert closing.session_closed and [o.id for o in closing.expired] == [low.id]
    assert closing.expired[0].status is OrderStatus.EXPIRED
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None
        assert (row.clock_day, row.clock_ticks, row.intraday_bar) == (day, 1, minutes[-1])
        assert uow.trading.resting_orders(contest_id=contest) == []
        assert intraday_clock.feed_status(row) == "live"
        curve = uow.trading.equity_curve(account)
    assert [(d, e) for d, _, e in curve] == [(day, closing.equity[0])]
    assert services.check_books(uow, contest) == []

    # The next session has no minutes stored: the held symbol's feed is out.
    _at(monkeypatch, minutes[-1] + timedelta(hours=1))
    with pytest.raises(OrderRefused) as closed:  # a market order needs the session open
        order_desk.place_order(uow, contest, member.id, request("sell", symbol=symbol))
    assert closed.value.reason is Reason.SESSION_CLOSED
    # A limit day order queues for the next session's open.
    sell = order_desk.place_order(
        uow, contest, member.id, request("sell", symbol=symbol, type="limit", limit=str(floor))
    )
    late = following + 5 * MINUTE
    _at(monkeypatch, late)
    with pytest.raises(OrderRefused) as out:
        order_desk.place_order(uow, contest, member.id, request("sell", symbol=symbol))
    assert out.value.reason is Reason.STALE_FEED
    stale = run_intraday_tick(uow, contest, following, now=late)
    assert not stale.ran and stale.feed_stale == (symbol,) and stale.fills == ()
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None and intraday_clock.feed_status(row) == "feed_stale"
        assert row.intraday_bar == minutes[-1]  # the minute runs again once its bars arrive
    previous = bars[minutes[2]]
    store_minute_bars(
        uow,
        [MinuteBar(i.symbol, following, *[previous.close] * 4, 10_000) for i in done.instruments],
        source="tape",
    )
    back = run_intraday_tick(uow, contest, following, now=late)
    assert back.ran and [f.order_id for f in back.fills] == [sell.id]
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None and intraday_clock.feed_status(row) == "live"


def test_only_a_minute_contest_ticks_intraday_and_only_at_a_trading_minute(
    database: Database,
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    done = install_synthetic_intraday(uow, Market.CN, count=1, seed=2, start=START, sessions=1)
    day, universe = done.days[0], [i.symbol for i in done.instruments]

    def make(interval: str) -> int:
        return services.create_venue(
            uow,
            title=interval,
            market=Market.CN,
            universe=universe,
            starting_cash=Decimal(100_000),
            trading_start=day,
            trading_end=day,
            bar_interval=interval,
        ).contest_id

    session = sessions_for(Market.CN).session(day)
    assert session is not None and session.break_start is not None
    with pytest.raises(RuleViolation) as daily:
        run_intraday_tick(uow, make("daily"), session.open)
    assert daily.value.field == "bar_interval"
    minute = make("minute")
    for bad in (session.break_start, session.close, session.open + timedelta(seconds=1)):
        with pytest.raises(RuleViolation) as refused:
            run_intraday_tick(uow, minute, bad)
        assert (refused.value.field, refused.value.rule) == ("bar_start", "trading_minute")
    with pytest.raises(RuleViolation) as interval:
        make("hourly")
    assert interval.value.field == "bar_interval"
