"""Orders in Alpaca's shape: types, sides, time in force, statuses and rejection reasons.

An ``OrderRequest`` is what a member asks for; an ``Order`` is what the engine keeps, with its
fill progress and the buying power (cash) or shares it holds while open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderStatus(StrEnum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


OPEN_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


class Reason(StrEnum):
    """Machine-readable reasons an order is refused, rejected, canceled or expired."""

    UNKNOWN_SYMBOL = "unknown_symbol"
    NOT_IN_UNIVERSE = "not_in_universe"
    INVALID_QTY = "invalid_qty"
    QTY_PRECISION = "qty_precision"
    LOT_SIZE = "lot_size"
    NOTIONAL_NOT_ALLOWED = "notional_not_allowed"
    LIMIT_PRICE_REQUIRED = "limit_price_required"
    STOP_PRICE_REQUIRED = "stop_price_required"
    PRICE_NOT_ALLOWED = "price_not_allowed"
    TICK_SIZE = "tick_size"
    OUTSIDE_PRICE_BAND = "outside_price_band"
    INSUFFICIENT_SELLABLE = "insufficient_sellable"
    SHORT_SELLING_DISABLED = "short_selling_disabled"
    INSUFFICIENT_BUYING_POWER = "insufficient_buying_power"
    MIN_PRICE = "min_price"
    MAX_POSITION = "max_position"
    MAX_ORDERS_PER_DAY = "max_orders_per_day"
    OUTSIDE_TRADING_WINDOW = "outside_trading_window"
    LIMIT_UP = "limit_up"
    LIMIT_DOWN = "limit_down"
    NO_PRICE = "no_price"
    PATTERN_DAY_TRADER = "pattern_day_trader"
    FOK_NOT_FILLED = "fok_not_filled"
    IOC_REMAINDER = "ioc_remainder"
    DAY_ENDED = "day_ended"
    CANCELED_BY_MEMBER = "canceled_by_member"
    CONTEST_ENDED = "contest_ended"
    SESSION_CLOSED = "session_closed"
    STALE_FEED = "stale_feed"
    CORPORATE_ACTION = "corporate_action"


@dataclass(frozen=True, slots=True)
class OrderRequest:
    symbol: str
    side: Side
    type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    qty: Decimal | None = None
    notional: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    account_id: int
    client_order_id: str
    request: OrderRequest
    status: OrderStatus
    submitted_day: date
    filled_qty: Decimal = Decimal(0)
    filled_value: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    reserved_cash: Decimal = Decimal(0)
    triggered: bool = False
    reason: Reason | None = None
    closed_day: date | None = None

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def side(self) -> Side:
        return self.request.side

    @property
    def remaining_qty(self) -> Decimal | None:
        """Quantity still to fill; ``None`` for a notional order (sized at the fill)."""
        if self.request.qty is None:
            return None
        return self.request.qty - self.filled_qty

    def closed(self, status: OrderStatus, reason: Reason, day: date | None) -> Order:
        """This order ended (canceled, expired, rejected): it holds nothing any more."""
        return replace(self, status=status, reason=reason, reserved_cash=Decimal(0), closed_day=day)

    @property
    def filled_avg_price(self) -> Decimal | None:
        if self.filled_qty == 0:
            return None
        return (self.filled_value / self.filled_qty).quantize(Decimal("0.0001"))


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of an order against one bar. ``value`` is qty × price in currency cents."""

    order_id: int
    account_id: int
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    value: Decimal
    commission: Decimal
    stamp_duty: Decimal
    transfer_fee: Decimal
    day: date
    realized_pnl: Decimal = Decimal(0)

    @property
    def fees(self) -> Decimal:
        return self.commission + self.stamp_duty + self.transfer_fee
