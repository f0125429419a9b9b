"""``OverTrader``: many small orders a day, a share of them deliberately against the rules so
the engine's refusals get exercised. Seeded like every style: the same seed and the same views
give the same orders."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

from engine.trading.orders import OrderRequest, OrderType, Reason, Side
from engine.trading.rules import round_to_tick
from simulation.bots.sizing import Budget, reserve_for
from simulation.bots.views import Holdings, MarketView, Symbol


class OverTrader:
    """Many small orders a day; a ``bad_share`` of them deliberately break a rule.

    The mistakes, each refused by admission with the reason in ``deliberate``: an odd lot
    (``lot_size``; a sub-precision quantity where the lot is 1), a limit price outside the price
    band (CN; elsewhere a price off the tick), a price off the tick, a sell of a symbol not held
    (when short selling is off). Good orders are one to three lots, market or limit near the
    close, within the buying power and the shares still free to sell.
    """

    name = "over_trader"

    def __init__(
        self,
        *,
        seed: int,
        orders_per_day: tuple[int, int] = (3, 8),
        bad_share: float = 0.25,
        order_fraction: float = 0.03,
    ) -> None:
        self.orders_per_day, self.bad_share, self.order_fraction = (
            orders_per_day,
            bad_share,
            order_fraction,
        )
        self._rng = random.Random(seed)
        self._count = 0
        self.deliberate: dict[str, Reason] = {}  # client_order_id → the refusal it invites

    def decide(self, market: MarketView, holdings: Holdings) -> list[OrderRequest]:
        if not market.symbols:
            return []
        rng = self._rng
        budget = Budget(market, holdings.buying_power)
        free = {s: q for s, q in holdings.positions.items() if q > 0}
        orders: list[OrderRequest] = []
        for _ in range(rng.randint(*self.orders_per_day)):
            self._count += 1
            client_id = f"ot-{self._count}"
            if rng.random() < self.bad_share:
                mistake = self._mistake(market, holdings, client_id)
                if mistake is not None:
                    orders.append(mistake)
                continue
            order = self._good(market, holdings, budget, free, client_id)
            if order is not None:
                orders.append(order)
        return orders

    def _good(
        self,
        market: MarketView,
        holdings: Holdings,
        budget: Budget,
        free: dict[Symbol, Decimal],
        client_id: str,
    ) -> OrderRequest | None:
        rng = self._rng
        sellable = sorted(s for s, q in free.items() if q >= market.lot(s) and s in market.symbols)
        if sellable and rng.random() < 0.4:
            symbol = rng.choice(sellable)
            lot = market.lot(symbol)
            qty = Decimal(rng.randint(1, min(3, int(free[symbol]) // lot)) * lot)
            free[symbol] -= qty
            return OrderRequest(symbol, Side.SELL, qty=qty, client_order_id=client_id)
        symbol = rng.choice(market.symbols)
        lots = rng.randint(1, 3)
        qty = Decimal(lots * market.lot(symbol))
        small = holdings.buying_power * Decimal(str(self.order_fraction))
        if reserve_for(market, symbol, qty) > min(small, budget.left):
            return None
        if rng.random() < 0.5:
            budget.left -= reserve_for(market, symbol, qty)
            return OrderRequest(symbol, Side.BUY, qty=qty, client_order_id=client_id)
        # A limit buy a little under the close: reserves qty × limit, which is less.
        under = Decimal(1) - Decimal(rng.randint(0, 3)) / 100
        limit = round_to_tick(market.last_close(symbol) * under, market.rules.tick_size)
        band = market.band(symbol)
        if limit <= 0 or (band is not None and not band.contains(limit)):
            return None
        value = qty * limit
        budget.left -= value + market.rules.fees(Side.BUY, value, market.day).total
        return OrderRequest(
            symbol,
            Side.BUY,
            type=OrderType.LIMIT,
            qty=qty,
            limit_price=limit,
            client_order_id=client_id,
        )

    def _mistake(
        self, market: MarketView, holdings: Holdings, client_id: str
    ) -> OrderRequest | None:
        rng = self._rng
        symbol = rng.choice(market.symbols)
        lot, last, tick = market.lot(symbol), market.last_close(symbol), market.rules.tick_size
        band = market.band(symbol)
        kinds = [Reason.LOT_SIZE, Reason.TICK_SIZE, Reason.OUTSIDE_PRICE_BAND]
        unheld = [s for s in market.symbols if holdings.qty(s) <= 0]
        if unheld and not market.rules.guards.short_selling:
            kinds.append(Reason.INSUFFICIENT_SELLABLE)
        kind = rng.choice(kinds)
        request: OrderRequest
        if kind is Reason.LOT_SIZE:
            if lot > 1:
                request = OrderRequest(symbol, Side.BUY, qty=Decimal(lot + lot // 2))
            else:
                kind = Reason.QTY_PRECISION
                decimals = market.rules.qty_decimals if market.rules.fractional else 0
                odd = Decimal(1) + Decimal(1).scaleb(-(decimals + 1))
                request = OrderRequest(symbol, Side.BUY, qty=odd)
        elif kind is Reason.OUTSIDE_PRICE_BAND and band is not None:
            above = round_to_tick(band.up * Decimal("1.05"), tick) + tick
            request = OrderRequest(
                symbol, Side.BUY, type=OrderType.LIMIT, qty=Decimal(lot), limit_price=above
            )
        elif kind is Reason.INSUFFICIENT_SELLABLE:
            request = OrderRequest(rng.choice(unheld), Side.SELL, qty=Decimal(lot))
        else:
            kind = Reason.TICK_SIZE
            off_tick = last + tick / 2
            request = OrderRequest(
                symbol, Side.BUY, type=OrderType.LIMIT, qty=Decimal(lot), limit_price=off_tick
            )
        self.deliberate[client_id] = kind
        return replace(request, client_order_id=client_id)
