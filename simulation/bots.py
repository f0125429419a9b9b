"""Bot strategies: simple trading styles that see only what the clock has revealed.

A strategy is asked once per trading day, after the day's close, what to do on the next bar. It
gets a ``MarketView`` (per symbol the closes up to and including today, the last close, the lot,
the rules the contest trades under) and a ``Holdings`` view of its own account (cash, buying
power, quantities), and returns ``OrderRequest``s. It has no handle on the venue, the bars or
the clock: a ``MarketHistory`` is fed one revealed day at a time and its views end at that day,
so a strategy cannot read a price from after the clock.

Styles: ``BuyAndHold``, ``SmaMomentum`` (fast/slow cross, long only, like backtesting.py's
``SmaCross``), ``MeanReversion`` (z-score band), ``RandomTrader``, ``IndexHugger`` (equal weight,
rebalanced rarely) and ``OverTrader`` (many small orders, some deliberately against the rules so
the engine's refusals get exercised). Sizes are whole lots that fit the buying power the order
reserves (``reserve_for``), except where the over-trader breaks a rule on purpose. Randomness
comes from a ``random.Random`` seeded in the constructor: the same seed and the same views give
the same orders.

``BotDriver`` runs bots on an ``engine.trading.simulator.InMemoryVenue`` (tests, benchmarks);
the season simulation builds the same views from its services.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Protocol

import numpy as np
import numpy.typing as npt

from core.errors import RuleViolation
from engine.market.model import Instrument
from engine.trading.admission import OrderRefused, buying_power
from engine.trading.orders import Order, OrderRequest, OrderType, Reason, Side
from engine.trading.portfolio import ZERO, Portfolio
from engine.trading.rules import PriceBand, RulePack, round_to_tick
from engine.trading.simulator import InMemoryVenue

FloatArray = npt.NDArray[np.float64]
Symbol = str
# Closes are held as whole multiples of 0.0001 (the finest tick prices are tidied to).
UNITS_PER_PRICE = 10_000


# --- what a strategy sees ---------------------------------------------------------------------


class MarketView:
    """The market at the clock: closes of every symbol up to and including ``day``.

    ``closes(symbol)`` is a read-only float64 array, oldest first, ending today. ``sma`` and
    ``zscore`` are computed once per view for all symbols and shared by every strategy that
    reads the same view (a thousand members cost one indicator computation per day).

    Closes are kept as whole numbers of 0.0001 (``UNITS_PER_PRICE``), so a moving sum is exact
    and ``sma`` is one correctly rounded division of it: two averages equal as decimals are
    equal as floats, and a tie is never mistaken for a cross.
    """

    __slots__ = (
        "_cache",
        "_count",
        "_index",
        "_instruments",
        "_last",
        "day",
        "rules",
        "_units",
        "symbols",
    )

    def __init__(
        self,
        *,
        day: date,
        rules: RulePack,
        instruments: Mapping[Symbol, Instrument],
        units: FloatArray,
        last: Mapping[Symbol, Decimal],
    ) -> None:
        self.day = day
        self.rules = rules
        self._instruments = instruments
        # Closes in PRICE_UNITs, (symbols, days revealed); NaN before a symbol's first close.
        self._units = units
        self._count = units.shape[1]
        self._last = last
        self._index = {symbol: i for i, symbol in enumerate(instruments)}
        self._cache: dict[tuple[str, int, int], FloatArray] = {}
        # Symbols with at least one close, in the universe's order.
        self.symbols: tuple[Symbol, ...] = tuple(s for s in instruments if s in last)

    @property
    def days(self) -> int:
        """Trading days revealed so far (today included)."""
        return self._count

    def has(self, symbol: Symbol) -> bool:
        """Whether ``symbol`` has a close yet."""
        return symbol in self._last

    def index(self, symbol: Symbol) -> int:
        """Row of ``symbol`` in the arrays ``sma`` and ``zscore`` return."""
        return self._index[symbol]

    def closes(self, symbol: Symbol) -> FloatArray:
        row = self._units[self._index[symbol]]
        first = int(np.argmax(~np.isnan(row))) if row.size else 0
        closes = row[first:] / UNITS_PER_PRICE
        closes.flags.writeable = False
        return closes

    def last_close(self, symbol: Symbol) -> Decimal:
        return self._last[symbol]

    def lot(self, symbol: Symbol) -> int:
        return self.rules.lot_for(self._instruments[symbol].lot_size)

    def band(self, symbol: Symbol) -> PriceBand | None:
        """Tomorrow's limit-down and limit-up prices (from today's close), if the market has any."""
        return self.rules.price_band(self._instruments[symbol].board, self._last[symbol])

    def buy_price(self, symbol: Symbol) -> Decimal:
        """Cash a market buy reserves per share: limit-up, else the close plus the collar."""
        band = self.band(symbol)
        if band is not None:
            return band.up
        return self._last[symbol] * (1 + self.rules.market_collar)

    def sma(self, window: int, *, lag: int = 0) -> FloatArray:
        """Mean of the last ``window`` closes ending ``lag`` days ago, per symbol (NaN if short)."""
        key = ("sma", window, lag)
        if key not in self._cache:
            frame = self._window(window, lag)
            self._cache[key] = np.add.reduce(frame, axis=1) / (window * UNITS_PER_PRICE)
        return self._cache[key]

    def std(self, window: int, *, lag: int = 0) -> FloatArray:
        """Population standard deviation of the last ``window`` closes (NaN if short)."""
        key = ("std", window, lag)
        if key not in self._cache:
            frame = self._window(window, lag) / UNITS_PER_PRICE
            deviations = frame - self.sma(window, lag=lag)[:, None]
            self._cache[key] = np.sqrt(np.add.reduce(deviations * deviations, axis=1) / window)
        return self._cache[key]

    def zscore(self, window: int) -> FloatArray:
        """(close − sma) / std over the last ``window`` closes; NaN when short or flat."""
        key = ("z", window, 0)
        if key not in self._cache:
            std, mean = self.std(window), self.sma(window)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (self._units[:, self._count - 1] / UNITS_PER_PRICE - mean) / std
            self._cache[key] = np.where(std > 0, z, np.nan)
        return self._cache[key]

    def _window(self, window: int, lag: int) -> FloatArray:
        """Closes (in units) of the ``window`` days ending ``lag`` days ago; NaN when too few."""
        if window < 1 or lag < 0:
            raise ValueError("window must be ≥ 1 and lag ≥ 0")
        end = self._count - lag
        if end < window:
            return np.full((len(self._index), window), np.nan)
        return self._units[:, end - window : end]


class MarketHistory:
    """Closes recorded one revealed day at a time; each ``record`` returns that day's view.

    A symbol without a close on a day (suspended) keeps its previous close, as the venue does.
    """

    def __init__(self, instruments: Iterable[Instrument], rules: RulePack) -> None:
        self.rules = rules
        self.instruments = {i.symbol: i for i in instruments}
        self._row = {symbol: i for i, symbol in enumerate(self.instruments)}
        self._units = np.full((len(self._row), 64), np.nan)
        self._count = 0
        self._last: dict[Symbol, Decimal] = {}
        self._day: date | None = None

    @property
    def day(self) -> date | None:
        return self._day

    def record(self, day: date, closes: Mapping[Symbol, Decimal]) -> MarketView:
        """Add ``day``'s closes (days strictly increasing) and return the view at that day."""
        if self._day is not None and day <= self._day:
            raise ValueError(f"day {day} does not follow {self._day}")
        if self._count == self._units.shape[1]:
            grown = np.full((len(self._row), 2 * self._count), np.nan)
            grown[:, : self._count] = self._units
            self._units = grown
        column = self._units[:, self._count]
        if self._count:
            column[:] = self._units[:, self._count - 1]
        for symbol, close in closes.items():
            row = self._row.get(symbol)
            if row is not None:
                # Whole units (exact in float64 up to 2**53): the sums behind sma stay exact.
                column[row] = round(float(close * UNITS_PER_PRICE))
                self._last[symbol] = close
        self._count += 1
        self._day = day
        return self.view()

    def view(self) -> MarketView:
        if self._day is None:
            raise ValueError("no day recorded yet")
        return MarketView(
            day=self._day,
            rules=self.rules,
            instruments=self.instruments,
            units=self._units[:, : self._count],
            last=dict(self._last),
        )


@dataclass(frozen=True, slots=True)
class Holdings:
    """A strategy's own account: cash, buying power (cash not held by open orders or shorts),
    signed quantities per symbol (zero quantities left out)."""

    cash: Decimal
    buying_power: Decimal
    positions: Mapping[Symbol, Decimal] = field(default_factory=dict)

    def qty(self, symbol: Symbol) -> Decimal:
        return self.positions.get(symbol, ZERO)

    def equity(self, market: MarketView) -> Decimal:
        """Cash plus positions at today's closes."""
        return self.cash + sum(
            (qty * market.last_close(s) for s, qty in self.positions.items()), ZERO
        )

    @classmethod
    def of(
        cls,
        portfolio: Portfolio,
        open_orders: Sequence[Order],
        prices: Mapping[Symbol, Decimal],
        rules: RulePack,
    ) -> Holdings:
        return cls(
            cash=portfolio.cash,
            buying_power=buying_power(portfolio, open_orders, prices, rules),
            positions={s: p.qty for s, p in portfolio.positions.items() if p.qty},
        )


class Strategy(Protocol):
    """A trading style: today's view and holdings in, orders for the next bar out."""

    name: str

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]: ...


# --- sizing -----------------------------------------------------------------------------------


def whole_lots(budget: Decimal, price: Decimal, lot: int) -> Decimal:
    """The largest multiple of ``lot`` shares whose value at ``price`` is within ``budget``."""
    if budget <= 0 or price <= 0:
        return ZERO
    shares = (budget / price).to_integral_value(ROUND_FLOOR)
    return Decimal(int(shares) // lot * lot)


def reserve_for(market: MarketView, symbol: Symbol, qty: Decimal) -> Decimal:
    """Buying power a market buy of ``qty`` reserves: value at ``buy_price`` plus its fees."""
    value = qty * market.buy_price(symbol)
    return value + market.rules.fees(Side.BUY, value, market.day).total


def affordable_lots(market: MarketView, symbol: Symbol, budget: Decimal) -> Decimal:
    """Whole lots of ``symbol`` a market buy can reserve within ``budget``, fees included."""
    lot = market.lot(symbol)
    qty = whole_lots(budget, market.buy_price(symbol), lot)
    while qty > 0 and reserve_for(market, symbol, qty) > budget:
        qty -= lot  # a minimum commission can eat a lot or two of a small budget
    return qty


def market_order(symbol: Symbol, side: Side, qty: Decimal) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty)


def crossed_above(before: tuple[float, float], now: tuple[float, float]) -> bool:
    """a crossed above b: a < b on the previous day and a > b today (backtesting.py's rule)."""
    return before[0] < before[1] and now[0] > now[1]


class _Budget:
    """Buying power left within one decision, spent order by order."""

    def __init__(self, market: MarketView, available: Decimal) -> None:
        self.market = market
        self.left = available

    def buy(self, symbol: Symbol, budget: Decimal) -> OrderRequest | None:
        qty = affordable_lots(self.market, symbol, min(budget, self.left))
        if qty <= 0:
            return None
        self.left -= reserve_for(self.market, symbol, qty)
        return market_order(symbol, Side.BUY, qty)


def _watch(market: MarketView, watchlist: Sequence[Symbol] | None) -> Sequence[Symbol]:
    if watchlist is None:
        return market.symbols
    return [s for s in watchlist if market.has(s)]


def _slot(market: MarketView, holdings: Holdings, invest: Decimal, slots: int) -> Decimal:
    """An equal share of equity for each of ``slots`` symbols (computed only on a signal)."""
    return holdings.equity(market) * invest / slots


# --- styles -----------------------------------------------------------------------------------


class BuyAndHold:
    """Spread the buying power over ``picks`` symbols once (or over ``watchlist``), then hold."""

    name = "buy_and_hold"

    def __init__(
        self,
        watchlist: Sequence[Symbol] | None = None,
        *,
        picks: int = 5,
        seed: int = 0,
        invest: Decimal = Decimal(1),
    ) -> None:
        self.watchlist = tuple(watchlist) if watchlist is not None else None
        self.picks = picks
        self.invest = invest
        self._rng = random.Random(seed)
        self._done = False

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        if self._done:
            return []
        self._done = True
        if self.watchlist is not None:
            chosen = _watch(market, self.watchlist)
        else:
            universe = list(market.symbols)
            chosen = sorted(self._rng.sample(universe, min(self.picks, len(universe))))
        if not chosen:
            return []
        budget = _Budget(market, holdings.buying_power)
        slot = holdings.buying_power * self.invest / len(chosen)
        return [order for s in chosen if (order := budget.buy(s, slot)) is not None]


class SmaMomentum:
    """Long when the fast SMA crosses above the slow one, flat when it crosses below.

    Each watched symbol gets an equal slot of equity; a buy takes whole lots of its slot (at most
    the buying power left), a sell closes the whole position.
    """

    name = "sma_momentum"

    def __init__(
        self,
        watchlist: Sequence[Symbol] | None = None,
        *,
        fast: int = 10,
        slow: int = 20,
        invest: Decimal = Decimal(1),
    ) -> None:
        if not 1 <= fast < slow:
            raise ValueError("need 1 ≤ fast < slow")
        self.watchlist = tuple(watchlist) if watchlist is not None else None
        self.fast, self.slow, self.invest = fast, slow, invest

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        if market.days <= self.slow:
            return []
        fast, slow = market.sma(self.fast), market.sma(self.slow)
        fast_before, slow_before = market.sma(self.fast, lag=1), market.sma(self.slow, lag=1)
        symbols = _watch(market, self.watchlist)
        budget = _Budget(market, holdings.buying_power)
        orders: list[OrderRequest] = []
        for symbol in symbols:
            i = market.index(symbol)
            before, now = (fast_before[i], slow_before[i]), (fast[i], slow[i])
            held = holdings.qty(symbol)
            if held <= 0 and crossed_above(before, now):
                order = budget.buy(symbol, _slot(market, holdings, self.invest, len(symbols)))
                if order is not None:
                    orders.append(order)
            elif held > 0 and crossed_above(before[::-1], now[::-1]):
                orders.append(market_order(symbol, Side.SELL, held))
        return orders


class MeanReversion:
    """Buy when the close sits more than ``entry`` standard deviations below its ``window``-day
    mean; sell the position when it rises above ``exit`` deviations."""

    name = "mean_reversion"

    def __init__(
        self,
        watchlist: Sequence[Symbol] | None = None,
        *,
        window: int = 20,
        entry: float = 1.5,
        exit: float = 0.5,
        invest: Decimal = Decimal(1),
    ) -> None:
        if window < 2 or entry <= 0:
            raise ValueError("need window ≥ 2 and entry > 0")
        self.watchlist = tuple(watchlist) if watchlist is not None else None
        self.window, self.entry, self.exit, self.invest = window, entry, exit, invest

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        if market.days < self.window:
            return []
        z = market.zscore(self.window)
        symbols = _watch(market, self.watchlist)
        budget = _Budget(market, holdings.buying_power)
        orders: list[OrderRequest] = []
        for symbol in symbols:
            score = z[market.index(symbol)]
            held = holdings.qty(symbol)
            if held <= 0 and score < -self.entry:
                order = budget.buy(symbol, _slot(market, holdings, self.invest, len(symbols)))
                if order is not None:
                    orders.append(order)
            elif held > 0 and score > self.exit:
                orders.append(market_order(symbol, Side.SELL, held))
        return orders


class RandomTrader:
    """On a ``probability`` share of days, buys or sells a random symbol in a random size."""

    name = "random"

    def __init__(self, *, seed: int, probability: float = 0.2, max_fraction: float = 0.3) -> None:
        self.probability, self.max_fraction = probability, max_fraction
        self._rng = random.Random(seed)

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        rng = self._rng
        if rng.random() >= self.probability or not market.symbols:
            return []
        symbol = rng.choice(market.symbols)
        held, lot = holdings.qty(symbol), market.lot(symbol)
        if held > 0 and rng.random() < 0.5:
            whole = rng.random() < 0.3 or held < lot
            qty = held if whole else Decimal(rng.randint(1, int(held) // lot) * lot)
            return [market_order(symbol, Side.SELL, qty)]
        fraction = Decimal(str(round(rng.uniform(0.02, self.max_fraction), 4)))
        order = _Budget(market, holdings.buying_power).buy(symbol, holdings.buying_power * fraction)
        return [order] if order is not None else []


class IndexHugger:
    """Equal weight across the whole universe, rebalanced every ``every`` days.

    A rebalance sells overweights and buys underweights with the buying power at hand; sale
    proceeds only arrive with the next bar, so the day after a rebalance tops up the buys.
    """

    name = "index_hugger"

    def __init__(
        self, *, every: int = 20, tolerance: Decimal = Decimal("0.2"), invest: Decimal = Decimal(1)
    ) -> None:
        if every < 2:
            raise ValueError("rebalance at most every other day")
        self.every, self.tolerance, self.invest = every, tolerance, invest
        self._days = 0

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        phase = self._days % self.every
        self._days += 1
        if phase > 1 or not market.symbols:
            return []
        symbols = market.symbols
        target = holdings.equity(market) * self.invest / len(symbols)
        budget = _Budget(market, holdings.buying_power)
        sells: list[OrderRequest] = []
        buys: list[OrderRequest] = []
        for symbol in symbols:
            value = holdings.qty(symbol) * market.last_close(symbol)
            if phase == 0 and value > target * (1 + self.tolerance):
                lot = market.lot(symbol)
                excess = whole_lots(value - target, market.last_close(symbol), lot)
                if excess > 0:
                    sells.append(market_order(symbol, Side.SELL, excess))
            elif value < target * (1 - self.tolerance):
                order = budget.buy(symbol, target - value)
                if order is not None:
                    buys.append(order)
        return sells + buys


class OverTrader:
    """Many small orders a day; a ``bad_share`` of them deliberately break a rule.

    The mistakes, each refused by admission with the reason in ``deliberate``: an odd lot
    (``lot_size``; a sub-precision quantity where the lot is 1), a limit price outside the price
    band (CN; elsewhere a price off the tick), a price off the tick, a sell of a symbol not held
    (when short selling is off). Good orders are one to three lots, market or limit near the
    close, within the buying power and the shares still free to sell.
    """

    name = "over_trader"

    def __init__(
        self,
        *,
        seed: int,
        orders_per_day: tuple[int, int] = (3, 8),
        bad_share: float = 0.25,
        order_fraction: float = 0.03,
    ) -> None:
        self.orders_per_day, self.bad_share, self.order_fraction = (
            orders_per_day,
            bad_share,
            order_fraction,
        )
        self._rng = random.Random(seed)
        self._count = 0
        self.deliberate: dict[str, Reason] = {}  # client_order_id → the refusal it invites

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        if not market.symbols:
            return []
        rng = self._rng
        budget = _Budget(market, holdings.buying_power)
        free = {s: q for s, q in holdings.positions.items() if q > 0}
        orders: list[OrderRequest] = []
        for _ in range(rng.randint(*self.orders_per_day)):
            self._count += 1
            client_id = f"ot-{self._count}"
            if rng.random() < self.bad_share:
                mistake = self._mistake(market, holdings, client_id)
                if mistake is not None:
                    orders.append(mistake)
                continue
            order = self._good(market, holdings, budget, free, client_id)
            if order is not None:
                orders.append(order)
        return orders

    def _good(
        self,
        market: MarketView,
        holdings: Holdings,
        budget: _Budget,
        free: dict[Symbol, Decimal],
        client_id: str,
    ) -> OrderRequest | None:
        rng = self._rng
        sellable = sorted(s for s, q in free.items() if q >= market.lot(s) and s in market.symbols)
        if sellable and rng.random() < 0.4:
            symbol = rng.choice(sellable)
            lot = market.lot(symbol)
            qty = Decimal(rng.randint(1, min(3, int(free[symbol]) // lot)) * lot)
            free[symbol] -= qty
            return OrderRequest(symbol, Side.SELL, qty=qty, client_order_id=client_id)
        symbol = rng.choice(market.symbols)
        lots = rng.randint(1, 3)
        qty = Decimal(lots * market.lot(symbol))
        small = holdings.buying_power * Decimal(str(self.order_fraction))
        if reserve_for(market, symbol, qty) > min(small, budget.left):
            return None
        if rng.random() < 0.5:
            budget.left -= reserve_for(market, symbol, qty)
            return OrderRequest(symbol, Side.BUY, qty=qty, client_order_id=client_id)
        # A limit buy a little under the close: reserves qty × limit, which is less.
        under = Decimal(1) - Decimal(rng.randint(0, 3)) / 100
        limit = round_to_tick(market.last_close(symbol) * under, market.rules.tick_size)
        band = market.band(symbol)
        if limit <= 0 or (band is not None and not band.contains(limit)):
            return None
        value = qty * limit
        budget.left -= value + market.rules.fees(Side.BUY, value, market.day).total
        return OrderRequest(
            symbol,
            Side.BUY,
            type=OrderType.LIMIT,
            qty=qty,
            limit_price=limit,
            client_order_id=client_id,
        )

    def _mistake(
        self, market: MarketView, holdings: Holdings, client_id: str
    ) -> OrderRequest | None:
        rng = self._rng
        symbol = rng.choice(market.symbols)
        lot, last, tick = market.lot(symbol), market.last_close(symbol), market.rules.tick_size
        band = market.band(symbol)
        kinds = [Reason.LOT_SIZE, Reason.TICK_SIZE, Reason.OUTSIDE_PRICE_BAND]
        unheld = [s for s in market.symbols if holdings.qty(s) <= 0]
        if unheld and not market.rules.guards.short_selling:
            kinds.append(Reason.INSUFFICIENT_SELLABLE)
        kind = rng.choice(kinds)
        request: OrderRequest
        if kind is Reason.LOT_SIZE:
            if lot > 1:
                request = OrderRequest(symbol, Side.BUY, qty=Decimal(lot + lot // 2))
            else:
                kind = Reason.QTY_PRECISION
                decimals = market.rules.qty_decimals if market.rules.fractional else 0
                odd = Decimal(1) + Decimal(1).scaleb(-(decimals + 1))
                request = OrderRequest(symbol, Side.BUY, qty=odd)
        elif kind is Reason.OUTSIDE_PRICE_BAND and band is not None:
            above = round_to_tick(band.up * Decimal("1.05"), tick) + tick
            request = OrderRequest(
                symbol, Side.BUY, type=OrderType.LIMIT, qty=Decimal(lot), limit_price=above
            )
        elif kind is Reason.INSUFFICIENT_SELLABLE:
            request = OrderRequest(rng.choice(unheld), Side.SELL, qty=Decimal(lot))
        else:
            kind = Reason.TICK_SIZE
            off_tick = last + tick / 2
            request = OrderRequest(
                symbol, Side.BUY, type=OrderType.LIMIT, qty=Decimal(lot), limit_price=off_tick
            )
        self.deliberate[client_id] = kind
        return replace(request, client_order_id=client_id)


# --- running bots on an in-memory venue -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    account_id: int
    day: date
    request: OrderRequest
    reason: str  # the rule code (an engine.trading.orders.Reason value)


class BotDriver:
    """Each day: record the revealed closes, let every bot decide, submit its orders.

    ``venue`` must be started; ``run`` trades until the last bar. Refused orders are kept in
    ``refusals`` (a bot that breaks a rule is not an error); everything else propagates.
    """

    def __init__(self, venue: InMemoryVenue, bots: Mapping[int, Strategy]) -> None:
        if venue.tape.today is None:
            raise ValueError("start the venue before driving bots on it")
        self.venue = venue
        self.bots = dict(bots)
        self.history = MarketHistory(venue.instruments.values(), venue.rules)
        self.accepted = 0
        self.refusals: list[Refusal] = []
        self._open_ids: dict[int, list[int]] = defaultdict(list)
        self._seen = 0  # orders looked at so far (the venue numbers them 1, 2, 3 …)

    def step(self) -> None:
        """Decide and submit for the current day (the venue must still have a next bar)."""
        venue = self.venue
        day = venue.tape.today
        assert day is not None
        prices = venue.last_closes()
        market = self.history.record(day, prices)
        open_orders = self._open_orders()
        for account_id in sorted(self.bots):
            portfolio = venue.portfolios[account_id]
            holdings = Holdings.of(portfolio, open_orders[account_id], prices, venue.rules)
            for request in self.bots[account_id].decide(market, holdings):
                try:
                    venue.submit(account_id, request)
                except OrderRefused as refused:
                    self.refusals.append(Refusal(account_id, day, request, refused.reason.value))
                except RuleViolation as violation:
                    self.refusals.append(Refusal(account_id, day, request, violation.rule))
                else:
                    self.accepted += 1

    def _open_orders(self) -> dict[int, list[Order]]:
        """Open orders by account, reading only the orders placed since the last call (a scan
        of every order ever placed, once a day, would grow with the whole history)."""
        orders = self.venue.orders
        while self._seen + 1 in orders:
            self._seen += 1
            self._open_ids[orders[self._seen].account_id].append(self._seen)
        if len(orders) != self._seen:  # numbered otherwise: index everything again
            self._open_ids.clear()
            for order in orders.values():
                self._open_ids[order.account_id].append(order.id)
            self._seen = len(orders)
        result: dict[int, list[Order]] = defaultdict(list)
        for account_id, ids in self._open_ids.items():
            live = [orders[i] for i in ids if orders[i].status.is_open]
            self._open_ids[account_id] = [o.id for o in live]
            result[account_id] = live
        return result

    def run(self) -> None:
        """Trade every remaining day: decide at each close, fill on the next bar."""
        while self.venue.tape.has_next:
            self.step()
            self.venue.advance()
