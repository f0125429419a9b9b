"""The closes a venue prices from: each universe symbol's last close at or before a day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.trading.uow import TradingUnitOfWork
from engine.trading.venue import Venue


def last_closes(uow: TradingUnitOfWork, venue: Venue, day: date) -> dict[str, Decimal]:
    """Each universe symbol's close on ``day`` or, if it did not trade, its last before."""
    closes = {s: bar.close for s, bar in uow.market.bars_on(day, venue.universe).items()}
    return with_earlier_closes(uow, venue, closes, day)


def closes_before(uow: TradingUnitOfWork, venue: Venue, day: date) -> dict[str, Decimal]:
    """Each universe symbol's last close before ``day``, the clock's next day: no universe bar
    lies between the clock's day and ``day``, so that day's bars give every symbol that
    traded on it."""
    if venue.clock_day is None or venue.clock_day >= day:
        return uow.market.previous_closes(venue.universe, day)
    bars = uow.market.bars_on(venue.clock_day, venue.universe)
    return with_earlier_closes(uow, venue, {s: bar.close for s, bar in bars.items()}, day)


def with_earlier_closes(
    uow: TradingUnitOfWork, venue: Venue, closes: dict[str, Decimal], day: date
) -> dict[str, Decimal]:
    """``closes`` with the last close before ``day`` of the universe symbols it lacks."""
    missing = [s for s in venue.universe if s not in closes]
    if missing:  # a suspended symbol: one query over its earlier bars
        closes = {**uow.market.previous_closes(missing, day), **closes}
    return closes
