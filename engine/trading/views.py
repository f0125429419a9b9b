"""What a member sees of their account: summary with statistics, positions, equity curve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.trading import stats
from engine.trading.admission import buying_power
from engine.trading.closes import last_closes
from engine.trading.orders import Side
from engine.trading.portfolio import ZERO, Portfolio
from engine.trading.uow import TradingUnitOfWork
from engine.trading.venue import Venue, require_account, require_contest, venue_of


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    qty: Decimal
    sellable_qty: Decimal
    avg_cost: Decimal | None
    cost_basis: Decimal
    last_price: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class AccountSummary:
    contest_id: int
    account_id: int
    clock_day: date | None
    starting_cash: Decimal
    cash: Decimal
    equity: Decimal
    buying_power: Decimal
    reserved_cash: Decimal
    positions_value: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal
    statistics: stats.Statistics


def account_summary(uow: TradingUnitOfWork, contest_id: int, member_id: int) -> AccountSummary:
    with uow.reading(snapshot=True):
        contest = require_contest(uow, contest_id)
        v = venue_of(contest)
        account = require_account(uow, contest_id, member_id)
        portfolio = uow.trading.portfolio(account)
        prices = _marks(uow, v, portfolio)
        open_orders = uow.trading.open_orders(contest_id=contest_id, account_id=account.id)
        curve = uow.trading.equity_curve(account.id)
        fills = uow.trading.fills(account.id)
        account_id = account.id
    equity = portfolio.equity(prices)
    statistics = stats.performance(
        [portfolio.starting_cash] + [e for _, _, e in curve],
        closed_trade_pnls=[f.realized_pnl for f in fills if f.realized_pnl != 0],
        traded_value=sum((f.value for f in fills), ZERO),
        trade_count=len(fills),
    )
    return AccountSummary(
        contest_id=contest_id,
        account_id=account_id,
        clock_day=v.clock_day,
        starting_cash=portfolio.starting_cash,
        cash=portfolio.cash,
        equity=equity.quantize(Decimal("0.01")),
        buying_power=buying_power(portfolio, open_orders, prices, v.rules).quantize(
            Decimal("0.01")
        ),
        reserved_cash=sum((o.reserved_cash for o in open_orders), ZERO),
        positions_value=portfolio.positions_value(prices).quantize(Decimal("0.01")),
        realized_pnl=portfolio.realized_pnl,
        unrealized_pnl=portfolio.unrealized_pnl(prices).quantize(Decimal("0.01")),
        fees_paid=portfolio.fees_paid,
        statistics=statistics,
    )


def _marks(uow: TradingUnitOfWork, v: Venue, portfolio: Portfolio) -> dict[str, Decimal]:
    if v.clock_day is None:
        return {s: p.avg_cost or ZERO for s, p in portfolio.positions.items()}
    return last_closes(uow, v, v.clock_day)


def positions(uow: TradingUnitOfWork, contest_id: int, member_id: int) -> list[PositionView]:
    with uow.reading(snapshot=True):
        v = venue_of(require_contest(uow, contest_id))
        account = require_account(uow, contest_id, member_id)
        portfolio = uow.trading.portfolio(account)
        prices = _marks(uow, v, portfolio)
        open_sells = [
            o
            for o in uow.trading.open_orders(contest_id=contest_id, account_id=account.id)
            if o.side is Side.SELL
        ]
    views = []
    for symbol, p in sorted(portfolio.positions.items()):
        if p.qty == 0 and p.realized_pnl == 0:
            continue
        committed = sum((o.remaining_qty or ZERO for o in open_sells if o.symbol == symbol), ZERO)
        price = prices.get(symbol, ZERO)
        views.append(
            PositionView(
                symbol=symbol,
                qty=p.qty,
                sellable_qty=max(ZERO, (p.qty if p.qty > 0 else ZERO) - committed),
                avg_cost=p.avg_cost,
                cost_basis=p.cost_basis,
                last_price=price,
                market_value=p.market_value(price).quantize(Decimal("0.01")),
                unrealized_pnl=p.unrealized(price).quantize(Decimal("0.01")),
                realized_pnl=p.realized_pnl,
            )
        )
    return views


def portfolio_history(
    uow: TradingUnitOfWork, contest_id: int, member_id: int
) -> list[tuple[date, Decimal, Decimal]]:
    """(day, cash, equity) at each revealed day's closes."""
    with uow.reading():
        account = require_account(uow, contest_id, member_id)
        return uow.trading.equity_curve(account.id)
