"""Bot strategies on an in-memory venue: valid orders, deliberate mistakes, determinism and
no look-ahead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.market.model import Bar, Instrument, Market
from engine.market.synthetic import SyntheticMarket, synthetic_universe, weekdays
from engine.trading.orders import OrderRequest, OrderType, Reason, Side, TimeInForce
from engine.trading.rules import RulePack, cn_a_share, us_equities
from engine.trading.simulator import InMemoryVenue, venue_for
from simulation.bots.driver import BotDriver
from simulation.bots.over_trader import OverTrader
from simulation.bots.sizing import affordable_lots, reserve_for, whole_lots
from simulation.bots.styles import BuyAndHold, IndexHugger, MeanReversion, RandomTrader, SmaMomentum
from simulation.bots.views import Holdings, MarketHistory, MarketView, Strategy

D = Decimal
START = date(2024, 1, 1)
CASH = {Market.CN: D(1_000_000), Market.US: D(100_000)}

StyleFactory = Callable[[int, list[str]], Strategy]
VALID_STYLES: dict[str, StyleFactory] = {
    "buy_and_hold": lambda seed, symbols: BuyAndHold(picks=4, seed=seed),
    "buy_and_hold_watchlist": lambda seed, symbols: BuyAndHold(symbols[:3]),
    "sma_momentum": lambda seed, symbols: SmaMomentum(symbols[:5], fast=3, slow=8),
    "mean_reversion": lambda seed, symbols: MeanReversion(window=10, entry=1.0, exit=0.3),
    "random": lambda seed, symbols: RandomTrader(seed=seed, probability=0.5),
    "index_hugger": lambda seed, symbols: IndexHugger(every=5),
}


def universe(market: Market, count: int = 8) -> list[Instrument]:
    return synthetic_universe(market, count, seed=7)


def market_bars(instruments: list[Instrument], days: int = 60, seed: int = 11) -> list[Bar]:
    return SyntheticMarket(instruments, seed=seed, start=START, days=days).all_bars()


def rules_for(market: Market) -> RulePack:
    return cn_a_share() if market is Market.CN else us_equities()


def started_venue(
    market: Market, bots: dict[int, Strategy], bars: list[Bar] | None = None
) -> InMemoryVenue:
    instruments = universe(market)
    venue = venue_for(rules_for(market), instruments, bars or market_bars(instruments))
    for account_id in bots:
        venue.open_account(account_id, CASH[market])
    venue.start()
    return venue


def drive(market: Market, bots: dict[int, Strategy], bars: list[Bar] | None = None) -> BotDriver:
    driver = BotDriver(started_venue(market, bots, bars), bots)
    driver.run()
    return driver


class Recording:
    """Wraps a strategy and keeps every view's day, closes and the orders it returned."""

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        self.name = inner.name
        self.seen: list[tuple[date, int, dict[str, list[float]]]] = []
        self.decisions: list[tuple[date, list[OrderRequest]]] = []

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        closes = {s: market.closes(s).tolist() for s in market.symbols}
        self.seen.append((market.day, market.days, closes))
        orders = self.inner.decide(market, holdings)
        self.decisions.append((market.day, orders))
        return orders


# --- valid styles ------------------------------------------------------------------------------


@pytest.mark.parametrize("market", [Market.CN, Market.US])
@pytest.mark.parametrize("style", sorted(VALID_STYLES))
def test_each_style_places_orders_the_venue_accepts(market: Market, style: str) -> None:
    symbols = [i.symbol for i in universe(market)]
    bots = {n: VALID_STYLES[style](n, symbols) for n in range(1, 4)}
    driver = drive(market, bots)
    venue = driver.venue
    assert driver.refusals == []
    assert driver.accepted > 0 and venue.fills
    for order in venue.orders.values():
        lot = venue.rules.lot_for(venue.instruments[order.symbol].lot_size)
        qty = order.request.qty
        assert qty is not None and qty > 0 and qty == qty.to_integral_value()
        if order.side is Side.BUY:
            assert qty % lot == 0
    for portfolio in venue.portfolios.values():
        assert portfolio.cash >= 0
        assert all(p.qty >= 0 for p in portfolio.positions.values())
        assert portfolio.conservation_gap(venue.last_closes()) == 0


def test_buy_and_hold_buys_once_and_never_sells() -> None:
    bots: dict[int, Strategy] = {1: BuyAndHold(picks=3, seed=5)}
    venue = drive(Market.CN, bots).venue
    buy_days = {o.submitted_day for o in venue.orders.values()}
    assert len(buy_days) == 1
    assert {o.side for o in venue.orders.values()} == {Side.BUY}
    assert len({f.symbol for f in venue.fills}) == 3
    # Nearly all the cash went in: what is left is under one lot of the dearest pick plus fees.
    assert venue.portfolios[1].cash < CASH[Market.CN] * D("0.25")


def test_sma_momentum_buys_on_a_cross_above_and_sells_on_a_cross_below() -> None:
    instrument = Instrument("AAA", "AAA Inc", Market.US, lot_size=1)
    closes = [12, 11, 10, 9, 9, 12, 14, 16, 18, 17, 15, 12, 9, 7, 6, 6, 6]
    bars = [
        Bar("AAA", day, D(c), D(c), D(c), D(c), 1_000_000)
        for day, c in zip(_weekdays(len(closes)), closes, strict=True)
    ]
    venue = venue_for(us_equities(), [instrument], bars)
    venue.open_account(1, D(10_000))
    venue.start()
    strategy = Recording(SmaMomentum(["AAA"], fast=2, slow=4))
    BotDriver(venue, {1: strategy}).run()
    traded = [(day, [o.side for o in orders]) for day, orders in strategy.decisions if orders]
    assert [sides for _, sides in traded] == [[Side.BUY], [Side.SELL]]
    assert venue.portfolios[1].qty("AAA") == 0
    # Sized at the close plus the 10% collar, 10,000 / (12 × 1.1) → 757 shares; the next bar
    # opened at 14, so the fill was cut to what the cash covers, in whole shares as ordered.
    assert strategy.decisions[5][1][0].qty == D(757)
    assert venue.fills[0].qty == D(714) and venue.fills[0].price == D(14)


def test_mean_reversion_buys_below_the_band_and_sells_above() -> None:
    instrument = Instrument("AAA", "AAA Inc", Market.US, lot_size=1)
    closes = [10, 10.2, 9.9, 10.1, 10, 8, 8.1, 9, 10.5, 10.6, 10.4]
    bars = [
        Bar("AAA", day, D(str(c)), D(str(c)), D(str(c)), D(str(c)), 1_000_000)
        for day, c in zip(_weekdays(len(closes)), closes, strict=True)
    ]
    venue = venue_for(us_equities(), [instrument], bars)
    venue.open_account(1, D(10_000))
    venue.start()
    strategy = Recording(MeanReversion(["AAA"], window=5, entry=1.5, exit=0.5))
    BotDriver(venue, {1: strategy}).run()
    traded = [(day, [o.side for o in orders]) for day, orders in strategy.decisions if orders]
    assert [sides for _, sides in traded] == [[Side.BUY], [Side.SELL]]
    assert venue.portfolios[1].cash > D(10_000)  # bought near 8, sold near 10.5


def test_holdings_count_open_orders_placed_outside_the_driver() -> None:
    instrument = Instrument("AAA", "AAA Inc", Market.US, lot_size=1)
    bars = [Bar("AAA", day, D(10), D(10), D(10), D(10), 1_000_000) for day in _weekdays(6)]
    venue = venue_for(us_equities(), [instrument], bars)
    venue.open_account(1, D(10_000))
    venue.start()
    recorder = Recording(BuyAndHold([], picks=0))
    seen: list[Decimal] = []
    original = recorder.decide

    def decide(market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        seen.append(holdings.buying_power)
        return original(market, holdings)

    recorder.decide = decide  # type: ignore[method-assign]
    driver = BotDriver(venue, {1: recorder})
    driver.step()
    venue.advance()
    resting = venue.submit(
        1,
        OrderRequest(
            "AAA",
            Side.BUY,
            type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            qty=D(300),
            limit_price=D(5),
        ),
    )
    driver.step()
    venue.advance()
    driver.step()
    venue.cancel(resting.id)
    venue.advance()
    driver.step()
    assert seen == [D(10_000), D(8_500), D(8_500), D(10_000)]


# --- the over-trader ---------------------------------------------------------------------------


@pytest.mark.parametrize("market", [Market.CN, Market.US])
def test_over_trader_mistakes_are_refused_and_its_good_orders_accepted(market: Market) -> None:
    bots: dict[int, Strategy] = {n: OverTrader(seed=n, bad_share=0.3) for n in (1, 2)}
    driver = drive(market, bots)
    deliberate = {
        (n, client_id): reason
        for n, bot in bots.items()
        for client_id, reason in bot.deliberate.items()  # type: ignore[attr-defined]
    }
    refused = {(r.account_id, r.request.client_order_id): r.reason for r in driver.refusals}
    assert refused == {key: reason.value for key, reason in deliberate.items()}
    expected = {Reason.TICK_SIZE, Reason.INSUFFICIENT_SELLABLE}
    expected |= (
        {Reason.LOT_SIZE, Reason.OUTSIDE_PRICE_BAND}
        if market is Market.CN
        else {Reason.QTY_PRECISION}
    )
    assert set(deliberate.values()) == expected
    accepted = list(driver.venue.orders.values())
    assert len(accepted) > len(deliberate)  # mostly good orders, many a day
    assert all((o.account_id, o.client_order_id) not in deliberate for o in accepted)
    assert driver.venue.fills


# --- determinism -------------------------------------------------------------------------------


def mixed_bots(seed: int) -> dict[int, Strategy]:
    return {
        1: RandomTrader(seed=seed),
        2: OverTrader(seed=seed + 1),
        3: BuyAndHold(seed=seed + 2),
        4: SmaMomentum(fast=3, slow=8),
        5: MeanReversion(window=10, entry=1.0),
        6: IndexHugger(every=7),
    }


def trading_record(driver: BotDriver) -> list[tuple[object, ...]]:
    orders = [
        (o.account_id, o.request, o.status, o.submitted_day) for o in driver.venue.orders.values()
    ]
    fills = [(f.account_id, f.symbol, f.side, f.qty, f.price, f.day) for f in driver.venue.fills]
    refusals = [(r.account_id, r.request, r.reason) for r in driver.refusals]
    return [*orders, *fills, *refusals]


@pytest.mark.parametrize("market", [Market.CN, Market.US])
def test_same_seed_same_orders_and_fills(market: Market) -> None:
    first = trading_record(drive(market, mixed_bots(3)))
    again = trading_record(drive(market, mixed_bots(3)))
    other = trading_record(drive(market, mixed_bots(4)))
    assert first == again
    assert first != other


# --- no look-ahead ------------------------------------------------------------------------------


def test_views_end_at_the_clock_and_hold_exactly_the_revealed_closes() -> None:
    instruments = universe(Market.CN, 4)
    bars = market_bars(instruments, days=30)
    recorder = Recording(RandomTrader(seed=1, probability=0.5))
    venue = venue_for(cn_a_share(), instruments, bars)
    venue.open_account(1, CASH[Market.CN])
    venue.start()
    BotDriver(venue, {1: recorder}).run()
    days = sorted({b.day for b in bars})
    assert [day for day, _, _ in recorder.seen] == days[:-1]  # no decision after the last bar
    for index, (day, count, closes) in enumerate(recorder.seen):
        assert count == index + 1
        for symbol, series in closes.items():
            revealed = [float(b.close) for b in bars if b.symbol == symbol and b.day <= day]
            assert series == revealed


def test_changing_the_future_changes_no_decision_before_it() -> None:
    instruments = universe(Market.US, 6)
    bars = market_bars(instruments, days=50)
    days = sorted({b.day for b in bars})
    cut = days[30]
    # Same history up to the cut, a crash afterwards.
    crashed = [b if b.day <= cut else _flat(b, (b.close / 2).quantize(D("0.01"))) for b in bars]

    def decisions(tape: list[Bar]) -> list[tuple[int, date, list[OrderRequest]]]:
        recorders = {n: Recording(bot) for n, bot in mixed_bots(9).items()}
        drive(Market.US, dict(recorders), tape)
        return [
            (n, day, orders)
            for n, recorder in recorders.items()
            for day, orders in recorder.decisions
            if day <= cut
        ]

    before, after = decisions(bars), decisions(crashed)
    assert before == after
    assert len(before) == 6 * 31


def test_closes_are_read_only_and_days_must_increase() -> None:
    instruments = universe(Market.US, 2)
    history = MarketHistory(instruments, us_equities())
    symbol = instruments[0].symbol
    view = history.record(START, {symbol: D("10.00")})
    with pytest.raises(ValueError):
        view.closes(symbol)[0] = 99.0
    with pytest.raises(ValueError):
        history.record(START, {symbol: D("11.00")})
    assert view.symbols == (symbol,)  # the other symbol has no close yet


def test_history_carries_a_suspended_symbol_forward_and_grows() -> None:
    instruments = universe(Market.US, 2)
    a, b = (i.symbol for i in instruments)
    history = MarketHistory(instruments, us_equities())
    for n, day in enumerate(_weekdays(100)):
        closes = {a: D(10 + n)} if n % 2 else {a: D(10 + n), b: D(5)}
        view = history.record(day, closes)
    assert view.days == 100
    assert view.closes(a).tolist() == [float(10 + n) for n in range(100)]
    assert view.closes(b).tolist() == [5.0] * 100


def test_indicators_match_a_direct_computation() -> None:
    instruments = universe(Market.US, 3)
    bars = market_bars(instruments, days=40)
    history = MarketHistory(instruments, us_equities())
    view: MarketView | None = None
    for day in sorted({b.day for b in bars}):
        view = history.record(day, {b.symbol: b.close for b in bars if b.day == day})
    assert view is not None
    for symbol in view.symbols:
        closes = np.array([float(b.close) for b in bars if b.symbol == symbol])
        i = view.index(symbol)
        assert view.sma(10)[i] == pytest.approx(closes[-10:].mean())
        assert view.sma(10, lag=1)[i] == pytest.approx(closes[-11:-1].mean())
        z = (closes[-1] - closes[-20:].mean()) / closes[-20:].std()
        assert view.zscore(20)[i] == pytest.approx(z)
    assert np.isnan(view.sma(41)).all()


@given(
    cents=st.lists(st.integers(min_value=1, max_value=10**8), min_size=2, max_size=60),
    window=st.integers(min_value=1, max_value=60),
)
def test_sma_is_the_exact_decimal_mean_correctly_rounded(cents: list[int], window: int) -> None:
    instrument = Instrument("AAA", "AAA Inc", Market.US, lot_size=1)
    history = MarketHistory([instrument], us_equities())
    for day, c in zip(weekdays(START, len(cents)), cents, strict=True):
        view = history.record(day, {"AAA": D(c).scaleb(-2)})
    exact = Fraction(sum(cents[-window:]), 100 * window) if window <= len(cents) else None
    assert (
        view.sma(window)[0] == float(exact) if exact is not None else np.isnan(view.sma(window)[0])
    )


def test_a_tie_between_the_averages_is_not_a_cross() -> None:
    # SMA(10) and SMA(20) of these closes are both exactly 11.756 on the last day (the last ten
    # are the first ten reordered); summed naively in float they are 11.756 and
    # 11.755999999999998, which would read as fast > slow.
    first = ["11.58", "11.86", "11.98", "11.54", "11.66", "11.57", "11.81", "11.98", "11.78"]
    first.append("11.80")
    closes = first + ["11.98", "11.57", "11.98", "11.66", "11.80", "11.58", "11.78", "11.86"]
    closes += ["11.54", "11.81"]
    floats = np.array([float(c) for c in closes])
    assert np.add.reduce(floats[-10:]) / 10 != np.add.reduce(floats) / 20
    instrument = Instrument("AAA", "AAA Inc", Market.US, lot_size=1)
    history = MarketHistory([instrument], us_equities())
    for day, close in zip(weekdays(START, len(closes)), closes, strict=True):
        view = history.record(day, {"AAA": D(close)})
    assert sum(D(c) for c in closes[-10:]) / 10 == sum(D(c) for c in closes) / 20
    assert view.sma(10)[0] == view.sma(20)[0]


# --- sizing ------------------------------------------------------------------------------------


@given(
    budget=st.decimals(min_value=0, max_value=10**7, places=2),
    price=st.decimals(min_value="0.01", max_value=5000, places=2),
    lot=st.sampled_from([1, 100]),
)
def test_whole_lots_is_the_largest_lot_multiple_within_budget(
    budget: Decimal, price: Decimal, lot: int
) -> None:
    qty = whole_lots(budget, price, lot)
    assert qty % lot == 0 and qty >= 0
    assert qty * price <= budget < (qty + lot) * price


def test_affordable_lots_leaves_room_for_the_minimum_commission() -> None:
    instrument = Instrument("AAA", "AAA Co", Market.CN, lot_size=100)
    history = MarketHistory([instrument], cn_a_share())
    view = history.record(START, {"AAA": D("10.00")})
    # A market buy reserves at limit-up (11.00); 100 shares = 1,100 + the ¥5 minimum commission.
    assert reserve_for(view, "AAA", D(100)) == D("1105.01")
    assert affordable_lots(view, "AAA", D("1105.00")) == 0
    assert affordable_lots(view, "AAA", D("1105.01")) == 100
    assert affordable_lots(view, "AAA", D("2205.01")) == 100
    assert affordable_lots(view, "AAA", D("2205.02")) == 200


def _flat(bar: Bar, price: Decimal) -> Bar:
    return replace(bar, open=price, high=price, low=price, close=price)


def _weekdays(count: int) -> list[date]:
    return weekdays(START, count)
