"""Bot trading styles: ``BuyAndHold``, ``SmaMomentum`` (fast/slow cross, long only, like
backtesting.py's ``SmaCross``), ``MeanReversion`` (z-score band), ``RandomTrader`` and
``IndexHugger`` (equal weight, rebalanced rarely); the rule-breaking ``OverTrader`` is in
``simulation.bots.over_trader``.

Sizes are whole lots that fit the buying power the order reserves (``reserve_for``).
Randomness comes from a ``random.Random`` seeded in the constructor: the same seed and the same
views give the same orders.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

from engine.trading.orders import OrderRequest, Side
from simulation.bots.sizing import Budget, crossed_above, market_order, whole_lots
from simulation.bots.views import Holdings, MarketView, Symbol


def _watch(market: MarketView, watchlist: Sequence[Symbol] | None) -> Sequence[Symbol]:
    if watchlist is None:
        return market.symbols
    return [s for s in watchlist if market.has(s)]


def _slot(market: MarketView, holdings: Holdings, invest: Decimal, slots: int) -> Decimal:
    """An equal share of equity for each of ``slots`` symbols (computed only on a signal)."""
    return holdings.equity(market) * invest / slots


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
        budget = Budget(market, holdings.buying_power)
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
        budget = Budget(market, holdings.buying_power)
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
        budget = Budget(market, holdings.buying_power)
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
        order = Budget(market, holdings.buying_power).buy(symbol, holdings.buying_power * fraction)
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
        budget = Budget(market, holdings.buying_power)
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
