"""What the season simulation's intraday phase relies on: the order desk judges and accepts a
minute contest's orders at the ``now`` it is given (simulated time, no patched clock), and a
tick's bounded minute read (the bar and each symbol's last before it) is what the day holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import Database
from core.users.model import User
from engine.intraday_clock import run_intraday_tick
from engine.market.intraday_services import install_synthetic_intraday, store_minute_bars
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.market.synthetic import synthetic_universe
from engine.market.synthetic_intraday import SyntheticIntradayFeed
from engine.trading import order_desk, services
from engine.trading.admission import OrderRefused
from engine.trading.orders import Order, Reason
from engine.uow import EngineUnitOfWork
from tests.engine_builders import request
from tests.integration.test_intraday_market import START

MINUTE = timedelta(minutes=1)


def test_a_minute_contest_order_is_judged_and_accepted_at_the_given_now(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    done = install_synthetic_intraday(uow, Market.CN, count=2, seed=5, start=START, sessions=1)
    day, symbol = done.days[0], done.instruments[0].symbol
    session = sessions_for(Market.CN).session(day)
    assert session is not None
    minutes = session.minutes()
    contest = services.create_venue(
        uow,
        title="live",
        market=Market.CN,
        universe=[i.symbol for i in done.instruments],
        starting_cash=Decimal(1_000_000),
        trading_start=day,
        trading_end=day,
        bar_interval="minute",
    ).contest_id
    member = make_user()
    services.open_account(uow, contest, member.id)
    assert run_intraday_tick(uow, contest, minutes[0], now=minutes[0] + MINUTE).ran

    def place(at_offset: timedelta, **shape: str) -> Order | Exception:
        at = minutes[1] + at_offset
        return order_desk.place_orders(
            uow, contest, [(member.id, request(symbol=symbol, **shape))], now=at
        )[0]

    # The wall clock is years later: only the given now makes these the session's answers.
    stale = place(timedelta(hours=2))  # 11:31+: the lunch break
    assert isinstance(stale, OrderRefused) and stale.reason is Reason.SESSION_CLOSED
    early = order_desk.place_orders(
        uow, contest, [(member.id, request(symbol=symbol))], now=minutes[0] + MINUTE / 2
    )[0]
    assert isinstance(early, OrderRefused) and early.reason is Reason.STALE_FEED
    accepted_at = minutes[1] + timedelta(seconds=30)
    buy = place(timedelta(seconds=30), qty="1000")
    assert isinstance(buy, Order)
    with uow.reading():
        resting = uow.trading.resting_orders(contest_id=contest)
    assert [(o.id, at) for o, at in resting] == [(buy.id, accepted_at)]
    # Accepted during minute 1: its bar never fills it, minute 2's does.
    assert run_intraday_tick(uow, contest, minutes[1], now=minutes[2]).fills == ()
    filled = run_intraday_tick(uow, contest, minutes[2], now=minutes[3]).fills
    assert [f.order_id for f in filled] == [buy.id]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cuts=st.lists(st.integers(1, 239), max_size=6), session_index=st.integers(0, 7))
def test_a_ticks_bounded_read_is_the_days_bar_and_last_earlier_bars(
    database: Database, cuts: list[int], session_index: int
) -> None:
    """Minutes arrive in batches (any split of a session); after each, the tick's bounded read
    at every stored minute (and at the next, not yet stored) equals a naive filter of the
    whole day: the bars at that minute, and each symbol's last bar before it that day."""
    instruments = synthetic_universe(Market.CN, 2, seed=3)
    market = EngineUnitOfWork(database.sessions)
    install_synthetic_intraday(
        market, Market.CN, count=0, seed=3, start=START, sessions=0, instruments=instruments
    )
    feed = SyntheticIntradayFeed(instruments, seed=3, start=START, sessions=8)
    session = feed.sessions[session_index]
    symbols = [i.symbol for i in instruments]
    minutes = session.minutes()
    bounds = [0, *sorted(set(cuts)), len(minutes)]
    for low, high in zip(bounds, bounds[1:], strict=False):
        batch = feed.poll(symbols, minutes[low], minutes[high - 1] + MINUTE).bars
        store_minute_bars(market, list(batch), source=feed.name)
        probes = [minutes[low], minutes[high - 1], minutes[high] if high < len(minutes) else None]
        with market.reading():
            day = market.minutes.minute_bars_of_day(symbols, session.day)
            for minute in (p for p in probes if p is not None):
                at, before = market.minutes.minute_and_last_before(symbols, session.day, minute)
                assert at == {m.symbol: m for m in day if m.start == minute}
                assert before == {m.symbol: m for m in day if m.start < minute}
