"""HTTP shapes of trading: orders in Alpaca's shape, accounts, positions, market data.

Money, prices and quantities travel as decimal strings (as Alpaca sends them), never floats.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from engine.market.model import Bar, Board, Instrument
from engine.trading.journal import MAX_NOTE_LENGTH
from engine.trading.orders import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from engine.trading.stats import Statistics
from engine.trading.views import AccountSummary, PositionView


def _quantity(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _price(value: Decimal) -> str:
    """At least the cent, more places only when the price has them (10.50, 0.1234)."""
    return format(max(value.normalize(), value.quantize(Decimal("0.01")), key=_places), "f")


def _places(value: Decimal) -> int:
    return -int(value.as_tuple().exponent)


QtyStr = Annotated[Decimal, PlainSerializer(_quantity, return_type=str)]
PriceStr = Annotated[Decimal, PlainSerializer(_price, return_type=str)]
MoneyStr = Annotated[
    Decimal, PlainSerializer(lambda v: format(v.quantize(Decimal("0.01")), "f"), return_type=str)
]
Quantity = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=24, decimal_places=9)]
Money = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=2)]
Price = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=6)]


class OrderIn(BaseModel):
    """A new order. Exactly one of ``qty`` and ``notional``."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(min_length=1, max_length=32, examples=["SIM-600001"])
    side: Side
    type: OrderType = OrderType.MARKET
    time_in_force: TimeInForce = TimeInForce.DAY
    qty: Quantity | None = Field(default=None, examples=["100"])
    notional: Money | None = None
    limit_price: Price | None = None
    stop_price: Price | None = None
    client_order_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"
    )
    note: str | None = Field(
        default=None,
        max_length=MAX_NOTE_LENGTH,
        description="A trade-journal note (screened for prohibited claims)",
    )

    def to_request(self) -> OrderRequest:
        return OrderRequest(
            symbol=self.symbol.strip().upper(),
            side=self.side,
            type=self.type,
            time_in_force=self.time_in_force,
            qty=self.qty,
            notional=self.notional,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            client_order_id=self.client_order_id,
        )


class NoteIn(BaseModel):
    """A trade-journal note for an order (replaces the one it has)."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=MAX_NOTE_LENGTH)


class NoteOut(BaseModel):
    order_id: int
    note: str
    updated_at: datetime


class OrderOut(BaseModel):
    id: int
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    qty: QtyStr | None
    notional: MoneyStr | None
    limit_price: PriceStr | None
    stop_price: PriceStr | None
    status: OrderStatus
    reason: str | None = Field(description="Why it was rejected, canceled or expired")
    filled_qty: QtyStr
    filled_avg_price: PriceStr | None
    fees: MoneyStr
    reserved_cash: MoneyStr
    submitted_day: date = Field(description="Clock day when accepted; fills from the next bar")
    closed_day: date | None
    note: str | None = Field(default=None, description="Your trade-journal note")

    @classmethod
    def of(cls, order: Order, *, note: str | None = None) -> OrderOut:
        r = order.request
        return cls(
            id=order.id,
            client_order_id=order.client_order_id,
            symbol=r.symbol,
            side=r.side,
            type=r.type,
            time_in_force=r.time_in_force,
            qty=r.qty,
            notional=r.notional,
            limit_price=r.limit_price,
            stop_price=r.stop_price,
            status=order.status,
            reason=order.reason.value if order.reason else None,
            filled_qty=order.filled_qty,
            filled_avg_price=order.filled_avg_price,
            fees=order.fees,
            reserved_cash=order.reserved_cash,
            submitted_day=order.submitted_day,
            closed_day=order.closed_day,
            note=note,
        )


class StatisticsOut(BaseModel):
    """Fractions (0.1 = 10%); null where undefined (e.g. Sharpe of a flat curve)."""

    total_return: float | None
    cagr: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None
    max_drawdown_duration: int | None
    calmar: float | None
    win_rate: float | None
    profit_factor: float | None
    turnover: float | None
    trade_count: int
    periods: int

    @classmethod
    def of(cls, s: Statistics) -> StatisticsOut:
        return cls.model_validate(s, from_attributes=True)


class AccountOut(BaseModel):
    contest_id: int
    account_id: int
    clock_day: date | None
    starting_cash: MoneyStr
    cash: MoneyStr
    equity: MoneyStr
    buying_power: MoneyStr
    reserved_cash: MoneyStr
    positions_value: MoneyStr
    realized_pnl: MoneyStr
    unrealized_pnl: MoneyStr
    fees_paid: MoneyStr
    statistics: StatisticsOut

    @classmethod
    def of(cls, a: AccountSummary) -> AccountOut:
        return cls(
            contest_id=a.contest_id,
            account_id=a.account_id,
            clock_day=a.clock_day,
            starting_cash=a.starting_cash,
            cash=a.cash,
            equity=a.equity,
            buying_power=a.buying_power,
            reserved_cash=a.reserved_cash,
            positions_value=a.positions_value,
            realized_pnl=a.realized_pnl,
            unrealized_pnl=a.unrealized_pnl,
            fees_paid=a.fees_paid,
            statistics=StatisticsOut.of(a.statistics),
        )


class PositionOut(BaseModel):
    symbol: str
    qty: QtyStr
    sellable_qty: QtyStr = Field(description="What a sell order may take now (T+1 applied)")
    avg_cost: PriceStr | None
    cost_basis: MoneyStr
    last_price: PriceStr
    market_value: MoneyStr
    unrealized_pnl: MoneyStr
    realized_pnl: MoneyStr

    @classmethod
    def of(cls, p: PositionView) -> PositionOut:
        return cls.model_validate(p, from_attributes=True)


class EquityPoint(BaseModel):
    day: date
    cash: MoneyStr
    equity: MoneyStr


class InstrumentOut(BaseModel):
    symbol: str
    name: str
    market: str
    board: Board
    currency: str
    lot_size: int
    sector: str

    @classmethod
    def of(cls, i: Instrument) -> InstrumentOut:
        return cls(
            symbol=i.symbol,
            name=i.name,
            market=i.market.value,
            board=i.board,
            currency=i.currency,
            lot_size=i.lot_size,
            sector=i.sector,
        )


class BarOut(BaseModel):
    day: date
    open: PriceStr
    high: PriceStr
    low: PriceStr
    close: PriceStr
    volume: int

    @classmethod
    def of(cls, b: Bar) -> BarOut:
        return cls(day=b.day, open=b.open, high=b.high, low=b.low, close=b.close, volume=b.volume)
