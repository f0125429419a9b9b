"""Intraday market data: minute bars and the quote-feed interface every source implements.

A minute bar's ``start`` is the UTC instant its minute opens (timezone-aware); the bar covers
``[start, start + 1 minute)``. Prices are ``Decimal``, volumes whole shares, as for daily bars.
A feed states its ``delay``: how far behind the exchange its quotes are (yfinance's free quotes
are delayed; a recorded tape or the synthetic generator has none). ``poll`` never raises for one
bad symbol: it reports that symbol in ``errors`` and returns the others' bars, so one bad ticker
never breaks the rest of the feed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from engine.market.model import Symbol

ONE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class MinuteBar:
    symbol: Symbol
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int

    @property
    def end(self) -> datetime:
        return self.start + ONE_MINUTE


@dataclass(frozen=True, slots=True)
class FeedBatch:
    """What one poll returned: new bars (oldest first) and, per failing symbol, why."""

    bars: Sequence[MinuteBar] = ()
    errors: Mapping[Symbol, str] = field(default_factory=dict)


class QuoteFeed(Protocol):
    """A source of minute bars: yfinance polling, a recorded tape, or the synthetic generator."""

    name: str
    delay: timedelta

    def poll(self, symbols: Sequence[Symbol], since: datetime, until: datetime) -> FeedBatch:
        """Bars with ``since <= start < until`` for ``symbols``, as far as the source has them."""
        ...
