"""Admission of a new order: every rule checked before anything is written.

``admit`` either returns the cash the order must reserve while it is open or raises
``OrderRefused`` naming the field and the reason code. Prices and sizes are checked against
the clock's last close: the next bar's price band comes from it, and nothing later is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal

from core.errors import RuleViolation
from engine.market.model import Instrument
from engine.trading.orders import Order, OrderRequest, OrderType, Reason, Side, TimeInForce
from engine.trading.portfolio import ZERO, Portfolio
from engine.trading.rules import PriceBand, RulePack

MAX_QTY = Decimal(10) ** 12
MAX_NOTIONAL = Decimal(10) ** 13
PRICED = {OrderType.LIMIT: ("limit_price",), OrderType.STOP: ("stop_price",)}


class OrderRefused(RuleViolation):
    """A 422 whose ``rule`` is the machine-readable reason code."""

    slug = "order-refused"
    title = "Order refused"

    def __init__(self, detail: str, *, field: str, reason: Reason) -> None:
        super().__init__(detail, field=field, rule=reason.value, reason=reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OrderContext:
    """What admission may look at: the account now and the market at the clock's last close."""

    day: date
    rules: RulePack
    instrument: Instrument
    last_close: Decimal
    band: PriceBand | None
    portfolio: Portfolio
    open_orders: Sequence[Order]
    orders_today: int
    prices: Mapping[str, Decimal]


def admit(request: OrderRequest, ctx: OrderContext) -> Decimal:
    """Check ``request``; return the cash it reserves (zero for sells of held shares)."""
    _check_shape(request, ctx.rules)
    _check_prices(request, ctx)
    _check_guards(request, ctx)
    if request.side is Side.SELL:
        return _check_sell(request, ctx)
    return _check_buy(request, ctx)


def _cents_up(amount: Decimal) -> Decimal:
    """Reservations are money: whole cents, rounded up so they always cover the estimate."""
    return amount.quantize(Decimal("0.01"), ROUND_CEILING)


def _check_shape(request: OrderRequest, rules: RulePack) -> None:
    if (request.qty is None) == (request.notional is None):
        raise OrderRefused(
            "give exactly one of qty and notional", field="qty", reason=Reason.INVALID_QTY
        )
    if request.notional is not None:
        _check_notional(request, rules)
        return
    qty = request.qty
    assert qty is not None
    if not qty.is_finite() or qty <= 0 or qty > MAX_QTY:
        raise OrderRefused(
            f"qty must be a positive number up to {MAX_QTY}", field="qty", reason=Reason.INVALID_QTY
        )
    decimals = rules.qty_decimals if rules.fractional else 0
    if qty != qty.quantize(Decimal(1).scaleb(-decimals)):
        raise OrderRefused(
            "this market trades whole shares"
            if decimals == 0
            else f"qty has more than {decimals} decimal places",
            field="qty",
            reason=Reason.QTY_PRECISION,
        )


def _check_notional(request: OrderRequest, rules: RulePack) -> None:
    notional = request.notional
    assert notional is not None
    if not rules.notional_orders:
        raise OrderRefused(
            "this market takes quantities, not notional amounts",
            field="notional",
            reason=Reason.NOTIONAL_NOT_ALLOWED,
        )
    if request.type is not OrderType.MARKET or request.time_in_force is not TimeInForce.DAY:
        raise OrderRefused(
            "notional orders must be market orders with time_in_force day",
            field="notional",
            reason=Reason.NOTIONAL_NOT_ALLOWED,
        )
    if not notional.is_finite() or notional < 1 or notional > MAX_NOTIONAL:
        raise OrderRefused(
            f"notional must be between 1 and {MAX_NOTIONAL}",
            field="notional",
            reason=Reason.INVALID_QTY,
        )
    if notional != notional.quantize(Decimal("0.01")):
        raise OrderRefused(
            "notional is money: at most 2 decimal places",
            field="notional",
            reason=Reason.QTY_PRECISION,
        )


def _check_prices(request: OrderRequest, ctx: OrderContext) -> None:
    needs_limit = request.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = request.type in (OrderType.STOP, OrderType.STOP_LIMIT)
    for name, needed, reason in (
        ("limit_price", needs_limit, Reason.LIMIT_PRICE_REQUIRED),
        ("stop_price", needs_stop, Reason.STOP_PRICE_REQUIRED),
    ):
        price: Decimal | None = getattr(request, name)
        if price is None:
            if needed:
                raise OrderRefused(
                    f"a {request.type.value} order needs {name}", field=name, reason=reason
                )
            continue
        if not needed:
            raise OrderRefused(
                f"a {request.type.value} order takes no {name}",
                field=name,
                reason=Reason.PRICE_NOT_ALLOWED,
            )
        _check_price(name, price, ctx)


def _check_price(name: str, price: Decimal, ctx: OrderContext) -> None:
    tick = ctx.rules.tick_size
    if not price.is_finite() or price <= 0 or price > MAX_QTY:
        raise OrderRefused(f"{name} must be a positive price", field=name, reason=Reason.TICK_SIZE)
    if price % tick != 0:
        raise OrderRefused(
            f"{name} must be a multiple of the tick {tick}", field=name, reason=Reason.TICK_SIZE
        )
    band = ctx.band
    if band is not None and not band.contains(price):
        raise OrderRefused(
            f"{name} {price} is outside today's price band {band.down}–{band.up}",
            field=name,
            reason=Reason.OUTSIDE_PRICE_BAND,
        )


def _check_guards(request: OrderRequest, ctx: OrderContext) -> None:
    guards = ctx.rules.guards
    if guards.max_orders_per_day is not None and ctx.orders_today >= guards.max_orders_per_day:
        raise OrderRefused(
            f"at most {guards.max_orders_per_day} orders per trading day",
            field="symbol",
            reason=Reason.MAX_ORDERS_PER_DAY,
        )
    if (
        request.side is Side.BUY
        and guards.min_price is not None
        and ctx.last_close < guards.min_price
    ):
        raise OrderRefused(
            f"{request.symbol} last closed at {ctx.last_close}, under the contest's minimum "
            f"price {guards.min_price}",
            field="symbol",
            reason=Reason.MIN_PRICE,
        )


def _check_sell(request: OrderRequest, ctx: OrderContext) -> Decimal:
    position = ctx.portfolio.positions.get(request.symbol)
    held = position.qty if position is not None and position.qty > 0 else ZERO
    committed = sum((o.remaining_qty or ZERO for o in _open(ctx, request.symbol, Side.SELL)), ZERO)
    available = max(ZERO, held - committed)
    qty = request.qty if request.qty is not None else _notional_qty(request, ctx)
    lot = ctx.rules.lot_for(ctx.instrument.lot_size)
    whole_position = qty == available and available == held
    if lot > 1 and qty % lot != 0 and not (ctx.rules.odd_lot_sell_whole_only and whole_position):
        raise OrderRefused(
            f"sell in multiples of {lot} shares (an odd lot only when selling the whole position)",
            field="qty",
            reason=Reason.LOT_SIZE,
        )
    if qty <= available:
        return ZERO
    if not ctx.rules.guards.short_selling:
        raise OrderRefused(
            f"only {available} {request.symbol} can be sold now (held {held}, already in open "
            f"sell orders {committed})",
            field="qty",
            reason=Reason.INSUFFICIENT_SELLABLE,
        )
    short_value = (qty - available) * _reference_price(request, ctx)
    margin = _cents_up(short_value * ctx.rules.guards.margin_requirement)
    _check_buying_power(margin, request, ctx)
    _check_position_limit(request, qty, ctx)
    return margin


def _check_buy(request: OrderRequest, ctx: OrderContext) -> Decimal:
    price = _reference_price(request, ctx)
    if request.notional is not None:
        value = request.notional
    else:
        assert request.qty is not None
        lot = ctx.rules.lot_for(ctx.instrument.lot_size)
        if lot > 1 and request.qty % lot != 0:
            raise OrderRefused(
                f"buy in multiples of {lot} shares", field="qty", reason=Reason.LOT_SIZE
            )
        value = request.qty * price
    reserve = _cents_up(value + ctx.rules.fees(Side.BUY, value, ctx.day).total)
    _check_buying_power(reserve, request, ctx)
    _check_position_limit(request, value / price, ctx)
    return reserve


def _check_buying_power(reserve: Decimal, request: OrderRequest, ctx: OrderContext) -> None:
    power = buying_power(ctx.portfolio, ctx.open_orders, ctx.prices, ctx.rules)
    if reserve > power:
        raise OrderRefused(
            f"this order needs {reserve.quantize(Decimal('0.01'))} of buying power; "
            f"{power.quantize(Decimal('0.01'))} is available",
            field="notional" if request.notional is not None else "qty",
            reason=Reason.INSUFFICIENT_BUYING_POWER,
        )


def _check_position_limit(request: OrderRequest, qty: Decimal, ctx: OrderContext) -> None:
    limit = ctx.rules.guards.max_position_pct
    if limit is None:
        return
    after = ctx.portfolio.qty(request.symbol) + qty * request.side.sign
    equity = ctx.portfolio.equity(ctx.prices)
    exposure = abs(after) * ctx.last_close
    if equity <= 0 or exposure > equity * limit:
        raise OrderRefused(
            f"the position would be {exposure.quantize(Decimal('0.01'))}, over "
            f"{limit:%} of equity {equity.quantize(Decimal('0.01'))}",
            field="qty",
            reason=Reason.MAX_POSITION,
        )


def buying_power(
    portfolio: Portfolio,
    open_orders: Sequence[Order],
    prices: Mapping[str, Decimal],
    rules: RulePack,
) -> Decimal:
    """Cash not held by open orders nor by the margin of short positions."""
    reserved = sum((o.reserved_cash for o in open_orders if o.status.is_open), ZERO)
    short = portfolio.short_requirement(prices, rules.guards.margin_requirement)
    return portfolio.cash - reserved - short


def _reference_price(request: OrderRequest, ctx: OrderContext) -> Decimal:
    """The worst price the order could plausibly fill at, for reservations and limits."""
    if request.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        assert request.limit_price is not None
        return request.limit_price
    if ctx.band is not None:
        return ctx.band.up if request.side is Side.BUY else ctx.last_close
    anchor = max(ctx.last_close, request.stop_price or ZERO)
    return anchor * (1 + ctx.rules.market_collar) if request.side is Side.BUY else anchor


def _notional_qty(request: OrderRequest, ctx: OrderContext) -> Decimal:
    assert request.notional is not None
    return request.notional / ctx.last_close


def _open(ctx: OrderContext, symbol: str, side: Side) -> list[Order]:
    return [o for o in ctx.open_orders if o.symbol == symbol and o.side is side]
