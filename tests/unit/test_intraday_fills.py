"""Intraday fills: the next minute bar after acceptance, inside its range, never in the lunch
break; day orders expire at the close; the session gate's refusals and queueing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.market.feeds import MinuteBar
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.market.synthetic import synthetic_universe
from engine.market.synthetic_intraday import SyntheticIntradayFeed
from engine.trading.admission import OrderRefused
from engine.trading.intraday import (
    MinuteMarket,
    RestingOrder,
    close_session,
    run_minute,
    session_gate,
    tick_minute,
)
from engine.trading.orders import OrderStatus, Reason
from engine.trading.portfolio import Portfolio, Position
from engine.trading.rules import cn_a_share
from tests.engine_builders import D, order, request

CN = sessions_for(Market.CN)
DAY = date(2024, 10, 8)
SESSION = CN.session(DAY)
assert SESSION is not None
INSTRUMENT = synthetic_universe(Market.CN, 1, seed=11)[0]
FEED = SyntheticIntradayFeed([INSTRUMENT], seed=11, start=DAY, sessions=1)
MINUTES = FEED.minutes_of(INSTRUMENT.symbol, DAY)
RULES = cn_a_share()
SYMBOL = INSTRUMENT.symbol
# Every tenth minute of the session: enough to cross the lunch break, quick to replay.
SAMPLED = MINUTES[::10]


def _market(bar: MinuteBar, minute: datetime | None = None) -> MinuteMarket:
    at = minute or bar.start
    return MinuteMarket(
        SESSION, at, {SYMBOL: replace(bar, start=at)}, {SYMBOL: None}, {SYMBOL: 100}
    )


def _portfolio() -> Portfolio:
    held = Position(SYMBOL, qty=D(100_000), cost_basis=D(100_000), bought_day=date(2024, 9, 30))
    return Portfolio(1, D(10_000_000), D(10_000_000), positions={SYMBOL: held})


order_specs = st.tuples(
    st.sampled_from(["buy", "sell"]),
    st.sampled_from(["market", "limit", "stop"]),
    st.floats(min_value=0.9, max_value=1.1),  # price relative to the day's open
    st.integers(min_value=-30, max_value=len(SAMPLED) * 10),  # acceptance, minutes after open
    st.sampled_from(["day", "gtc", "ioc"]),
)


def _resting(specs: list[tuple[str, str, float, int, str]]) -> list[RestingOrder]:
    resting = []
    opening = MINUTES[0].open
    for i, (side, kind, ratio, offset, tif) in enumerate(specs, start=1):
        price = str((opening * Decimal(ratio)).quantize(Decimal("0.01")))
        req = request(
            side,
            type=kind,
            tif=tif,
            limit=price if kind == "limit" else None,
            stop=price if kind == "stop" else None,
            symbol=SYMBOL,
        )
        accepted = SESSION.open + timedelta(minutes=offset, seconds=(i * 7) % 60)
        resting.append(RestingOrder(order(req, id=i), accepted))
    return resting


@settings(max_examples=40, deadline=None)
@given(specs=st.lists(order_specs, min_size=1, max_size=6))
def test_fills_come_from_a_later_bar_inside_its_range(specs: list) -> None:
    resting = _resting(specs)
    accepted = {r.order.id: r.accepted_at for r in resting}
    portfolio = _portfolio()
    for bar in SAMPLED:
        outcome = run_minute([(portfolio, resting)], _market(bar), RULES)
        for fill in outcome.fills:
            assert accepted[fill.order_id] < bar.start  # no look-ahead
            assert bar.low <= fill.price <= bar.high
            assert CN.is_open(bar.start)
        changed = {o.id: o for o in outcome.changed}
        resting = [replace(r, order=changed.get(r.order.id, r.order)) for r in resting]
        resting = [r for r in resting if r.order.status.is_open]
    for r in close_session(resting, SESSION):
        assert r.status is OrderStatus.EXPIRED and r.request.time_in_force.value == "day"


@settings(max_examples=30, deadline=None)
@given(
    minute=st.integers(min_value=0, max_value=89),
    specs=st.lists(order_specs, min_size=1, max_size=4),
)
def test_nothing_fills_in_the_lunch_break(minute: int, specs: list) -> None:
    assert SESSION.break_start is not None
    at = SESSION.break_start + timedelta(minutes=minute)
    resting = [replace(r, accepted_at=SESSION.open) for r in _resting(specs)]
    outcome = run_minute([(_portfolio(), resting)], _market(MINUTES[0], at), RULES)
    assert outcome.fills == [] and outcome.changed == []


def test_an_order_never_fills_on_the_bar_current_at_submission() -> None:
    bar = MINUTES[5]
    market_buy = order(request(symbol=SYMBOL))
    inside = RestingOrder(market_buy, bar.start + timedelta(seconds=30))
    assert run_minute([(_portfolio(), [inside])], _market(bar), RULES).fills == []
    following = MINUTES[6]
    (fill,) = run_minute([(_portfolio(), [inside])], _market(following), RULES).fills
    assert following.low <= fill.price <= following.high


def test_a_locked_limit_up_rejects_a_market_buy_and_keeps_t_plus_one() -> None:
    bar = MINUTES[3]
    band = RULES.price_band(INSTRUMENT.board, bar.open / Decimal("1.1"))
    assert band is not None
    locked = replace(bar, open=band.up, high=band.up, low=band.up, close=band.up)
    market = replace(_market(locked), bands={SYMBOL: band})
    buy = RestingOrder(order(request(symbol=SYMBOL)), SESSION.open - timedelta(hours=1))
    (rejected,) = run_minute([(_portfolio(), [buy])], market, RULES).changed
    assert rejected.reason is Reason.LIMIT_UP
    fresh = Portfolio(2, D(10_000_000), D(10_000_000))
    bought = run_minute([(fresh, [buy])], _market(bar), RULES).fills
    sell = RestingOrder(
        replace(order(request("sell", symbol=SYMBOL), id=2), account_id=2), SESSION.open
    )
    (refused,) = run_minute([(fresh, [sell])], _market(MINUTES[9]), RULES).changed
    assert bought and refused.reason is Reason.INSUFFICIENT_SELLABLE  # T+1


def test_the_gate_refuses_market_orders_when_closed_and_queues_limits() -> None:
    night = datetime(2024, 10, 8, 12, 0, tzinfo=UTC)
    with pytest.raises(OrderRefused) as closed:
        session_gate(request(symbol=SYMBOL), at=night, calendar=CN, listed=True, last_quote=None)
    assert closed.value.rule == "session_closed"
    gate = session_gate(
        request(type="limit", limit="10", symbol=SYMBOL),
        at=night,
        calendar=CN,
        listed=True,
        last_quote=None,
    )
    assert gate.queued
    with pytest.raises(OrderRefused) as unknown:
        session_gate(request(symbol="NOPE"), at=night, calendar=CN, listed=False, last_quote=None)
    assert unknown.value.rule == "unknown_symbol"


def test_the_gate_refuses_against_a_stale_feed() -> None:
    bar = MINUTES[10]
    fresh_at = bar.end + timedelta(seconds=30)
    gate = session_gate(
        request(symbol=SYMBOL), at=fresh_at, calendar=CN, listed=True, last_quote=bar
    )
    assert not gate.queued
    with pytest.raises(OrderRefused) as stale:
        session_gate(
            request(symbol=SYMBOL),
            at=bar.end + timedelta(minutes=5),
            calendar=CN,
            listed=True,
            last_quote=bar,
        )
    assert stale.value.rule == "stale_feed"


def test_a_day_order_queued_after_the_close_survives_it() -> None:
    day_limit = order(request(type="limit", limit="1", symbol=SYMBOL))
    before = RestingOrder(day_limit, SESSION.close - timedelta(minutes=1))
    after = RestingOrder(replace(day_limit, id=2), SESSION.close + timedelta(minutes=1))
    (expired,) = close_session([before, after], SESSION)
    assert expired.id == 1 and expired.reason is Reason.DAY_ENDED


def test_a_minute_tick_matches_marks_at_the_minute_closes_and_ranks() -> None:
    bar = MINUTES[20]
    rich, poor = _portfolio(), Portfolio(2, D(1_000), D(1_000))
    buy = RestingOrder(replace(order(request(symbol=SYMBOL)), account_id=2), SESSION.open)
    tick = tick_minute([poor, rich], {2: [buy]}, _market(bar), RULES, last_prices={SYMBOL: D(1)})
    assert (
        tick.venue.fills == [] and tick.venue.changed[0].reason is Reason.INSUFFICIENT_BUYING_POWER
    )
    assert tick.equity == [D(1_000), D(10_000_000) + 100_000 * bar.close]
    assert tick.ranking == [1, 2]
