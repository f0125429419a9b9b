"""Pure rules of minute bars: their checks and the daily bars they add up to.

A daily bar derived from minute bars takes, over one exchange-local day, the first minute's
open, the highest high, the lowest low, the last minute's close and the summed volume.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date

from engine.market.feeds import MinuteBar
from engine.market.model import Bar, InvalidBars, Symbol


def check_minute_bar(bar: MinuteBar, *, previous: MinuteBar | None = None) -> None:
    """Raise ``InvalidBars`` when ``bar`` breaks a rule (as ``check_bar``, per minute):
    ``timezone`` (its start is timezone-aware), ``whole_minute``, ``no_nan``,
    ``positive_price``, ``high_low``, ``volume``, ``monotonic_starts``."""
    where = f"{bar.symbol} {bar.start.isoformat()}"
    if bar.start.tzinfo is None or bar.start.utcoffset() is None:
        raise InvalidBars(f"{where}: start has no time zone", rule="timezone")
    if bar.start.second or bar.start.microsecond:
        raise InvalidBars(f"{where}: start is not a whole minute", rule="whole_minute")
    prices = (bar.open, bar.high, bar.low, bar.close)
    if not all(price.is_finite() for price in prices):
        raise InvalidBars(f"{where}: a price is not a number", rule="no_nan")
    if min(prices) <= 0:
        raise InvalidBars(f"{where}: a price is not positive", rule="positive_price")
    if not (bar.low <= min(bar.open, bar.close) and max(bar.open, bar.close) <= bar.high):
        raise InvalidBars(f"{where}: need low ≤ open, close ≤ high", rule="high_low")
    if bar.volume < 0:
        raise InvalidBars(f"{where}: volume {bar.volume} is negative", rule="volume")
    if previous is not None and previous.symbol == bar.symbol and bar.start <= previous.start:
        raise InvalidBars(
            f"{where}: does not follow {previous.start.isoformat()}", rule="monotonic_starts"
        )


def daily_from_minutes(
    bars: Iterable[MinuteBar], *, local_day: Callable[[MinuteBar], date]
) -> list[Bar]:
    """One daily bar per (symbol, exchange-local day) of ``bars`` (any order), ordered by
    (day, symbol): open of the first minute, max high, min low, close of the last, volume summed."""
    groups: dict[tuple[date, Symbol], list[MinuteBar]] = defaultdict(list)
    for bar in bars:
        groups[(local_day(bar), bar.symbol)].append(bar)
    daily = []
    for (day, symbol), minutes in sorted(groups.items()):
        minutes.sort(key=lambda m: m.start)
        daily.append(
            Bar(
                symbol=symbol,
                day=day,
                open=minutes[0].open,
                high=max(m.high for m in minutes),
                low=min(m.low for m in minutes),
                close=minutes[-1].close,
                volume=sum(m.volume for m in minutes),
            )
        )
    return daily
