"""A ``QuoteFeed`` polling Yahoo Finance's one-minute bars through ``yfinance`` (1.x).

Each poll asks ``Ticker.history(interval="1m", start=…, end=…)`` per symbol. What Yahoo allows
and what this module does about it:

- **Range**: 1m bars only for the last 30 days and at most 7 days per request (yfinance #356,
  #383, #959); a longer ``[since, until)`` is cut to its last 7 days, and a symbol's request
  starts after the last bar it already returned, so a polling loop asks for minutes only.
- **The minute in progress**: Yahoo's last row during the session is the current, still
  changing minute. Only bars that have ended (``start + 1 minute <= now``) are returned, so a
  bar never changes after the feed has handed it out.
- **Time zones**: yfinance indexes rows in the exchange's zone (America/New_York,
  Asia/Shanghai); every ``start`` here is converted to an aware UTC instant.
- **Delay** (``delay``): Yahoo's exchange list states 30 minutes for Shanghai (.SS) and
  Shenzhen (.SZ) and real-time for NYSE and Nasdaq (US symbols); ``delay`` is the largest
  for the markets the feed serves, and ``delay_of(symbol)`` gives one symbol's.
- **Failures**: HTTP 429 (``YFRateLimitError``), network errors and empty or broken answers
  put that symbol in ``FeedBatch.errors`` and into exponential backoff with full jitter
  (``base × 2^(failures−1)``, capped, times a random factor in [0.5, 1]): its next
  attempts are skipped (and reported) until its retry time, while every other symbol is
  polled as usual; one success resets it. The clock and the random source are injectable.
- **Money**: prices go through ``str`` to ``Decimal`` (no binary noise), four places.

Yahoo data is for personal use; an operator should bring licensed data for production.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.market.feeds import ONE_MINUTE, FeedBatch, MinuteBar
from engine.market.model import Market, Symbol, instrument_for
from engine.market.yfinance_source import _configure_yfinance, _decimal

# Yahoo's stated delay per market (its "exchanges and data providers" list).
YAHOO_DELAY = {Market.CN: timedelta(minutes=30), Market.US: timedelta(0)}
MAX_SPAN = timedelta(days=7)  # Yahoo: at most 7 days of 1m bars per request
MAX_AGE = timedelta(days=30)  # Yahoo: 1m bars only for the last 30 days


@dataclass(slots=True)
class _Backoff:
    failures: int = 0
    retry_at: datetime | None = None


class YFinanceIntradayFeed:
    """Minute bars from Yahoo Finance (module docstring): a ``QuoteFeed``.

    ``clock`` gives the current UTC time, ``jitter`` a float in [0, 1) (``random.random``);
    ``base_backoff`` and ``max_backoff`` bound a failing symbol's wait. The backoff never
    sleeps: a polling loop keeps its own pace, and a failing symbol is skipped until its
    retry time (sleeping would hold up every other symbol). ``session`` is a
    curl_cffi session for yfinance (tests pass one replaying recorded responses).
    """

    name = "yfinance-1m"

    def __init__(
        self,
        *,
        markets: Sequence[Market] = (Market.US, Market.CN),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter: Callable[[], float] = random.random,
        base_backoff: timedelta = timedelta(seconds=5),
        max_backoff: timedelta = timedelta(minutes=10),
        session: Any = None,
        cache_dir: str | Path | None = None,
        timeout: float = 20.0,
    ) -> None:
        import yfinance as yf

        if not markets:
            raise ValueError("a feed serves at least one market")
        self.delay = max(YAHOO_DELAY[m] for m in markets)
        self.clock = clock
        self.jitter = jitter
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.session = session
        self.timeout = timeout
        self._yf = yf
        self._backoff: dict[Symbol, _Backoff] = {}
        self._last: dict[Symbol, datetime] = {}
        self.cache_dir = _configure_yfinance(cache_dir)

    def delay_of(self, symbol: Symbol) -> timedelta:
        """Yahoo's stated delay for ``symbol``'s market."""
        return YAHOO_DELAY[instrument_for(symbol, source=self.name).market]

    def retry_at(self, symbol: Symbol) -> datetime | None:
        """When a backing-off symbol is polled again (``None``: not backing off)."""
        return self._backoff.get(symbol, _Backoff()).retry_at

    def poll(self, symbols: Sequence[Symbol], since: datetime, until: datetime) -> FeedBatch:
        """Ended bars with ``since <= start < until`` (UTC-aware), oldest first; a failing or
        backing-off symbol is reported in ``errors`` and the others still come."""
        _require_aware(since, "since")
        _require_aware(until, "until")
        now = self.clock()
        bars: list[MinuteBar] = []
        errors: dict[Symbol, str] = {}
        for symbol in dict.fromkeys(symbols):  # once each, in the order asked
            state = self._backoff.setdefault(symbol, _Backoff())
            if state.retry_at is not None and now < state.retry_at:
                errors[symbol] = f"backing off after {state.failures} failures until " + (
                    state.retry_at.isoformat()
                )
                continue
            try:
                found = self._fetch(symbol, since, until, now)
            except Exception as error:  # one bad ticker never breaks the others
                errors[symbol] = self._failed(symbol, state, error, now)
                continue
            state.failures, state.retry_at = 0, None
            if found:
                self._last[symbol] = max(self._last.get(symbol, found[-1].start), found[-1].start)
            bars += found
        bars.sort(key=lambda b: (b.start, b.symbol))
        return FeedBatch(bars=tuple(bars), errors=errors)

    def _fetch(
        self, symbol: Symbol, since: datetime, until: datetime, now: datetime
    ) -> list[MinuteBar]:
        end = min(until, _floor_minute(now))  # the minute in progress is not a bar yet
        start = max(since, end - MAX_SPAN, now - MAX_AGE)
        last = self._last.get(symbol)
        if last is not None and last >= start:
            start = last + ONE_MINUTE
        if start >= end:
            return []
        from yfinance.exceptions import YFPricesMissingError

        try:
            frame = self._yf.Ticker(symbol, session=self.session).history(
                start=start,
                end=end,
                interval="1m",
                prepost=False,
                auto_adjust=False,
                actions=False,
                repair=False,
                timeout=self.timeout,
            )
        except YFPricesMissingError as error:
            if error.yahoo_reason is not None:  # "No data found, symbol may be delisted"
                raise
            return []  # a known symbol without trades in the range (market closed)
        return [b for b in minute_bars(symbol, frame) if start <= b.start and b.end <= end]

    def _failed(self, symbol: Symbol, state: _Backoff, error: Exception, now: datetime) -> str:
        state.failures += 1
        wait = min(self.max_backoff, self.base_backoff * 2 ** (state.failures - 1))
        wait *= 0.5 + self.jitter() / 2  # jitter: failing clients must not retry in step
        state.retry_at = now + wait
        reason = _reason(error)
        return f"{reason}; retry after {state.retry_at.isoformat()}"


def minute_bars(symbol: Symbol, frame: Any) -> list[MinuteBar]:
    """Rows of a yfinance 1m frame as minute bars, UTC starts, ``Decimal`` prices; rows with
    a missing price (Yahoo sends NaN for a minute without trades in some answers) are left
    out."""
    if frame is None or frame.empty:
        return []
    starts = [timestamp.to_pydatetime().astimezone(UTC) for timestamp in frame.index]
    columns = [frame[name].tolist() for name in ("Open", "High", "Low", "Close")]
    volumes = frame["Volume"].tolist()
    bars = []
    for i, start in enumerate(starts):
        prices = [_decimal(column[i]) for column in columns]
        if not all(p.is_finite() and p > 0 for p in prices):
            continue
        volume = volumes[i]
        bars.append(
            MinuteBar(
                symbol=symbol,
                start=start.replace(second=0, microsecond=0),
                open=prices[0],
                high=max(prices),
                low=min(prices),
                close=prices[3],
                volume=int(volume) if volume == volume else 0,
            )
        )
    return bars


def _reason(error: Exception) -> str:
    from yfinance.exceptions import YFRateLimitError

    if isinstance(error, YFRateLimitError):
        return "Yahoo rate limit (HTTP 429)"
    return f"{type(error).__name__}: {error}"


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC)")


__all__ = ["YAHOO_DELAY", "YFinanceIntradayFeed", "minute_bars"]
