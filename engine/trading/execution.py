"""One trading day: match open orders against the day's bars, for one account
(``execute_day``) or for every account of a venue (``run_day``).

Pure: it takes the portfolio, the open orders and the bars of the day the clock moves to, and
returns the orders' new states and the fills, having booked the fills on the portfolio. The
order in which orders meet the bar is fixed: by symbol, then for each side the worse price
first (a stop-loss sell before a take-profit sell), then by order id — so when one bar could
trigger several orders, the member gets the worse outcome and every replay gets the same one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal

from engine.trading.matching import (
    Match,
    PriceBar,
    executable_qty,
    match,
    qty_decimals,
    round_down_to_lot,
)
from engine.trading.orders import Fill, Order, OrderStatus, Reason, Side, TimeInForce
from engine.trading.portfolio import ZERO, Portfolio, money
from engine.trading.rules import PriceBand, RulePack


@dataclass(frozen=True, slots=True)
class TradingDay:
    """The bar each symbol printed on ``day`` (a suspended symbol has none) and its band; an
    intraday tick passes the minute's bars (``engine.trading.intraday``)."""

    day: date
    bars: Mapping[str, PriceBar]
    bands: Mapping[str, PriceBand | None]
    lots: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class DayResult:
    orders: list[Order]
    fills: list[Fill]


def execute_day(
    portfolio: Portfolio,
    orders: Sequence[Order],
    market: TradingDay,
    rules: RulePack,
    *,
    recent_day_trades: int = 0,
    ends_day: bool = True,
) -> DayResult:
    """Fill what the day allows, then cancel or expire by time in force. ``ends_day=False``
    (one minute of a session): IOC and FOK still end after the bar they met, day orders stay
    open until the session closes."""
    matched = [(order, _match(order, market, rules)) for order in orders if order.status.is_open]
    matched.sort(key=_priority)
    state = {order.id: order for order, _ in matched}
    fills: list[Fill] = []
    day_trades = recent_day_trades
    for order, outcome in matched:
        current = state[order.id]
        if outcome.rejected is not None:
            state[order.id] = current.closed(OrderStatus.REJECTED, outcome.rejected, market.day)
            continue
        if outcome.triggered and not current.triggered:
            current = state[order.id] = replace(current, triggered=True)
        if outcome.price is None:
            continue
        fill, refusal = _fill(current, outcome.price, portfolio, state, market, rules, day_trades)
        if refusal is not None:
            state[order.id] = current.closed(OrderStatus.REJECTED, refusal, market.day)
            continue
        if fill is None:
            continue
        if _is_day_trade(fill, fills):
            day_trades += 1
        booked = portfolio.apply(fill)
        fills.append(booked)
        state[order.id] = _after_fill(current, booked)
    final = [_end_of_bar(order, market.day, ends_day=ends_day) for order in state.values()]
    return DayResult(orders=sorted(final, key=lambda o: o.id), fills=fills)


# The pattern-day-trader window is five business days: the day itself and the four trading
# days before it (FINRA Rule 4210(f)(8)(B)(ii); Alpaca "user protection").
PDT_PRIOR_DAYS = 4


@dataclass(frozen=True, slots=True)
class VenueDay:
    """What one day did to a venue: the orders it changed, the fills in booking order, and the
    portfolios that filled (booked in place), all in account order."""

    changed: list[Order]
    fills: list[Fill]
    booked: list[Portfolio]


def run_day(
    accounts: Sequence[tuple[Portfolio, Sequence[Order]]],
    market: TradingDay,
    rules: RulePack,
    *,
    recent_fills: Mapping[int, Sequence[Fill]],
    closing: bool = False,
) -> VenueDay:
    """Every account with open orders, in the given (account id) order, meets the day's bars.

    The one day loop of the engine: the database clock and the in-memory venue both call it.
    ``recent_fills`` holds each account's fills on the ``PDT_PRIOR_DAYS`` trading days before
    ``market.day`` (read only under the pattern-day-trader rule); ``closing`` (the contest's
    last day) cancels whatever is still open after the day.
    """
    changed: list[Order] = []
    fills: list[Fill] = []
    booked: list[Portfolio] = []
    for portfolio, orders in accounts:
        recent = recent_fills.get(portfolio.account_id, ()) if rules.pattern_day_trader else ()
        result = execute_day(
            portfolio, orders, market, rules, recent_day_trades=count_day_trades(recent)
        )
        before = {o.id: o for o in orders}
        for order in result.orders:
            if closing and order.status.is_open:
                order = order.closed(OrderStatus.CANCELED, Reason.CONTEST_ENDED, market.day)
            if order != before[order.id]:
                changed.append(order)
        fills += result.fills
        if result.fills:
            booked.append(portfolio)
    return VenueDay(changed=changed, fills=fills, booked=booked)


def _match(order: Order, market: TradingDay, rules: RulePack) -> Match:
    bar = market.bars.get(order.symbol)
    if bar is None:
        return Match()
    return match(order, bar, rules, market.bands.get(order.symbol))


def _priority(item: tuple[Order, Match]) -> tuple[str, str, Decimal, int]:
    order, outcome = item
    price = outcome.price if outcome.price is not None else ZERO
    # Buys: the dearest fill first; sells: the cheapest first.
    badness = -price if order.side is Side.BUY else price
    return (order.symbol, order.side.value, badness, order.id)


def _fill(
    order: Order,
    price: Decimal,
    portfolio: Portfolio,
    state: Mapping[int, Order],
    market: TradingDay,
    rules: RulePack,
    day_trades: int,
) -> tuple[Fill | None, Reason | None]:
    """The fill this order gets at ``price`` today, or why it is rejected."""
    lot = market.lots.get(order.symbol, 1)
    bar = market.bars[order.symbol]
    wanted = _wanted_qty(order, price, rules, lot)
    if wanted <= 0:
        return None, Reason.INVALID_QTY
    decimals = qty_decimals(order.request, rules)
    qty = executable_qty(wanted, bar_volume=bar.volume, rules=rules, lot=lot, decimals=decimals)
    if qty > 0 and order.side is Side.SELL:
        sellable = _sellable(order, portfolio, market.day, rules)
        if sellable <= 0:
            return None, Reason.INSUFFICIENT_SELLABLE
        qty = min(qty, sellable)
    elif qty > 0:
        qty = _affordable(order, qty, price, portfolio, state, market, rules, lot)
        if qty <= 0:
            return None, Reason.INSUFFICIENT_BUYING_POWER
    if order.request.time_in_force is TimeInForce.FOK and qty < wanted:
        return None, Reason.FOK_NOT_FILLED
    if qty <= 0:
        return None, None  # the volume cap leaves nothing for this order today
    fill = _priced_fill(order, qty, price, market.day, rules)
    if _pdt_blocks(fill, portfolio, day_trades, rules, market):
        return None, Reason.PATTERN_DAY_TRADER
    return fill, None


def _wanted_qty(order: Order, price: Decimal, rules: RulePack, lot: int) -> Decimal:
    remaining = order.remaining_qty
    if remaining is not None:
        return remaining
    assert order.request.notional is not None
    left = order.request.notional - order.filled_value
    return round_down_to_lot(left / price, lot=lot, decimals=qty_decimals(order.request, rules))


def _sellable(order: Order, portfolio: Portfolio, day: date, rules: RulePack) -> Decimal:
    position = portfolio.positions.get(order.symbol)
    if rules.guards.short_selling:
        return order.remaining_qty or Decimal(10) ** 12
    if position is None:
        return ZERO
    return position.sellable(day, t_plus_one=rules.t_plus_one)


def _affordable(
    order: Order,
    qty: Decimal,
    price: Decimal,
    portfolio: Portfolio,
    state: Mapping[int, Order],
    market: TradingDay,
    rules: RulePack,
    lot: int,
) -> Decimal:
    """``qty`` cut down, in lots, to what cash not held by other open orders can pay."""
    held_by_others = sum(
        (o.reserved_cash for o in state.values() if o.id != order.id and o.status.is_open), ZERO
    )
    prices = {s: b.close for s, b in market.bars.items()}
    short = portfolio.short_requirement(
        _with_defaults(prices, portfolio), rules.guards.margin_requirement
    )
    available = portfolio.cash - held_by_others - short
    decimals = qty_decimals(order.request, rules)
    while qty > 0:
        value = money(qty * price)
        if value + rules.fees(Side.BUY, value, market.day).total <= available:
            return qty
        # Scale down to what the cash covers at this price, then step a lot at a time for fees.
        scaled = round_down_to_lot(available / price, lot=lot, decimals=decimals)
        step = Decimal(lot) if lot > 1 or decimals == 0 else Decimal(1).scaleb(-decimals)
        qty = min(qty - step, scaled)
    return ZERO


def _with_defaults(prices: dict[str, Decimal], portfolio: Portfolio) -> dict[str, Decimal]:
    """Close prices, falling back to average cost for symbols without a bar today."""
    for symbol, position in portfolio.positions.items():
        if symbol not in prices and position.qty:
            prices[symbol] = position.avg_cost or ZERO
    return prices


def _priced_fill(order: Order, qty: Decimal, price: Decimal, day: date, rules: RulePack) -> Fill:
    value = money(qty * price)
    fees = rules.fees(order.side, value, day)
    return Fill(
        order_id=order.id,
        account_id=order.account_id,
        symbol=order.symbol,
        side=order.side,
        qty=qty,
        price=price,
        value=value,
        commission=fees.commission,
        stamp_duty=fees.stamp_duty,
        transfer_fee=fees.transfer_fee + fees.other,
        day=day,
    )


def count_day_trades(fills: Sequence[Fill]) -> int:
    """Day trades in ``fills``: (day, symbol) pairs with both a buy and a sell."""
    sides: dict[tuple[date, str], set[Side]] = {}
    for fill in fills:
        sides.setdefault((fill.day, fill.symbol), set()).add(fill.side)
    return sum(1 for both in sides.values() if len(both) == 2)


def _is_day_trade(fill: Fill, today: Sequence[Fill]) -> bool:
    return any(f.symbol == fill.symbol and f.side is not fill.side for f in today)


def _pdt_blocks(
    fill: Fill, portfolio: Portfolio, day_trades: int, rules: RulePack, market: TradingDay
) -> bool:
    """Pattern day trader: the next day trade is refused once the 5-day count is reached."""
    if not rules.pattern_day_trader or day_trades < rules.pdt_max_day_trades:
        return False
    position = portfolio.positions.get(fill.symbol)
    opened_today = position is not None and position.bought_day == market.day
    if not opened_today or fill.side is not Side.SELL:
        return False
    prices = _with_defaults({s: b.close for s, b in market.bars.items()}, portfolio)
    return portfolio.equity(prices) < rules.pdt_equity_threshold


def _after_fill(order: Order, fill: Fill) -> Order:
    filled_qty = order.filled_qty + fill.qty
    filled_value = order.filled_value + fill.value
    requested = order.request.qty
    # A notional order is market-day: one fill; cents too few for a whole unit are dropped.
    done = requested is None or filled_qty >= requested
    reserved = ZERO
    if not done and requested is not None:
        # Hold back the reservation's share of what is still open.
        left_before = requested - order.filled_qty
        reserved = (order.reserved_cash * (requested - filled_qty) / left_before).quantize(
            Decimal("0.01"), ROUND_DOWN
        )
    return replace(
        order,
        filled_qty=filled_qty,
        filled_value=filled_value,
        fees=order.fees + fill.fees,
        status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
        reserved_cash=ZERO if done else reserved,
        closed_day=fill.day if done else None,
    )


def _end_of_bar(order: Order, day: date, *, ends_day: bool) -> Order:
    if ends_day or order.request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        return end_of_day(order, day)
    return order


def end_of_day(order: Order, day: date) -> Order:
    """``order`` once its day is over: IOC and FOK remainders canceled, day orders expired."""
    if not order.status.is_open:
        return order
    tif = order.request.time_in_force
    if tif is TimeInForce.IOC:
        return order.closed(OrderStatus.CANCELED, Reason.IOC_REMAINDER, day)
    if tif is TimeInForce.FOK:
        return order.closed(OrderStatus.CANCELED, Reason.FOK_NOT_FILLED, day)
    if tif is TimeInForce.DAY:
        return order.closed(OrderStatus.EXPIRED, Reason.DAY_ENDED, day)
    return order


def _close(order: Order, status: OrderStatus, reason: Reason, day: date) -> Order:
    return replace(order, status=status, reason=reason, reserved_cash=ZERO, closed_day=day)
