"""A seeded synthetic market: a universe of ``SIM-`` instruments and their daily bars.

Returns follow a factor model, ``r = drift + v_t·(β·market + sector + σ·idiosyncratic) + jumps``,
where ``v_t`` is a two-state Markov regime (calm / turbulent), so stocks of one sector move
together more than stocks of different sectors and volatility clusters. Volume is log-normal
and rises with the size of the move. Prices are whole ticks of 0.01. A-share bars respect the
board's daily price limit from the previous close (±10% main, ±20% ChiNext/STAR, ±30% Beijing,
±5% ST, ``prev_close × (1 ± pct)`` rounded half up to the tick, as SZSE publishes it), so
limit-up and limit-down days occur. The same seed and instruments always give the same bars.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from engine.market.model import (
    CURRENCY,
    LOT_SIZE,
    Bar,
    Board,
    Instrument,
    Market,
    Symbol,
    UnknownSymbol,
)
from engine.trading.rules import CN_PRICE_LIMITS

PREFIX = "SIM-"

CN_SECTORS = (
    "Banks",
    "Liquor & Beverages",
    "Semiconductors",
    "New Energy",
    "Pharmaceuticals",
    "Real Estate",
    "Consumer Electronics",
    "Machinery",
)
US_SECTORS = (
    "Technology",
    "Financials",
    "Health Care",
    "Energy",
    "Consumer Discretionary",
    "Industrials",
    "Utilities",
    "Communication Services",
)
_CN_WORDS = ("Hua", "Zhong", "Xin", "Tian", "Jin", "Hai", "Long", "Feng", "Kang", "Rui", "Heng")
_CN_SUFFIX = ("Tech", "Holdings", "Industrial", "Group", "Co.", "Shares")
_US_WORDS = ("Apex", "Blue", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iron")
_US_SUFFIX = ("Systems", "Holdings", "Corp", "Labs", "Industries", "Networks", "Brands")

# Board mix of a CN universe and the first code of each board's number range.
_CN_BOARD_SHARE = ((Board.MAIN, 0.55), (Board.CHINEXT, 0.2), (Board.STAR, 0.15), (Board.ST, 0.1))
_CN_FIRST_CODE = {Board.MAIN: 600001, Board.ST: 600001, Board.CHINEXT: 300001, Board.STAR: 688001}


def synthetic_universe(market: Market, count: int, *, seed: int) -> list[Instrument]:
    """``count`` instruments of ``market`` with ``SIM-`` symbols, spread evenly over sectors.

    CN: a mix of main-board (``SIM-6000xx``), ChiNext (``SIM-3000xx``), STAR (``SIM-6880xx``)
    and ST stocks (main-board codes, names starting "ST "), lots of 100, CNY. US: letter
    tickers, lot 1, USD.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = np.random.default_rng(seed)
    sectors = CN_SECTORS if market is Market.CN else US_SECTORS
    offset = int(rng.integers(len(sectors)))
    boards = _cn_boards(count, rng) if market is Market.CN else [Board.MAIN] * count
    next_code = dict(_CN_FIRST_CODE)
    taken: set[str] = set()
    instruments = []
    for index, board in enumerate(boards):
        sector = sectors[(index + offset) % len(sectors)]
        if market is Market.CN:
            symbol = f"{PREFIX}{next_code[board]:06d}"
            next_code[board] += 1
            # Main and ST share the main-board number range.
            if board in (Board.MAIN, Board.ST):
                next_code[Board.MAIN] = next_code[Board.ST] = next_code[board]
            name = f"{rng.choice(_CN_WORDS)}{rng.choice(_CN_WORDS).lower()} {sector.split()[0]}"
            if board is Board.ST:
                name = f"ST {name}"
        else:
            symbol = _us_ticker(rng, taken)
            name = f"{rng.choice(_US_WORDS)} {rng.choice(_US_SUFFIX)}"
        taken.add(symbol)
        instruments.append(
            Instrument(
                symbol=symbol,
                name=name,
                market=market,
                board=board,
                currency=CURRENCY[market],
                lot_size=LOT_SIZE[market],
                sector=sector,
                source="synthetic",
            )
        )
    return sorted(instruments, key=lambda instrument: instrument.symbol)


def _cn_boards(count: int, rng: np.random.Generator) -> list[Board]:
    """Boards in their shares of ``count`` (each present from four stocks on), shuffled."""
    quotas = {board: int(share * count) for board, share in _CN_BOARD_SHARE}
    if count >= len(quotas):
        quotas = {board: max(quota, 1) for board, quota in quotas.items()}
    quotas[Board.MAIN] = count - sum(q for b, q in quotas.items() if b is not Board.MAIN)
    boards = [board for board, quota in quotas.items() for _ in range(quota)]
    order = rng.permutation(len(boards))
    return [boards[i] for i in order]


def _us_ticker(rng: np.random.Generator, taken: set[str]) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while True:
        length = int(rng.integers(2, 5))
        symbol = PREFIX + "".join(letters[i] for i in rng.integers(0, 26, size=length))
        if symbol not in taken:
            return symbol


def weekdays(start: date, count: int) -> list[date]:
    """The first ``count`` Monday–Friday dates on or after ``start`` (no holidays)."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass(frozen=True, slots=True)
class Dynamics:
    """Parameters of the return and volume model (daily units)."""

    drift: float = 0.0003
    market_vol: float = 0.009
    sector_vol: float = 0.008
    idio_vol: tuple[float, float] = (0.008, 0.018)
    # Regime: P(calm → turbulent), P(turbulent → calm), volatility multiplier when turbulent.
    to_turbulent: float = 0.03
    to_calm: float = 0.12
    turbulent_scale: float = 2.4
    jump_probability: float = 0.012
    jump_vol: float = 0.07
    growth_scale: float = 1.5  # idiosyncratic and jump volatility of ChiNext / STAR stocks
    # Part of the day's move that happens overnight (the open's gap from the previous close).
    gap_share: float = 0.35
    wick_vol: float = 0.6  # high/low excursions beyond open/close, in units of the day's vol
    volume_noise: float = 0.35
    volume_move_gain: float = 20.0  # volume × (1 + gain·|return|)


class SyntheticMarket:
    """Daily bars for ``instruments`` over ``days`` weekdays from ``start``, fixed by ``seed``.

    All bars are generated once, in integer ticks of 0.01, at construction (100 symbols ×
    250 days take a few milliseconds); ``daily_bars`` and ``all_bars`` read them.
    """

    name = "synthetic"

    def __init__(
        self,
        instruments: Sequence[Instrument],
        *,
        seed: int,
        start: date,
        days: int,
        dynamics: Dynamics | None = None,
    ) -> None:
        if days < 0:
            raise ValueError("days must be >= 0")
        self.instruments = list(instruments)
        self.seed = seed
        self.dynamics = dynamics or Dynamics()
        self._days = weekdays(start, days)
        self._column = {instrument.symbol: i for i, instrument in enumerate(self.instruments)}
        if len(self._column) != len(self.instruments):
            raise ValueError("duplicate symbols in the instruments")
        self._by_symbol = sorted(self._column.items())
        rng = np.random.default_rng(seed)
        self.regimes = _regimes(rng, days, self.dynamics)
        self.reference = _initial_prices(rng, self.instruments)
        self._ohlc, self._volume = _simulate(
            rng, self.instruments, self.regimes, self.reference, self.dynamics
        )

    def trading_days(self) -> list[date]:
        return list(self._days)

    def daily_bars(self, symbol: Symbol, start: date, end: date) -> list[Bar]:
        """The symbol's bars with ``start <= day <= end``, oldest first."""
        column = self._column.get(symbol)
        if column is None:
            raise UnknownSymbol(symbol, f"{symbol!r} is not in this synthetic market")
        first = bisect.bisect_left(self._days, start)
        last = bisect.bisect_right(self._days, end)
        o, h, low, c = (self._ohlc[k, first:last, column].tolist() for k in range(4))
        volume = self._volume[first:last, column].tolist()
        return [
            Bar(symbol, day, _cents(o[i]), _cents(h[i]), _cents(low[i]), _cents(c[i]), volume[i])
            for i, day in enumerate(self._days[first:last])
        ]

    def all_bars(self) -> list[Bar]:
        """Every bar, ordered by (day, symbol)."""
        columns = [column for _, column in self._by_symbol]
        symbols = [symbol for symbol, _ in self._by_symbol]
        o, h, low, c = (self._ohlc[k][:, columns].tolist() for k in range(4))
        volume = self._volume[:, columns].tolist()
        return [
            Bar(
                symbol,
                day,
                _cents(o[t][j]),
                _cents(h[t][j]),
                _cents(low[t][j]),
                _cents(c[t][j]),
                volume[t][j],
            )
            for t, day in enumerate(self._days)
            for j, symbol in enumerate(symbols)
        ]


@lru_cache(maxsize=1 << 16)
def _cents(ticks: int) -> Decimal:
    """Ticks of 0.01 as a price (cached: the same prices recur across bars)."""
    return Decimal(ticks).scaleb(-2)


def _regimes(rng: np.random.Generator, days: int, dyn: Dynamics) -> npt.NDArray[np.bool_]:
    """Turbulent (True) or calm per day: a two-state Markov chain started calm."""
    draws = rng.random(days)
    turbulent = np.zeros(days, dtype=bool)
    state = False
    for t in range(days):
        state = draws[t] < (1 - dyn.to_calm if state else dyn.to_turbulent)
        turbulent[t] = state
    return turbulent


def _initial_prices(rng: np.random.Generator, instruments: Sequence[Instrument]) -> npt.NDArray:
    """The close before the first day, in ticks: log-uniform, lower for ST stocks."""
    low = np.array(
        [1.5 if i.board is Board.ST else (3 if i.market is Market.CN else 10) for i in instruments]
    )
    high = np.array(
        [8 if i.board is Board.ST else (120 if i.market is Market.CN else 400) for i in instruments]
    )
    price = np.exp(rng.uniform(np.log(low), np.log(high))) if len(instruments) else low
    return np.rint(price * 100).astype(np.int64)


def _simulate(
    rng: np.random.Generator,
    instruments: Sequence[Instrument],
    turbulent: npt.NDArray[np.bool_],
    reference: npt.NDArray[np.int64],
    dyn: Dynamics,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """OHLC ticks shaped (4, days, symbols) and volumes shaped (days, symbols)."""
    days, n = len(turbulent), len(instruments)
    sector_names = sorted({i.sector for i in instruments})
    sector_of = np.array([sector_names.index(i.sector) for i in instruments], dtype=np.int64)
    growth = np.array([i.board in (Board.CHINEXT, Board.STAR, Board.BEIJING) for i in instruments])
    beta = rng.uniform(0.6, 1.4, n)
    # ChiNext / STAR / Beijing growth stocks: more volatile, with bigger jumps (their wide
    # limits are hit).
    growth_scale = np.where(growth, dyn.growth_scale, 1.0)
    idio = rng.uniform(*dyn.idio_vol, n) * growth_scale
    base_volume = np.exp(rng.normal(np.log(3e6), 0.9, n))
    # Limits in whole percent (0 = none): exact integer arithmetic for the tick rounding.
    limit_pct = np.array(
        [int(CN_PRICE_LIMITS[i.board] * 100) if i.market is Market.CN else 0 for i in instruments],
        dtype=np.int64,
    )
    lot = np.array([i.lot_size for i in instruments], dtype=np.int64)

    scale = np.where(turbulent, dyn.turbulent_scale, 1.0)[:, None]
    market = rng.normal(0, dyn.market_vol, (days, 1))
    sector = rng.normal(0, dyn.sector_vol, (days, max(len(sector_names), 1)))[:, sector_of]
    noise = rng.normal(0, 1, (days, n)) * idio
    jumps = (rng.random((days, n)) < dyn.jump_probability) * rng.normal(0, dyn.jump_vol, (days, n))
    jumps *= growth_scale
    returns = dyn.drift + scale * (beta * market + sector + noise) + jumps
    day_vol = scale * np.sqrt((beta * dyn.market_vol) ** 2 + dyn.sector_vol**2 + idio**2)
    gaps = dyn.gap_share * returns + rng.normal(0, 0.3, (days, n)) * day_vol
    wick_up = np.abs(rng.normal(0, dyn.wick_vol, (days, n))) * day_vol
    wick_down = np.abs(rng.normal(0, dyn.wick_vol, (days, n))) * day_vol
    volume_noise = rng.normal(0, dyn.volume_noise, (days, n))

    ohlc = np.empty((4, days, n), dtype=np.int64)
    volume = np.empty((days, n), dtype=np.int64)
    limited = limit_pct > 0
    previous = reference.copy()
    for t in range(days):
        # prev × (100 ± pct) / 100, rounded half up: (x + 50) // 100 in integer ticks.
        up = np.where(limited, (previous * (100 + limit_pct) + 50) // 100, np.iinfo(np.int64).max)
        down = np.where(limited, (previous * (100 - limit_pct) + 50) // 100, 1)
        down = np.maximum(down, 1)
        close = np.clip(np.rint(previous * np.exp(returns[t])).astype(np.int64), down, up)
        open_ = np.clip(np.rint(previous * np.exp(gaps[t])).astype(np.int64), down, up)
        top, bottom = np.maximum(open_, close), np.minimum(open_, close)
        high = np.clip(np.rint(top * np.exp(wick_up[t])).astype(np.int64), top, up)
        low = np.clip(np.rint(bottom * np.exp(-wick_down[t])).astype(np.int64), down, bottom)
        move = np.abs(np.log(close / previous))
        shares = base_volume * np.exp(volume_noise[t]) * (1 + dyn.volume_move_gain * move)
        shares *= np.sqrt(scale[t])
        volume[t] = np.maximum(shares.astype(np.int64) // lot * lot, lot)
        ohlc[:, t] = open_, high, low, close
        previous = close
    return ohlc, volume
