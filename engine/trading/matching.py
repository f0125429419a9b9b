"""Deterministic fill model: where and how much an order fills on one bar, daily or minute.

Daily and intraday trading share this one code path: ``match`` reads only a bar's open, high,
low and volume (``PriceBar``), which a daily ``Bar`` and a ``MinuteBar`` both have.

The rules (documented for members, see README "Fill model"):

- An order accepted while the clock is at bar t is first matched against bar t+1; the engine
  only ever passes bars the clock has reached, so nothing fills at a price from the future.
- market: the bar's open moved against the member by ``slippage_bps``, kept inside the bar.
- limit buy: fills when low ≤ limit, at min(open, limit); limit sell: high ≥ limit, at
  max(open, limit). No slippage: a limit price is a promise.
- stop buy: triggers when high ≥ stop and fills at max(open, stop) plus slippage; stop sell
  when low ≤ stop at min(open, stop) minus slippage. A stop triggered earlier acts as market.
- stop_limit: once triggered it is a limit order. Triggered at the open, the limit is tried on
  the same bar; triggered inside the bar with the limit on the far side of the stop, the bar
  cannot prove the price came back, so the worse outcome — no fill this bar — is taken.
- Price limits (CN): a buy never fills at limit-up and a sell never at limit-down (rqalpha);
  a market order that meets a locked limit is rejected, a limit order waits.
- Quantity: at most ``volume_participation`` × bar volume per order, rounded down to lots.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Protocol

from engine.trading.orders import Order, OrderRequest, OrderType, Reason, Side
from engine.trading.rules import PriceBand, RulePack

BPS = Decimal("0.0001")


class PriceBar(Protocol):
    """What matching reads of a bar: a daily ``Bar`` or an intraday ``MinuteBar``."""

    @property
    def open(self) -> Decimal: ...
    @property
    def high(self) -> Decimal: ...
    @property
    def low(self) -> Decimal: ...
    @property
    def close(self) -> Decimal: ...
    @property
    def volume(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of one order on one bar: a price to fill at, a trigger, or a rejection."""

    price: Decimal | None = None
    triggered: bool = False
    rejected: Reason | None = None


NO_MATCH = Match()


def match(order: Order, bar: PriceBar, rules: RulePack, band: PriceBand | None = None) -> Match:
    """Where ``order`` fills on ``bar`` (quantity is decided by ``executable_qty``)."""
    request = order.request
    if request.type is OrderType.MARKET:
        return _market(request.side, bar.open, bar, rules, band, reject=True)
    if request.type is OrderType.LIMIT:
        return _limit(request.side, _required(request.limit_price), bar, band)
    if request.type is OrderType.STOP:
        return _stop(order, _required(request.stop_price), bar, rules, band)
    return _stop_limit(order, bar, band)


def _market(
    side: Side,
    reference: Decimal,
    bar: PriceBar,
    rules: RulePack,
    band: PriceBand | None,
    *,
    reject: bool,
) -> Match:
    if band is not None and side is Side.BUY and reference >= band.up:
        return Match(rejected=Reason.LIMIT_UP) if reject else Match(triggered=True)
    if band is not None and side is Side.SELL and reference <= band.down:
        return Match(rejected=Reason.LIMIT_DOWN) if reject else Match(triggered=True)
    slip = rules.slippage_bps * BPS
    if side is Side.BUY:
        price = _to_tick(reference * (1 + slip), rules.tick_size, ROUND_CEILING)
        price = min(price, bar.high, band.up if band else price)
    else:
        price = _to_tick(reference * (1 - slip), rules.tick_size, ROUND_FLOOR)
        price = max(price, bar.low, band.down if band else price)
    return Match(price=price, triggered=True)


def _limit(side: Side, limit: Decimal, bar: PriceBar, band: PriceBand | None) -> Match:
    if side is Side.BUY:
        if bar.low > limit:
            return NO_MATCH
        price = min(bar.open, limit)
        locked = band is not None and price >= band.up
    else:
        if bar.high < limit:
            return NO_MATCH
        price = max(bar.open, limit)
        locked = band is not None and price <= band.down
    return NO_MATCH if locked else Match(price=price)


def _stop(
    order: Order, stop: Decimal, bar: PriceBar, rules: RulePack, band: PriceBand | None
) -> Match:
    side = order.request.side
    if order.triggered:
        reference = bar.open
    elif side is Side.BUY and bar.high >= stop:
        reference = max(bar.open, stop)
    elif side is Side.SELL and bar.low <= stop:
        reference = min(bar.open, stop)
    else:
        return NO_MATCH
    return _market(side, reference, bar, rules, band, reject=False)


def _stop_limit(order: Order, bar: PriceBar, band: PriceBand | None) -> Match:
    request = order.request
    side, stop, limit = request.side, _required(request.stop_price), _required(request.limit_price)
    if order.triggered or _crossed(side, bar.open, stop):
        outcome = _limit(side, limit, bar, band)
        return Match(price=outcome.price, triggered=True)
    if not _crossed(side, bar.high if side is Side.BUY else bar.low, stop):
        return NO_MATCH
    # Triggered inside the bar: the price stood at the stop; the limit fills only if it
    # admits the stop itself.
    admits = stop <= limit if side is Side.BUY else stop >= limit
    if not admits:
        return Match(triggered=True)
    locked = band is not None and (stop >= band.up if side is Side.BUY else stop <= band.down)
    return Match(price=None if locked else stop, triggered=True)


def _crossed(side: Side, price: Decimal, stop: Decimal) -> bool:
    return price >= stop if side is Side.BUY else price <= stop


def _required(price: Decimal | None) -> Decimal:
    if price is None:
        raise ValueError("order is missing a price its type requires")
    return price


def _to_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).quantize(Decimal(1), rounding) * tick


def executable_qty(
    remaining: Decimal,
    *,
    bar_volume: int,
    rules: RulePack,
    lot: int,
    decimals: int = 0,
) -> Decimal:
    """How much of ``remaining`` one bar can fill under the volume cap, in whole lots (or
    units of ``10^-decimals`` for fractional orders).

    The remainder of an odd lot (selling a whole position) fills only when no cap bites.
    """
    if rules.volume_participation is None:
        return remaining
    cap = Decimal(bar_volume) * rules.volume_participation
    if cap >= remaining:
        return remaining
    return round_down_to_lot(cap, lot=lot, decimals=decimals)


def qty_decimals(request: OrderRequest, rules: RulePack) -> int:
    """Decimal places a cut-down fill may have: whole-share orders stay whole."""
    if not rules.fractional:
        return 0
    if request.qty is not None and request.qty == request.qty.to_integral_value():
        return 0
    return rules.qty_decimals


def round_down_to_lot(qty: Decimal, *, lot: int, decimals: int = 0) -> Decimal:
    if lot > 1:
        return (qty / lot).to_integral_value(ROUND_DOWN) * lot
    return qty.quantize(Decimal(1).scaleb(-decimals), ROUND_DOWN)
