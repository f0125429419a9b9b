"""Invariants of the engine over random markets and random order flow (hypothesis).

- conservation: cash + Σ qty × price = starting cash + realized + unrealized − fees, exactly,
  for every portfolio after every day, and the stored books equal a replay of the fills;
- no look-ahead: changing the bars after day k changes nothing that happened up to day k, and
  every fill is inside the bar of a day after its order was accepted;
- determinism: the same market and orders give identical fills.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import RuleViolation
from engine.market.model import Bar, Board, Instrument, Market
from engine.trading.orders import Fill, OrderRequest, OrderType, Side, TimeInForce
from engine.trading.portfolio import replay, same_books
from engine.trading.rules import RulePack, cn_a_share, us_equities
from engine.trading.simulator import InMemoryVenue, venue_for

D = Decimal
SYMBOLS = ("AAA", "BBB", "CCC")
ACCOUNTS = (1, 2, 3)


def random_bars(
    seed: int, days: int, *, tail_seed: int | None = None, cut: int = 10**9
) -> list[Bar]:
    """A random walk per symbol; from day ``cut`` on, the walk uses ``tail_seed`` instead."""
    rng = random.Random(seed)
    tail = random.Random(tail_seed) if tail_seed is not None else rng
    bars, day = [], date(2024, 1, 1)
    closes = {s: D(rng.randint(500, 5000)) / 100 for s in SYMBOLS}
    for index in range(days):
        source = tail if index >= cut else rng
        while day.weekday() >= 5:
            day += timedelta(days=1)
        for symbol in SYMBOLS:
            prev = closes[symbol]
            o = max(D("0.50"), (prev * D(1 + source.uniform(-0.06, 0.06))).quantize(D("0.01")))
            c = max(D("0.50"), (o * D(1 + source.uniform(-0.06, 0.06))).quantize(D("0.01")))
            h = (max(o, c) * D(1 + source.uniform(0, 0.03))).quantize(D("0.01"))
            lo = max(D("0.01"), (min(o, c) * D(1 - source.uniform(0, 0.03))).quantize(D("0.01")))
            bars.append(Bar(symbol, day, o, h, lo, c, source.randint(0, 50_000)))
            closes[symbol] = c
        day += timedelta(days=1)
    return bars


def instruments(market: Market) -> list[Instrument]:
    lot = 100 if market is Market.CN else 1
    return [Instrument(s, s, market, Board.MAIN, "X", lot) for s in SYMBOLS]


def random_request(rng: random.Random, venue: InMemoryVenue, rules: RulePack) -> OrderRequest:
    symbol = rng.choice(SYMBOLS)
    last = venue.last_closes()[symbol]
    kind = rng.choice(list(OrderType))
    lot = rules.lot_for(100 if rules.market is Market.CN else 1)
    qty = D(rng.randint(1, 30) * lot)
    if rules.fractional and rng.random() < 0.3:
        qty = D(rng.randint(1, 30_000)) / 1000
    away = D(1 + rng.uniform(-0.05, 0.05))
    price = (last * away).quantize(D("0.01"))
    return OrderRequest(
        symbol=symbol,
        side=rng.choice(list(Side)),
        type=kind,
        time_in_force=rng.choice(list(TimeInForce)),
        qty=qty,
        limit_price=price if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        stop_price=price if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
    )


def run(rules: RulePack, bars: list[Bar], seed: int, *, days: int) -> InMemoryVenue:
    """Drive a venue: random orders from each account every day, decided on revealed data only."""
    venue = venue_for(rules, instruments(rules.market), bars)
    for account in ACCOUNTS:
        venue.open_account(account, D(200_000))
    venue.start()
    rng = random.Random(seed)
    for _ in range(days - 1):
        for account in ACCOUNTS:
            for _ in range(rng.randint(0, 4)):
                try:
                    venue.submit(account, random_request(rng, venue, rules))
                except RuleViolation:
                    pass
            if rng.random() < 0.2 and (open_orders := venue.open_orders(account)):
                venue.cancel(rng.choice(open_orders).id)
        venue.advance()
        check_books(venue)
    return venue


def check_books(venue: InMemoryVenue) -> None:
    prices = venue.last_closes()
    for order in venue.orders.values():  # storable: money in whole cents
        assert order.reserved_cash == order.reserved_cash.quantize(D("0.01"))
    for account, portfolio in venue.portfolios.items():
        assert portfolio.conservation_gap(prices) == 0
        fills = [f for f in venue.fills if f.account_id == account]
        assert same_books(portfolio, replay(account, portfolio.starting_cash, fills)) == []
        if not venue.rules.guards.short_selling:
            assert portfolio.cash >= 0
            assert all(p.qty >= 0 for p in portfolio.positions.values())


PACKS = st.sampled_from(
    [
        cn_a_share(),
        us_equities(),
        us_equities().with_overrides(
            {"guards": {"short_selling": True}, "volume_participation": "0.1"}
        ),
        cn_a_share().with_overrides({"volume_participation": None, "slippage_bps": 20}),
    ]
)


@settings(max_examples=40, deadline=None)
@given(rules=PACKS, market_seed=st.integers(0, 10**6), order_seed=st.integers(0, 10**6))
def test_conservation_holds_after_every_day(
    rules: RulePack, market_seed: int, order_seed: int
) -> None:
    run(rules, random_bars(market_seed, 12), order_seed, days=12)


@settings(max_examples=30, deadline=None)
@given(
    rules=PACKS,
    market_seed=st.integers(0, 10**6),
    order_seed=st.integers(0, 10**6),
    cut=st.integers(2, 9),
)
def test_no_look_ahead(rules: RulePack, market_seed: int, order_seed: int, cut: int) -> None:
    bars = random_bars(market_seed, 10)
    other_future = random_bars(market_seed, 10, tail_seed=market_seed + 1, cut=cut)
    a = run(rules, bars, order_seed, days=10)
    b = run(rules, other_future, order_seed, days=10)
    cut_day = sorted({bar.day for bar in bars})[cut]
    assert _before(a.fills, cut_day) == _before(b.fills, cut_day)
    by_key = {(bar.symbol, bar.day): bar for bar in bars}
    for fill in a.fills:
        bar = by_key[(fill.symbol, fill.day)]
        assert bar.low <= fill.price <= bar.high
        assert fill.day > a.orders[fill.order_id].submitted_day


def _before(fills: list[Fill], day: date) -> list[Fill]:
    return [f for f in fills if f.day < day]


@settings(max_examples=20, deadline=None)
@given(rules=PACKS, market_seed=st.integers(0, 10**6), order_seed=st.integers(0, 10**6))
def test_same_market_and_orders_give_identical_fills(
    rules: RulePack, market_seed: int, order_seed: int
) -> None:
    bars = random_bars(market_seed, 8)
    first, second = run(rules, bars, order_seed, days=8), run(rules, bars, order_seed, days=8)
    assert first.fills == second.fills
    assert first.equity == second.equity
