"""One day loop, two drivers: the database clock (``order_desk`` + ``clock.advance_clock``) and
the in-memory venue (``InMemoryVenue.submit`` + ``advance``), fed the same bars and the same
orders day by day, admit and refuse the same orders for the same reasons, book the same fills in
the same order, and end every day with the same cash, positions and equity — on SQLite and
PostgreSQL. Then the pattern-day-trader window, the one rule the two paths used to count
differently, on a schedule where the old and the new count disagree.

The one modelled difference: the database contest ends on its last day and cancels what is
still open (``contest_ended``); the in-memory venue has no end, so those orders stay open.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from core.db import Database
from core.errors import DomainError, RuleViolation
from core.users.model import User
from engine import clock
from engine.market.model import Bar, Board, Instrument, Market
from engine.trading import order_desk, services
from engine.trading.execution import count_day_trades
from engine.trading.matching import round_down_to_lot
from engine.trading.orders import (
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Reason,
    Side,
    TimeInForce,
)
from engine.trading.portfolio import Portfolio
from engine.trading.rules import CENT, RulePack, round_to_tick, rule_pack
from engine.trading.simulator import InMemoryVenue, venue_for
from engine.uow import EngineUnitOfWork

D = Decimal
NAMES = ("AA", "BB", "CC")
UNKNOWN = "ZZNOPE"  # never installed: both paths refuse it
TAGS = itertools.count()  # a fresh symbol prefix per example: stored bars are never replaced


# --- what an example draws --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """An order relative to what the clock shows: sizes and prices are resolved against the
    last closes and positions when it is placed, so one spec gives the same request to both
    paths."""

    account: int
    symbol: int  # index into the universe; -1 names a symbol no one has
    side: Side
    type: OrderType
    tif: TimeInForce
    size: tuple[str, int]  # (lots | odd | milli | held | round_trip | notional, amount)
    away_bps: int  # limit or stop price from the last close
    limit_bps: int  # a stop limit's limit from its stop
    quirk: str | None  # off_tick | missing_price | extra_price


@dataclass(frozen=True, slots=True)
class World:
    market: Market
    overrides: dict[str, Any]
    instruments: tuple[Instrument, ...]  # named from NAMES; tagged per example
    bars: tuple[Bar, ...]
    cash: Decimal
    accounts: int
    orders: tuple[tuple[OrderSpec, ...], ...]  # one list per trading day

    @property
    def days(self) -> list[date]:
        return sorted({b.day for b in self.bars})


MARKETS: st.SearchStrategy[tuple[Market, dict[str, Any]]] = st.sampled_from(
    [
        (Market.CN, {}),
        (Market.CN, {}),
        (Market.US, {"pattern_day_trader": True, "fractional": False}),
        (Market.US, {"pattern_day_trader": True}),
    ]
)
# Fee eras: all 2024; across the stamp-duty cut (28 Aug 2023); across the transfer-fee cut.
STARTS = st.sampled_from([date(2024, 3, 4), date(2023, 8, 22), date(2022, 4, 26)])


# Weighted coins that shrink to False (hypothesis shrinks towards a sample's first element).
SOMETIMES = st.sampled_from([False] * 4 + [True])
RARELY = st.sampled_from([False] * 30 + [True])


def _cents(value: Decimal) -> Decimal:
    return round_to_tick(value, CENT)


@st.composite
def _bar(
    draw: st.DrawFn, symbol: str, day: date, previous: Decimal, rules: RulePack, board: Board
) -> Bar:
    """A valid bar (low ≤ open, close ≤ high) inside the day's band, sometimes at its edge."""
    band = rules.price_band(board, previous)
    kind = draw(st.sampled_from(["move"] * 4 + (["limit_up", "limit_down"] if band else [])))
    bps = st.integers(-700, 700)
    o = _cents(previous * (1 + D(draw(bps)) / 10_000))
    c = _cents(o * (1 + D(draw(bps)) / 10_000))
    h = _cents(max(o, c) * (1 + D(draw(st.integers(0, 300))) / 10_000))
    lo = _cents(min(o, c) * (1 - D(draw(st.integers(0, 300))) / 10_000))
    if band is not None:
        o, c, h, lo = (min(max(p, band.down), band.up) for p in (o, c, h, lo))
        locked = draw(st.booleans())
        if kind == "limit_up":
            c = h = band.up
            o, lo = (band.up, band.up) if locked else (o, lo)
        elif kind == "limit_down":
            c = lo = band.down
            o, h = (band.down, band.down) if locked else (o, h)
    lo = max(lo, CENT)
    o, c, h = max(o, lo), max(c, lo), max(h, o, c, lo)
    volume = draw(st.sampled_from([400, 2_000, 30_000, 10_000_000]))
    return Bar(symbol, day, o, h, lo, c, volume)


LOTS = st.sampled_from([1, 2, 3, 5, 10, 20, 50, 200, 1_000])
AWAY_BPS = st.sampled_from([0, -50, 50, -150, 150, -400, 400, -800, 800, -1_200, 1_200, -2_500])
SIZES = {
    Market.CN: st.sampled_from(["lots"] * 4 + ["odd", "held", "round_trip", "notional"]),
    Market.US: st.sampled_from(["lots"] * 3 + ["milli", "held", "round_trip", "notional"]),
}
AMOUNTS = {
    "lots": LOTS,
    "odd": LOTS,
    "milli": st.integers(1, 30_000),
    "held": st.sampled_from([2, 1]),  # all or half of the position
    "round_trip": LOTS,
    "notional": st.sampled_from([500, 50, 5_000, 100_000, 0]),
}
TIFS = st.sampled_from([TimeInForce.DAY, TimeInForce.GTC] * 3 + [TimeInForce.IOC, TimeInForce.FOK])
QUIRKS = st.sampled_from([None] * 20 + ["off_tick", "missing_price", "extra_price"])


@st.composite
def _order(draw: st.DrawFn, market: Market, accounts: int, symbols: int) -> OrderSpec:
    side = draw(st.sampled_from(list(Side)))
    size = "held" if side is Side.SELL and draw(st.booleans()) else draw(SIZES[market])
    return OrderSpec(
        account=draw(st.integers(0, accounts - 1)),
        symbol=-1 if draw(RARELY) else draw(st.integers(0, symbols - 1)),
        side=side,
        type=draw(st.sampled_from(list(OrderType))),
        tif=draw(TIFS),
        size=(size, draw(AMOUNTS[size])),
        away_bps=draw(AWAY_BPS),
        limit_bps=draw(st.sampled_from([0, 100, -100, 300, -300])),
        quirk=draw(QUIRKS),
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    market, overrides = draw(MARKETS)
    if draw(SOMETIMES):
        overrides = {**overrides, "guards": {"max_orders_per_day": 2}}
    rules = rule_pack(market, overrides)
    count = draw(st.integers(2, 3))
    boards = [Board.MAIN, Board.CHINEXT, Board.ST] if market is Market.CN else [Board.MAIN]
    instruments = tuple(
        Instrument(
            name,
            name,
            market,
            draw(st.sampled_from(boards)),
            "X",
            100 if market is Market.CN else 1,
        )
        for name in NAMES[:count]
    )
    cents = st.integers(300, 5_000) if market is Market.CN else st.integers(2_000, 30_000)
    closes = {i.symbol: D(draw(cents)) / 100 for i in instruments}
    day, bars = draw(STARTS), []
    for _ in range(draw(st.integers(6, 12))):
        for instrument in instruments:
            if draw(SOMETIMES):  # suspended
                continue
            bar = draw(
                _bar(instrument.symbol, day, closes[instrument.symbol], rules, instrument.board)
            )
            bars.append(bar)
            closes[instrument.symbol] = bar.close
        day += timedelta(days=3 if day.weekday() == 4 else 1)
    trading_days = len({b.day for b in bars})
    assume(trading_days >= 2)
    accounts = draw(st.integers(1, 3))
    cash = D(
        draw(st.sampled_from([20_000, 100_000] if market is Market.US else [1_000_000, 100_000]))
    )
    orders = tuple(
        tuple(draw(st.lists(_order(market, accounts, count), min_size=1, max_size=6)))
        for _ in range(trading_days)
    )
    return World(market, overrides, instruments, tuple(bars), cash, accounts, orders)


# --- driving both paths -----------------------------------------------------------------------


def resolve(
    spec: OrderSpec,
    memory: InMemoryVenue,
    accounts: Sequence[int],
    symbols: Sequence[str],
    rules: RulePack,
) -> list[OrderRequest]:
    """The requests ``spec`` means at the clock's day (read from the in-memory venue, which the
    test holds equal to the database at every step): one, or a buy and a sell for a round
    trip (a day trade when both fill)."""
    symbol = UNKNOWN if spec.symbol < 0 else symbols[spec.symbol]
    held = memory.portfolios[accounts[spec.account]].qty(symbol)
    qty, notional = _size(spec.size, held, rules.lot_for(100 if rules.market is Market.CN else 1))
    if spec.size[0] == "round_trip":
        return [
            OrderRequest(symbol, side, OrderType.MARKET, spec.tif, qty=qty)
            for side in (Side.BUY, Side.SELL)
        ]
    last = memory.last_closes().get(symbol, D(10))
    price = max(CENT, _cents(last * (1 + D(spec.away_bps) / 10_000)))
    limit = max(CENT, _cents(price * (1 + D(spec.limit_bps) / 10_000)))
    if spec.quirk == "off_tick":
        price, limit = price + D("0.001"), limit + D("0.001")
    limit_price = {OrderType.LIMIT: price, OrderType.STOP_LIMIT: limit}.get(spec.type)
    stop_price = price if spec.type in (OrderType.STOP, OrderType.STOP_LIMIT) else None
    if spec.quirk == "missing_price":
        limit_price = stop_price = None
    elif spec.quirk == "extra_price" and spec.type is OrderType.MARKET:
        limit_price = price
    return [
        OrderRequest(
            symbol=symbol,
            side=spec.side,
            type=spec.type,
            time_in_force=spec.tif,
            qty=qty,
            notional=notional,
            limit_price=limit_price,
            stop_price=stop_price,
        )
    ]


def _size(size: tuple[str, int], held: Decimal, lot: int) -> tuple[Decimal | None, Decimal | None]:
    """(qty, notional) of a drawn size; ``held`` is the account's position in the symbol."""
    kind, amount = size
    if kind == "notional":
        return None, D(amount)
    if kind == "odd":
        return D(amount * lot) + (D(lot // 2) if lot > 1 else D("0.5")), None
    if kind == "milli":
        return D(amount) / 1000, None
    if kind == "held":
        qty = held if amount == 2 else round_down_to_lot(held / 2, lot=lot)
        return (qty if qty > 0 else D(lot)), None
    return D(amount * lot), None  # lots, round_trip


Outcome = Order | DomainError


def refusal_code(outcome: Outcome | Exception) -> str | None:
    """The machine-readable reason of a refusal; ``None`` for an admitted order."""
    if isinstance(outcome, Order):
        return None
    assert isinstance(outcome, RuleViolation), outcome
    return outcome.rule


def fill_key(fill: Fill, index: dict[int, int]) -> tuple[object, ...]:
    """A fill without its database ids: the order is named by its submission index."""
    return (
        index[fill.order_id],
        fill.account_id,
        fill.symbol,
        fill.side,
        fill.qty,
        fill.price,
        fill.value,
        fill.commission,
        fill.stamp_duty,
        fill.transfer_fee,
        fill.day,
        fill.realized_pnl,
    )


def order_key(order: Order) -> tuple[object, ...]:
    return (
        order.account_id,
        replace(order.request, client_order_id=None),  # each path names its own
        order.status,
        order.reason,
        order.submitted_day,
        order.filled_qty,
        order.filled_value,
        order.fees,
        order.reserved_cash,
        order.triggered,
        order.closed_day,
    )


def books_key(portfolio: Portfolio) -> tuple[object, ...]:
    positions = sorted(
        (s, p.qty, p.cost_basis, p.realized_pnl, p.bought_day, p.bought_on_day)
        for s, p in portfolio.positions.items()
    )
    return (portfolio.cash, portfolio.fees_paid, portfolio.realized_pnl, positions)


def with_contest_end(order: Order, last_day: date) -> Order:
    """What the database's closing day does to an order the in-memory venue leaves open."""
    if not order.status.is_open:
        return order
    return order.closed(OrderStatus.CANCELED, Reason.CONTEST_ENDED, last_day)


@dataclass
class TwoPaths:
    """One contest in the database and an in-memory venue over the same bars, the same
    accounts (the database's ids) and the same orders; orders are named by submission index."""

    uow: EngineUnitOfWork
    contest: int
    players: list[User]
    accounts: list[int]
    memory: InMemoryVenue
    days: list[date]
    db_index: dict[int, int] = field(default_factory=dict)  # database order id → index
    memory_index: dict[int, int] = field(default_factory=dict)
    placed: list[Order | Exception] = field(default_factory=list)  # in-memory outcomes
    cash: dict[int, list[Decimal]] = field(default_factory=dict)  # per account, per day

    @classmethod
    def open(cls, uow: EngineUnitOfWork, members: Sequence[User], world: World) -> TwoPaths:
        tag = f"E{next(TAGS)}"
        instruments = [replace(i, symbol=tag + i.symbol, name=tag) for i in world.instruments]
        bars = [replace(b, symbol=tag + b.symbol) for b in world.bars]
        with uow:
            uow.market.add_instruments(instruments)
            uow.market.put_bars(bars, source="synthetic")
            uow.commit()
        days = world.days
        contest = services.create_venue(
            uow,
            title=tag,
            market=world.market,
            universe=[i.symbol for i in instruments],
            starting_cash=world.cash,
            trading_start=days[0],
            trading_end=days[-1],
            rule_overrides=world.overrides,
        ).contest_id
        players = list(members[: world.accounts])
        accounts = [services.open_account(uow, contest, m.id) for m in players]
        memory = venue_for(services.venue(uow, contest).rules, instruments, bars)
        for account in accounts:
            memory.open_account(account, world.cash)
        assert clock.advance_clock(uow, contest).days == [days[0]]
        memory.start()
        cash = {a: [world.cash] for a in accounts}
        return cls(uow, contest, players, accounts, memory, days, cash=cash)

    @property
    def symbols(self) -> list[str]:
        return sorted(self.memory.instruments)

    def place(self, requests: Sequence[tuple[int, OrderRequest]]) -> None:
        """``(account index, request)`` pairs: one batch through the order desk, then one by
        one into the venue; the same orders must be admitted, the same refused and why."""
        in_db = order_desk.place_orders(
            self.uow, self.contest, [(self.players[a].id, r) for a, r in requests]
        )
        in_memory: list[Order | Exception] = []
        for a, r in requests:
            try:
                in_memory.append(self.memory.submit(self.accounts[a], r))
            except RuleViolation as refused:
                in_memory.append(refused)
        assert [refusal_code(o) for o in in_db] == [refusal_code(o) for o in in_memory], requests
        for stored, kept in zip(in_db, in_memory, strict=True):
            if isinstance(stored, Order) and isinstance(kept, Order):
                assert order_key(stored) == order_key(kept)
                self.db_index[stored.id] = self.memory_index[kept.id] = len(self.placed)
            self.placed.append(kept)

    def advance(self) -> list[Fill]:
        """The next day on both: the same fills in the same booking order."""
        report = clock.advance_clock(self.uow, self.contest)
        fills = self.memory.advance()
        assert report.days == [self.memory.tape.today]
        assert [fill_key(f, self.db_index) for f in report.booked] == [
            fill_key(f, self.memory_index) for f in fills
        ], report.days
        for account in self.accounts:
            self.cash[account].append(self.memory.portfolios[account].cash)
        return fills

    def check_stored(self) -> None:
        """What the database kept equals the venue: books, fills, cash and equity per day,
        and every order's state (but for the contest's end, see the module docstring)."""
        memory, last_day = self.memory, self.days[-1]
        with self.uow.reading():
            stored = self.uow.trading.portfolios(self.uow.trading.accounts(self.contest))
            for account in self.accounts:
                assert books_key(stored[account]) == books_key(memory.portfolios[account])
                assert [fill_key(f, self.db_index) for f in self.uow.trading.fills(account)] == [
                    fill_key(f, self.memory_index) for f in memory.fills if f.account_id == account
                ]
                curve = self.uow.trading.equity_curve(account)
                assert [d for d, _, _ in curve] == self.days
                assert [c for _, c, _ in curve] == self.cash[account]
                assert [e for _, _, e in curve] == memory.equity[account]
        in_memory = self.memory_orders()
        for index, order in self.db_orders().items():
            assert order_key(order) == order_key(with_contest_end(in_memory[index], last_day))
        assert services.check_books(self.uow, self.contest) == []

    def db_orders(self) -> dict[int, Order]:
        """The stored orders by submission index."""
        with self.uow.reading():
            found = {}
            for order_id, index in self.db_index.items():
                order = self.uow.trading.order(self.memory_orders()[index].account_id, order_id)
                assert order is not None
                found[index] = order
            return found

    def memory_orders(self) -> dict[int, Order]:
        """The in-memory venue's orders by submission index."""
        return {i: self.memory.orders[o] for o, i in self.memory_index.items()}


def run_both(uow: EngineUnitOfWork, members: Sequence[User], world: World) -> TwoPaths:
    """Drive both paths through ``world``: orders after each revealed day, then the next day."""
    paths = TwoPaths.open(uow, members, world)
    rules = paths.memory.rules
    for t, specs in enumerate(world.orders):
        symbols = paths.symbols
        paths.place(
            [
                (spec.account, r)
                for spec in specs
                for r in resolve(spec, paths.memory, paths.accounts, symbols, rules)
            ]
        )
        if t < len(world.orders) - 1:
            paths.advance()
    paths.check_stored()
    return paths


def note_coverage(paths: TwoPaths) -> None:
    """What the example exercised, for ``--hypothesis-show-statistics``."""
    for code in sorted({refusal_code(o) or "admitted" for o in paths.placed}):
        event(f"placing: {code}")
    for order in paths.memory.orders.values():
        event(f"order ended: {order.status.value} {order.reason or ''}")
        if 0 < order.filled_qty and order.status is not OrderStatus.FILLED:
            event("order ended: partly filled")
    if count_day_trades(paths.memory.fills) >= 3:
        event("3+ day trades")
    event(f"fills: {min(len(paths.memory.fills), 20) // 5 * 5}+")


@pytest.fixture
def members(make_user: Callable[..., User]) -> list[User]:
    """Three members for every example (each example opens its own contest)."""
    return [make_user() for _ in range(3)]


# About 0.7 s of CPU per example on SQLite (up to 12 clock ticks), so 15 examples keep each
# backend near 10 s on a quiet machine and under a minute on a busy one.
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds())
def test_the_database_clock_and_the_in_memory_venue_trade_alike(
    database: Database, members: list[User], world: World
) -> None:
    note_coverage(run_both(EngineUnitOfWork(database.sessions), members, world))


# --- the pattern-day-trader window ------------------------------------------------------------


def _market_order(side: Side, size: tuple[str, int]) -> OrderSpec:
    return OrderSpec(0, 0, side, OrderType.MARKET, TimeInForce.DAY, size, 0, 0, None)


def weekdays(first: date, count: int) -> list[date]:
    days = [first + timedelta(days=n) for n in range(count * 2)]
    return [d for d in days if d.weekday() < 5][:count]


def pdt_world(gap: int) -> World:
    """A US account under $25,000 with the PDT rule: a buy fills on day 2, round trips (a buy
    and a sell of 10, both filling the next day) make day trades on days 3, 4 and 5, then
    ``gap`` days pass without an order, and a fourth round trip fills on day 6 + ``gap``."""
    days = weekdays(date(2024, 3, 4), 7 + gap)
    bars = tuple(Bar("AA", day, D(100), D(101), D(99), D(100), 1_000_000) for day in days)
    hold, round_trip = (
        _market_order(Side.BUY, ("lots", 50)),
        _market_order(Side.BUY, ("round_trip", 10)),
    )
    orders: list[tuple[OrderSpec, ...]] = [(hold,), (round_trip,), (round_trip,), (round_trip,)]
    orders += [()] * gap + [(round_trip,)]
    orders += [()] * (len(days) - len(orders))
    return World(
        Market.US,
        {"pattern_day_trader": True},
        (Instrument("AA", "AA", Market.US, Board.MAIN, "USD", 1),),
        bars,
        D(20_000),
        1,
        tuple(orders),
    )


@pytest.mark.parametrize(("gap", "refused"), [(1, True), (2, False)])
def test_the_pdt_window_is_the_four_trading_days_before_in_both_paths(
    database: Database, members: list[User], gap: int, refused: bool
) -> None:
    paths = run_both(EngineUnitOfWork(database.sessions), members, pdt_world(gap))
    attempt_day = paths.days[5 + gap]  # day 6 + gap, counted from 1
    db_orders, memory_orders = paths.db_orders(), paths.memory_orders()
    last_sell = max(i for i, o in memory_orders.items() if o.side is Side.SELL)
    expected = Reason.PATTERN_DAY_TRADER if refused else None
    assert memory_orders[last_sell].reason is expected
    assert db_orders[last_sell].reason is expected
    fills = paths.memory.fills
    assert count_day_trades(fills) == (3 if refused else 4)
    # The window before the attempt: the four trading days before it, holding the day trades
    # of days 3–5 when gap is 1 (three: refused) and of days 4–5 when gap is 2 (two: allowed).
    window = paths.days[1 + gap : 5 + gap]
    assert count_day_trades([f for f in fills if f.day in window]) == (3 if refused else 2)
    # The old database rule counted the four last days *with fills* before the attempt, days
    # 2–5 whatever the gap: three day trades, so it refused the sell of day 8 (gap 2) that the
    # trading-day window, and the in-memory venue, allow.
    days_with_fills = sorted({f.day for f in fills if f.day < attempt_day})[-4:]
    assert days_with_fills == paths.days[1:5]
    old_count = count_day_trades([f for f in fills if f.day in days_with_fills])
    assert old_count == 3 >= paths.memory.rules.pdt_max_day_trades
