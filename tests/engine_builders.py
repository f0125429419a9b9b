"""Small builders for engine tests: bars, instruments, orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.market.model import Bar, Board, Instrument, Market
from engine.trading.orders import Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce

D = Decimal
DAY = date(2024, 3, 4)


def bar(
    o: str,
    h: str,
    lo: str,
    c: str,
    *,
    volume: int = 1_000_000,
    symbol: str = "AAA",
    day: date = DAY,
) -> Bar:
    return Bar(symbol, day, D(o), D(h), D(lo), D(c), volume)


def cn_stock(symbol: str = "AAA", board: Board = Board.MAIN) -> Instrument:
    return Instrument(symbol, f"{symbol} Co", Market.CN, board, "CNY", 100)


def us_stock(symbol: str = "AAA") -> Instrument:
    return Instrument(symbol, f"{symbol} Inc", Market.US, Board.MAIN, "USD", 1)


def request(
    side: str = "buy",
    *,
    qty: str | None = "100",
    notional: str | None = None,
    type: str = "market",
    tif: str = "day",
    limit: str | None = None,
    stop: str | None = None,
    symbol: str = "AAA",
) -> OrderRequest:
    return OrderRequest(
        symbol=symbol,
        side=Side(side),
        type=OrderType(type),
        time_in_force=TimeInForce(tif),
        qty=D(qty) if qty is not None else None,
        notional=D(notional) if notional is not None else None,
        limit_price=D(limit) if limit is not None else None,
        stop_price=D(stop) if stop is not None else None,
    )


def order(req: OrderRequest, *, id: int = 1, triggered: bool = False, reserved: str = "0") -> Order:
    return Order(
        id=id,
        account_id=1,
        client_order_id=f"c{id}",
        request=req,
        status=OrderStatus.NEW,
        submitted_day=DAY,
        reserved_cash=D(reserved),
        triggered=triggered,
    )
