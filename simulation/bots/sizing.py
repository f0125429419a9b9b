"""Order sizing for bot strategies: whole lots that fit the buying power a market buy reserves
(``reserve_for``), fees included."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from engine.trading.orders import OrderRequest, Side
from engine.trading.portfolio import ZERO
from simulation.bots.views import MarketView, Symbol


def whole_lots(budget: Decimal, price: Decimal, lot: int) -> Decimal:
    """The largest multiple of ``lot`` shares whose value at ``price`` is within ``budget``."""
    if budget <= 0 or price <= 0:
        return ZERO
    shares = (budget / price).to_integral_value(ROUND_FLOOR)
    return Decimal(int(shares) // lot * lot)


def reserve_for(market: MarketView, symbol: Symbol, qty: Decimal) -> Decimal:
    """Buying power a market buy of ``qty`` reserves: value at ``buy_price`` plus its fees."""
    value = qty * market.buy_price(symbol)
    return value + market.rules.fees(Side.BUY, value, market.day).total


def affordable_lots(market: MarketView, symbol: Symbol, budget: Decimal) -> Decimal:
    """Whole lots of ``symbol`` a market buy can reserve within ``budget``, fees included."""
    lot = market.lot(symbol)
    qty = whole_lots(budget, market.buy_price(symbol), lot)
    while qty > 0 and reserve_for(market, symbol, qty) > budget:
        qty -= lot  # a minimum commission can eat a lot or two of a small budget
    return qty


def market_order(symbol: Symbol, side: Side, qty: Decimal) -> OrderRequest:
    return OrderRequest(symbol=symbol, side=side, qty=qty)


def crossed_above(before: tuple[float, float], now: tuple[float, float]) -> bool:
    """a crossed above b: a < b on the previous day and a > b today (backtesting.py's rule)."""
    return before[0] < before[1] and now[0] > now[1]


class Budget:
    """Buying power left within one decision, spent order by order."""

    def __init__(self, market: MarketView, available: Decimal) -> None:
        self.market = market
        self.left = available

    def buy(self, symbol: Symbol, budget: Decimal) -> OrderRequest | None:
        qty = affordable_lots(self.market, symbol, min(budget, self.left))
        if qty <= 0:
            return None
        self.left -= reserve_for(self.market, symbol, qty)
        return market_order(symbol, Side.BUY, qty)
