"""What a bot strategy sees: a ``MarketView`` of the revealed closes and its own ``Holdings``.

A strategy is asked once per trading day, after the day's close, what to do on the next bar. It
gets a ``MarketView`` (per symbol the closes up to and including today, the last close, the lot,
the rules the contest trades under) and a ``Holdings`` view of its own account (cash, buying
power, quantities), and returns ``OrderRequest``s. It has no handle on the venue, the bars or
the clock: a ``MarketHistory`` is fed one revealed day at a time and its views end at that day,
so a strategy cannot read a price from after the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

import numpy as np
import numpy.typing as npt

from engine.market.model import Instrument
from engine.trading.admission import buying_power
from engine.trading.orders import Order, OrderRequest
from engine.trading.portfolio import ZERO, Portfolio
from engine.trading.rules import PriceBand, RulePack

FloatArray = npt.NDArray[np.float64]
Symbol = str
# Closes are held as whole multiples of 0.0001 (the finest tick prices are tidied to).
UNITS_PER_PRICE = 10_000


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
    A minute contest records one bar at a time (``record(day, closes, at=bar_start)``): its
    views count bars, not days.

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
        self._at: datetime | None = None

    @property
    def day(self) -> date | None:
        return self._day

    def record(
        self, day: date, closes: Mapping[Symbol, Decimal], *, at: datetime | None = None
    ) -> MarketView:
        """Add ``day``'s closes (days strictly increasing) and return the view at that day;
        ``at``: the start of the minute bar they close, for several bars a day (strictly
        increasing within the day)."""
        if self._day is not None and not _follows(day, at, self._day, self._at):
            raise ValueError(f"{at or day} does not follow {self._at or self._day}")
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
        self._day, self._at = day, at
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


def _follows(day: date, at: datetime | None, last_day: date, last_at: datetime | None) -> bool:
    if day != last_day:
        return day > last_day
    return at is not None and last_at is not None and at > last_at


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
