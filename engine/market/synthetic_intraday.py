"""A seeded synthetic intraday market: minute bars inside the exchange's sessions, the
embedded default feed (it runs offline).

Each session day takes the daily bar of ``engine.market.synthetic.SyntheticMarket`` (the
i-th generated day becomes the i-th session, so overnight moves and CN price limits keep
their daily meaning) and draws a minute path that adds back up to it exactly: the first
minute opens at the day's open, the last closes at its close, the path touches the day's
high and low once each (at random minutes, in random order) and never leaves them, and the
day's volume is spread over the minutes in whole lots, heavier at the open and the close.
So daily bars derived from the minutes equal the daily synthetic bars, and a minute never
prints beyond the day's limit band. Prices are whole ticks of 0.01. The same seed, the same
instruments and the same sessions always give the same minutes, whatever is polled first.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from engine.market.feeds import FeedBatch, MinuteBar
from engine.market.model import Bar, Instrument, Market, Symbol
from engine.market.sessions import ExchangeSessions, TradingSession, sessions_for
from engine.market.synthetic import SyntheticMarket, _cents

SOURCE = "synthetic-intraday"
# Volume weight at the open and close against mid-session (the intraday "U").
U_SHAPE = 2.0


class SyntheticIntradayFeed:
    """Minute bars of ``instruments`` (one market) over the first ``sessions`` sessions of
    their exchange on or after ``start``, fixed by ``seed``."""

    name = SOURCE
    delay = timedelta(0)

    def __init__(
        self, instruments: Sequence[Instrument], *, seed: int, start: date, sessions: int
    ) -> None:
        markets = {instrument.market for instrument in instruments}
        if len(markets) > 1:
            raise ValueError("one market per synthetic intraday feed")
        self.instruments = list(instruments)
        self.seed = seed
        self.calendar: ExchangeSessions = sessions_for(next(iter(markets), Market.US))
        self.sessions: list[TradingSession] = _sessions_from(self.calendar, start, sessions)
        self._days = [s.day for s in self.sessions]
        daily = SyntheticMarket(self.instruments, seed=seed, start=start, days=len(self.sessions))
        session_of = dict(zip(daily.trading_days(), self._days, strict=True))
        index = {instrument.symbol: i for i, instrument in enumerate(self.instruments)}
        self._index = index
        self._lot = {i.symbol: i.lot_size for i in self.instruments}
        self._daily: dict[tuple[Symbol, date], Bar] = {}
        for bar in daily.all_bars():
            day = session_of[bar.day]
            self._daily[(bar.symbol, day)] = Bar(
                bar.symbol, day, bar.open, bar.high, bar.low, bar.close, bar.volume
            )
        self._minutes: dict[tuple[Symbol, date], list[MinuteBar]] = {}

    def daily_bars(self) -> list[Bar]:
        """The daily bars the minutes add up to, ordered by (day, symbol)."""
        return sorted(self._daily.values(), key=lambda b: (b.day, b.symbol))

    def minutes_of(self, symbol: Symbol, day: date) -> list[MinuteBar]:
        """The symbol's minute bars of session ``day``, oldest first (empty off-session)."""
        key = (symbol, day)
        if key not in self._minutes:
            bar = self._daily.get(key)
            position = bisect.bisect_left(self._days, day)
            if bar is None or position == len(self._days) or self._days[position] != day:
                return []
            rng = np.random.default_rng((self.seed, self._index[symbol], day.toordinal()))
            self._minutes[key] = _minute_path(
                bar, self.sessions[position].minutes(), lot=self._lot[symbol], rng=rng
            )
        return self._minutes[key]

    def all_minutes(self) -> list[MinuteBar]:
        """Every minute bar, ordered by (start, symbol)."""
        bars = [
            m
            for session in self.sessions
            for instrument in self.instruments
            for m in self.minutes_of(instrument.symbol, session.day)
        ]
        return sorted(bars, key=lambda m: (m.start, m.symbol))

    def poll(self, symbols: Sequence[Symbol], since: datetime, until: datetime) -> FeedBatch:
        """Bars with ``since <= start < until``; an unknown symbol is reported, not raised."""
        errors = {s: "not in this synthetic market" for s in symbols if s not in self._index}
        wanted = [s for s in dict.fromkeys(symbols) if s in self._index]
        days = [s.day for s in self.sessions if s.close > since and s.open < until]
        bars = [
            m
            for day in days
            for symbol in wanted
            for m in self.minutes_of(symbol, day)
            if since <= m.start < until
        ]
        bars.sort(key=lambda m: (m.start, m.symbol))
        return FeedBatch(bars=bars, errors=errors)


class LiveSyntheticFeed:
    """The synthetic feed of live minute contests (the offline default ``intraday_feed``):
    minute bars for any session, so the wall clock's session always has its bars.

    Each symbol trades on its own: a one-instrument ``SyntheticIntradayFeed`` over every
    session of a calendar year, seeded by ``seed`` and the symbol (CRC-32), so a symbol's
    minutes depend on nothing but the seed, the instrument and the day, whichever contests
    poll it and in whatever order. A year's path starts afresh on its first session."""

    name = SOURCE
    delay = timedelta(0)

    def __init__(self, instruments: Sequence[Instrument], *, seed: int) -> None:
        self.instruments = {i.symbol: i for i in instruments}
        self.seed = seed

    def poll(self, symbols: Sequence[Symbol], since: datetime, until: datetime) -> FeedBatch:
        """Bars with ``since <= start < until``; a symbol without an instrument is reported."""
        errors = {s: "no such instrument" for s in symbols if s not in self.instruments}
        bars: list[MinuteBar] = []
        for symbol in dict.fromkeys(s for s in symbols if s in self.instruments):
            instrument = self.instruments[symbol]
            calendar = sessions_for(instrument.market)
            first, last = calendar.local_day(since).year, calendar.local_day(until).year
            for year in range(first, last + 1):
                batch = _year_feed(instrument, self.seed, year).poll([symbol], since, until)
                bars += batch.bars
        bars.sort(key=lambda m: (m.start, m.symbol))
        return FeedBatch(bars=bars, errors=errors)


@lru_cache(maxsize=256)
def _year_feed(instrument: Instrument, seed: int, year: int) -> SyntheticIntradayFeed:
    calendar = sessions_for(instrument.market)
    start = date(year, 1, 1)
    count = len(calendar.trading_days(start, date(year, 12, 31)))
    symbol_seed = seed * 1_000_003 + zlib.crc32(instrument.symbol.encode())
    return SyntheticIntradayFeed([instrument], seed=symbol_seed, start=start, sessions=count)


def _sessions_from(calendar: ExchangeSessions, start: date, count: int) -> list[TradingSession]:
    if count < 0:
        raise ValueError("sessions must be >= 0")
    found: list[TradingSession] = []
    day = start
    while len(found) < count:
        session = calendar.session(day)
        if session is not None:
            found.append(session)
        day += timedelta(days=1)
    return found


def _minute_path(
    bar: Bar, starts: Sequence[datetime], *, lot: int, rng: np.random.Generator
) -> list[MinuteBar]:
    """Minute bars at ``starts`` whose open, high, low, close and volume add up to ``bar``."""
    n = len(starts)
    o, h, low, c = (int(p.scaleb(2)) for p in (bar.open, bar.high, bar.low, bar.close))
    points = _anchored_path(o, h, low, c, n, rng)  # n + 1 minute boundaries, in ticks
    step = max((h - low) / (2 * np.sqrt(n)), 1.0)
    up = np.abs(rng.normal(0, step / 2, n))
    down = np.abs(rng.normal(0, step / 2, n))
    opens, closes = points[:-1], points[1:]
    highs = np.minimum(np.maximum(opens, closes) + np.rint(up).astype(np.int64), h)
    lows = np.maximum(np.minimum(opens, closes) - np.rint(down).astype(np.int64), low)
    volumes = _spread_volume(bar.volume, n, lot=lot, rng=rng)
    return [
        MinuteBar(
            bar.symbol,
            starts[k],
            _cents(int(opens[k])),
            _cents(int(highs[k])),
            _cents(int(lows[k])),
            _cents(int(closes[k])),
            int(volumes[k]),
        )
        for k in range(n)
    ]


def _anchored_path(
    o: int, h: int, low: int, c: int, n: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """``n + 1`` prices from ``o`` to ``c`` that touch ``h`` and ``low`` and stay within them."""
    if n == 1:
        return np.array([o, c], dtype=np.int64)
    if n == 2:  # one inner boundary: the extreme the open and close do not already reach
        middle = h if max(o, c) < h else low
        return np.array([o, middle, c], dtype=np.int64)
    high_at, low_at = (int(k) for k in rng.choice(np.arange(1, n), size=2, replace=False))
    anchors = sorted([(0, o), (high_at, h), (low_at, low), (n, c)])
    step = max((h - low) / (2 * np.sqrt(n)), 1.0)
    path = np.empty(n + 1, dtype=np.int64)
    for (i0, a), (i1, b) in zip(anchors, anchors[1:], strict=False):
        length = i1 - i0
        walk = np.concatenate([[0.0], np.cumsum(rng.normal(0, step, length))])
        bridge = walk - np.linspace(0, 1, length + 1) * walk[-1]
        segment = np.linspace(a, b, length + 1) + bridge
        path[i0 : i1 + 1] = np.clip(np.rint(segment), low, h).astype(np.int64)
        path[i0], path[i1] = a, b
    return path


def _spread_volume(volume: int, n: int, *, lot: int, rng: np.random.Generator) -> npt.NDArray:
    """``volume`` split over ``n`` minutes in whole lots (the odd remainder in the last)."""
    x = np.linspace(-1, 1, n)
    weights = (1 + (U_SHAPE - 1) * x**2) * np.exp(rng.normal(0, 0.3, n))
    lots = rng.multinomial(volume // lot, weights / weights.sum()) * lot
    lots[-1] += volume - int(lots.sum())
    return lots
