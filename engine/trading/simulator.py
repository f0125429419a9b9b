"""An in-memory venue: the engine's pure core driven by a clock over known bars.

The database-backed services run the same steps (``admit``, ``run_day``, vectorized
marking) on state they load and store; this class keeps that state in memory for property
tests, bots and benchmarks. It can only read bars up to its clock: ``advance`` reveals one more
day, and ``submit`` prices everything from the last revealed close.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core.errors import NotFound, RuleViolation
from engine.market.model import Bar, Instrument
from engine.trading.admission import OrderContext, OrderRefused, admit
from engine.trading.execution import PDT_PRIOR_DAYS, TradingDay, run_day
from engine.trading.orders import Fill, Order, OrderRequest, OrderStatus, Reason
from engine.trading.portfolio import Portfolio, mark_portfolios
from engine.trading.rules import RulePack


class BarTape:
    """Bars by day, revealed one day at a time; reading past the clock is impossible."""

    def __init__(self, bars: Iterable[Bar]) -> None:
        by_day: dict[date, dict[str, Bar]] = defaultdict(dict)
        for bar in bars:
            by_day[bar.day][bar.symbol] = bar
        self._days = sorted(by_day)
        self._bars = dict(by_day)
        self._position = -1

    @property
    def today(self) -> date | None:
        return self._days[self._position] if self._position >= 0 else None

    @property
    def has_next(self) -> bool:
        return self._position + 1 < len(self._days)

    def recent_days(self, count: int) -> list[date]:
        """The ``count`` revealed days before today."""
        return self._days[max(0, self._position - count) : max(0, self._position)]

    def reveal_next(self) -> Mapping[str, Bar]:
        if not self.has_next:
            raise IndexError("no more bars")
        self._position += 1
        return self._bars[self._days[self._position]]

    def revealed(self) -> Mapping[str, Bar]:
        """The latest bar of every symbol up to the clock."""
        latest: dict[str, Bar] = {}
        for day in self._days[: self._position + 1]:
            latest.update(self._bars[day])
        return latest


@dataclass
class InMemoryVenue:
    """Orders, fills and marks of many accounts in memory, over a tape of known bars."""

    rules: RulePack
    instruments: Mapping[str, Instrument]
    tape: BarTape
    portfolios: dict[int, Portfolio] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    equity: dict[int, list[Decimal]] = field(default_factory=dict)
    _last: dict[str, Bar] = field(default_factory=dict)
    _orders_today: dict[int, int] = field(default_factory=dict)
    # Open order ids per account, so admission and the day's matching never scan history.
    _open: dict[int, dict[int, None]] = field(default_factory=lambda: defaultdict(dict))
    _next_id: int = 1

    def open_account(self, account_id: int, cash: Decimal) -> None:
        self.portfolios[account_id] = Portfolio.opened(account_id, cash)
        self.equity[account_id] = [cash]

    def start(self) -> None:
        """Reveal the first day: its closes are the reference for the first orders."""
        self._last.update(self.tape.reveal_next())

    def submit(self, account_id: int, request: OrderRequest) -> Order:
        day = self.tape.today
        if day is None or not self.tape.has_next:
            raise RuleViolation(
                "the venue is not trading", field="symbol", rule=Reason.OUTSIDE_TRADING_WINDOW
            )
        instrument = self.instruments.get(request.symbol)
        if instrument is None:
            raise OrderRefused(
                f"unknown symbol {request.symbol}", field="symbol", reason=Reason.UNKNOWN_SYMBOL
            )
        last = self._last.get(request.symbol)
        if last is None:  # not traded since the tape began: as the order desk says
            raise OrderRefused(
                f"{request.symbol} has no price yet", field="symbol", reason=Reason.NO_PRICE
            )
        portfolio = self.portfolios[account_id]
        open_orders = self.open_orders(account_id)
        ctx = OrderContext(
            day=day,
            rules=self.rules,
            instrument=instrument,
            last_close=last.close,
            band=self.rules.price_band(instrument.board, last.close),
            portfolio=portfolio,
            open_orders=open_orders,
            orders_today=self._orders_today.get(account_id, 0),
            prices=self.last_closes(),
        )
        reserved = admit(request, ctx)
        order = Order(
            id=self._next_id,
            account_id=account_id,
            client_order_id=request.client_order_id or f"order-{self._next_id}",
            request=request,
            status=OrderStatus.NEW,
            submitted_day=day,
            reserved_cash=reserved,
        )
        self._next_id += 1
        self._store(order)
        self._orders_today[account_id] = self._orders_today.get(account_id, 0) + 1
        return order

    def cancel(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}")
        if not order.status.is_open:
            return order
        canceled = order.closed(OrderStatus.CANCELED, Reason.CANCELED_BY_MEMBER, self.tape.today)
        self._store(canceled)
        return canceled

    def _store(self, order: Order) -> None:
        self.orders[order.id] = order
        if order.status.is_open:
            self._open[order.account_id][order.id] = None
        else:
            self._open[order.account_id].pop(order.id, None)

    def open_orders(self, account_id: int) -> list[Order]:
        return [self.orders[i] for i in self._open.get(account_id, {})]

    def last_closes(self) -> dict[str, Decimal]:
        return {symbol: bar.close for symbol, bar in self._last.items()}

    def advance(self) -> list[Fill]:
        """Reveal the next day, fill what it allows, mark every portfolio at its closes."""
        previous = self.last_closes()
        bars = self.tape.reveal_next()
        day = self.tape.today
        assert day is not None
        market = TradingDay(
            day=day,
            bars=bars,
            bands={
                s: self.rules.price_band(self.instruments[s].board, previous.get(s)) for s in bars
            },
            lots={s: self.rules.lot_for(i.lot_size) for s, i in self.instruments.items()},
        )
        traders = sorted(a for a, ids in self._open.items() if ids)
        outcome = run_day(
            [(self.portfolios[a], self.open_orders(a)) for a in traders],
            market,
            self.rules,
            recent_fills=self._recent_fills() if self.rules.pattern_day_trader else {},
        )
        for order in outcome.changed:
            self._store(order)
        fills = outcome.fills
        self._last.update(bars)
        self._orders_today.clear()
        self.fills.extend(fills)
        self._mark()
        return fills

    def _recent_fills(self) -> dict[int, list[Fill]]:
        """Each account's fills on the trading days of the PDT window before today."""
        recent = set(self.tape.recent_days(PDT_PRIOR_DAYS))
        by_account: dict[int, list[Fill]] = defaultdict(list)
        for fill in self.fills:
            if fill.day in recent:
                by_account[fill.account_id].append(fill)
        return by_account

    def _mark(self) -> None:
        ids = sorted(self.portfolios)
        equity = mark_portfolios([self.portfolios[i] for i in ids], self.last_closes())
        for account_id, value in zip(ids, equity, strict=True):
            self.equity[account_id].append(value)


def venue_for(
    rules: RulePack, instruments: Sequence[Instrument], bars: Iterable[Bar]
) -> InMemoryVenue:
    return InMemoryVenue(
        rules=rules, instruments={i.symbol: i for i in instruments}, tape=BarTape(bars)
    )
