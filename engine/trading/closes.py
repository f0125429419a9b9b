"""The closes a venue prices from: each universe symbol's last close at or before a day."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.market.corporate_actions import reference_price
from engine.trading.uow import TradingUnitOfWork
from engine.trading.venue import Venue


def last_closes(uow: TradingUnitOfWork, venue: Venue, day: date) -> dict[str, Decimal]:
    """Each universe symbol's close on ``day`` or, if it did not trade, its last before."""
    closes = {s: bar.close for s, bar in uow.market.bars_on(day, venue.universe).items()}
    return with_earlier_closes(uow, venue, closes, day, actions_through=day)


def closes_before(uow: TradingUnitOfWork, venue: Venue, day: date) -> dict[str, Decimal]:
    """Each universe symbol's last close before ``day``, the clock's next day: no universe bar
    lies between the clock's day and ``day``, so that day's bars give every symbol that
    traded on it."""
    if venue.clock_day is None or venue.clock_day >= day:
        return uow.market.previous_closes(venue.universe, day)
    bars = uow.market.bars_on(venue.clock_day, venue.universe)
    closes = {s: bar.close for s, bar in bars.items()}
    # ``day``'s own actions are the clock's to apply (``engine.trading.corporate``).
    return with_earlier_closes(uow, venue, closes, day, actions_through=venue.clock_day)


def with_earlier_closes(
    uow: TradingUnitOfWork,
    venue: Venue,
    closes: dict[str, Decimal],
    day: date,
    *,
    actions_through: date | None = None,
) -> dict[str, Decimal]:
    """``closes`` with the last close before ``day`` of the universe symbols it lacks; such a
    close is carried over the corporate actions with an ex-date after it, up to
    ``actions_through``, so a symbol suspended across its split is not marked at the old
    price against the new share count."""
    missing = [s for s in venue.universe if s not in closes]
    if not missing:
        return closes
    # a suspended symbol: one query over its earlier bars, one over its actions
    earlier = uow.market.previous_closes_dated(missing, day)
    carried = {s: close for s, (_, close) in earlier.items()}
    if actions_through is not None and earlier:
        first = min(bar_day for bar_day, _ in earlier.values())
        for _, action in uow.market.actions_between(earlier, first, actions_through):
            bar_day, _ = earlier[action.symbol]
            if action.ex_date > bar_day:
                carried[action.symbol] = reference_price(carried[action.symbol], [action])
    return {**carried, **closes}
