"""Trading use cases: accounts, orders, the contest clock, and what a member sees.

Every write goes through here (HTTP, CLI and the season simulation alike). The clock is the
only thing that reads new bars: ``advance_clock`` reveals the next day, matches open orders
against it, books fills, and marks every account in the contest at once (numpy).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, DomainError, NotFound
from engine import stats
from engine.contests import pk_rounds, standings
from engine.contests.store import ContestsRepository
from engine.contests.store_pk import PkRepository, TeamsRepository
from engine.contests.store_prizes import PrizesRepository
from engine.contests.store_standings import StandingsRepository
from engine.execution import TradingDay, count_day_trades, execute_day
from engine.market.model import Bar, Instrument, Market
from engine.market.store import MarketRepository
from engine.orders import Fill, Order, OrderRequest, OrderStatus, Reason, Side
from engine.portfolio import ZERO, Portfolio, mark_portfolios, replay, same_books
from engine.rules import RulePack, rule_pack
from engine.store import AccountRow, ContestRow, TradingRepository
from engine.validation import OrderContext, OrderRefused, admit, buying_power
from ledger import engagement
from ledger.services import LedgerUnitOfWork


class TradingUnitOfWork(LedgerUnitOfWork):
    """Trading, market data and the ledger on one transaction (prizes, referral rewards)."""

    trading: TradingRepository
    market: MarketRepository
    contests: ContestsRepository
    teams: TeamsRepository
    pk: PkRepository
    prizes: PrizesRepository
    standings: StandingsRepository

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.trading = TradingRepository(session)
        self.market = MarketRepository(session)
        self.contests = ContestsRepository(session)
        self.teams = TeamsRepository(session)
        self.pk = PkRepository(session)
        self.prizes = PrizesRepository(session)
        self.standings = StandingsRepository(session)


class NotEntered(NotFound):
    slug = "not-entered"
    title = "No entry in this contest"


@dataclass(frozen=True, slots=True)
class Venue:
    """What the engine needs of a contest: rules, universe, window and clock."""

    contest_id: int
    market: Market
    rules: RulePack
    universe: tuple[str, ...]
    starting_cash: Decimal
    trading_start: date
    trading_end: date
    clock_day: date | None

    @property
    def trading(self) -> bool:
        """Orders are taken from the first revealed bar until the clock reaches the last day."""
        return self.clock_day is not None and self.clock_day < self.trading_end


def venue_of(row: ContestRow) -> Venue:
    return Venue(
        contest_id=row.id,
        market=Market(row.market),
        rules=rule_pack(row.market, row.rule_overrides),
        universe=tuple(row.universe),
        starting_cash=row.starting_cash,
        trading_start=row.trading_start,
        trading_end=row.trading_end,
        clock_day=row.clock_day,
    )


# --- contests (the trading side; the contests issue builds the game around it) ---------------


def create_venue(
    uow: TradingUnitOfWork,
    *,
    title: str,
    market: Market,
    universe: Sequence[str],
    starting_cash: Decimal,
    trading_start: date,
    trading_end: date,
    rule_overrides: dict[str, Any] | None = None,
) -> Venue:
    """A contest's trading state: rules are validated and instruments must exist."""
    rule_pack(market, rule_overrides)  # raises RuleViolation naming the bad field
    with uow:
        for symbol in universe:
            uow.market.require_instrument(symbol)
        row = uow.trading.add_contest(
            ContestRow(
                title=title,
                market=market.value,
                rule_overrides=dict(rule_overrides or {}),
                starting_cash=starting_cash,
                universe=list(universe),
                trading_start=trading_start,
                trading_end=trading_end,
            )
        )
        venue = venue_of(row)
        uow.commit()
    return venue


def venue(uow: TradingUnitOfWork, contest_id: int) -> Venue:
    with uow.reading():
        return venue_of(_contest(uow, contest_id))


def open_account(uow: TradingUnitOfWork, contest_id: int, member_id: int) -> int:
    """The member's account in the contest, created once with the starting cash."""
    with uow:
        contest = _contest(uow, contest_id)
        existing = uow.trading.account(contest_id, member_id)
        if existing is not None:
            return existing.id
        account = uow.trading.add_account(contest_id, member_id, contest.starting_cash)
        uow.commit()
        return account.id


def _contest(uow: TradingUnitOfWork, contest_id: int, *, lock: bool = False) -> ContestRow:
    row = uow.trading.contest(contest_id, lock=lock)
    if row is None:
        raise NotFound(f"no contest {contest_id}", contest_id=contest_id)
    return row


def _account(
    uow: TradingUnitOfWork, contest_id: int, member_id: int, *, lock: bool = False
) -> AccountRow:
    account = uow.trading.account(contest_id, member_id, lock=lock)
    if account is None:
        raise NotEntered(f"you have no entry in contest {contest_id}", contest_id=contest_id)
    return account


# --- orders -----------------------------------------------------------------------------------


def place_order(
    uow: TradingUnitOfWork, contest_id: int, member_id: int, request: OrderRequest
) -> Order:
    """Admit and store an order; it fills no earlier than the next bar.

    A retry with the same ``client_order_id`` and the same fields returns the stored order; the
    same id with other fields is a Conflict. A refused order writes nothing.
    """
    with uow:
        venue = venue_of(_contest(uow, contest_id))
        stored = _place(uow, venue, member_id, request, _Closes(uow, venue))
        uow.commit()
        return stored


OrderOutcome = Order | DomainError


def place_orders(
    uow: TradingUnitOfWork, contest_id: int, requests: Sequence[tuple[int, OrderRequest]]
) -> list[OrderOutcome]:
    """Many members' orders in one transaction (bots, the season simulation, bulk imports).

    Each ``(member id, request)`` is judged exactly as ``place_order`` judges it, in the given
    order, so an earlier order's reservation counts against a later one of the same member. The
    outcome list is aligned with ``requests``: the stored order, or the refusal (an
    ``OrderRefused``, ``NotEntered`` or ``Conflict``), which wrote nothing.
    """
    outcomes: list[OrderOutcome] = []
    with uow:
        venue = venue_of(_contest(uow, contest_id))
        closes = _Closes(uow, venue)
        for member_id, request in requests:
            try:
                with uow.session.begin_nested():  # a refusal rolls back only its own order
                    outcomes.append(_place(uow, venue, member_id, request, closes))
            except (OrderRefused, NotFound, Conflict) as refusal:
                outcomes.append(refusal)
        uow.commit()
    return outcomes


class _Closes:
    """The universe's last closes at the clock's day, read once per transaction."""

    def __init__(self, uow: TradingUnitOfWork, venue: Venue) -> None:
        self._uow, self._venue = uow, venue
        self._closes: dict[str, Decimal] | None = None

    def get(self, day: date) -> dict[str, Decimal]:
        if self._closes is None:
            self._closes = _last_closes(self._uow, self._venue, day)
        return self._closes


def _place(
    uow: TradingUnitOfWork, venue: Venue, member_id: int, request: OrderRequest, closes: _Closes
) -> Order:
    account = _account(uow, venue.contest_id, member_id, lock=True)
    if request.client_order_id is not None:
        existing = uow.trading.order_by_client_id(account.id, request.client_order_id)
        if existing is not None:
            return _replayed(existing, request)
    ctx = _order_context(uow, venue, account, request, closes)
    reserved = admit(request, ctx)
    client_id = request.client_order_id or f"pl-{uuid.uuid4().hex}"
    order = Order(
        id=0,
        account_id=account.id,
        client_order_id=client_id,
        request=request,
        status=OrderStatus.NEW,
        submitted_day=ctx.day,
        reserved_cash=reserved,
    )
    try:
        return uow.trading.add_order(venue.contest_id, order)
    except IntegrityError:
        raise Conflict("client_order_id is already used", client_order_id=client_id) from None


def _replayed(existing: Order, request: OrderRequest) -> Order:
    if existing.request == request:
        return existing
    raise Conflict(
        f"client_order_id {request.client_order_id!r} was used for a different order",
        client_order_id=request.client_order_id,
        order_id=existing.id,
    )


def _order_context(
    uow: TradingUnitOfWork,
    venue: Venue,
    account: AccountRow,
    request: OrderRequest,
    closes: _Closes,
) -> OrderContext:
    if not venue.trading or venue.clock_day is None:
        raise OrderRefused(
            "the contest is not trading now: orders are taken from its first trading day "
            "until its last",
            field="contest_id",
            reason=Reason.OUTSIDE_TRADING_WINDOW,
        )
    day = venue.clock_day
    if request.symbol not in venue.universe:
        reason = (
            Reason.NOT_IN_UNIVERSE
            if uow.market.instrument(request.symbol)
            else Reason.UNKNOWN_SYMBOL
        )
        raise OrderRefused(
            f"{request.symbol!r} is not traded in this contest", field="symbol", reason=reason
        )
    instrument = uow.market.require_instrument(request.symbol)
    prices = closes.get(day)
    last_close = prices.get(request.symbol)
    if last_close is None:
        raise OrderRefused(
            f"{request.symbol} has no price yet", field="symbol", reason=Reason.NO_PRICE
        )
    portfolio = uow.trading.portfolio(account)
    return OrderContext(
        day=day,
        rules=venue.rules,
        instrument=instrument,
        last_close=last_close,
        band=venue.rules.price_band(instrument.board, last_close),
        portfolio=portfolio,
        open_orders=uow.trading.open_orders(contest_id=venue.contest_id, account_id=account.id),
        orders_today=uow.trading.count_orders_submitted(account.id, day),
        prices=prices,
    )


def _last_closes(uow: TradingUnitOfWork, venue: Venue, day: date) -> dict[str, Decimal]:
    """Each universe symbol's close on ``day`` or, if it did not trade, its last before."""
    closes = uow.market.previous_closes(venue.universe, day)
    closes.update({s: bar.close for s, bar in uow.market.bars_on(day, venue.universe).items()})
    return closes


def cancel_order(uow: TradingUnitOfWork, contest_id: int, member_id: int, order_id: int) -> Order:
    """Cancel an open order, releasing what it reserved; a closed order is a Conflict."""
    with uow:
        contest = _contest(uow, contest_id)
        account = _account(uow, contest_id, member_id, lock=True)
        order = uow.trading.order(account.id, order_id)
        if order is None:
            raise NotFound(f"no order {order_id} in your account", order_id=order_id)
        if not order.status.is_open:
            raise Conflict(
                f"order {order_id} is already {order.status.value}",
                order_id=order_id,
                status=order.status.value,
            )
        canceled = order.closed(OrderStatus.CANCELED, Reason.CANCELED_BY_MEMBER, contest.clock_day)
        uow.trading.update_orders([canceled])
        uow.commit()
        return canceled


def get_order(uow: TradingUnitOfWork, contest_id: int, member_id: int, order_id: int) -> Order:
    with uow.reading():
        account = _account(uow, contest_id, member_id)
        order = uow.trading.order(account.id, order_id)
        if order is None:
            raise NotFound(f"no order {order_id} in your account", order_id=order_id)
        return order


def list_orders(
    uow: TradingUnitOfWork,
    contest_id: int,
    member_id: int,
    *,
    status: Sequence[str] | None = None,
    after: int | None = None,
    limit: int = 50,
) -> tuple[list[Order], int | None]:
    with uow.reading():
        account = _account(uow, contest_id, member_id)
        return uow.trading.orders_page(account.id, status=status, after=after, limit=limit)


# --- the clock --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClockReport:
    contest_id: int
    days: list[date]
    fills: int
    clock_day: date | None
    finished: bool


def advance_clock(
    uow: TradingUnitOfWork, contest_id: int, *, bars: int = 1, until: date | None = None
) -> ClockReport:
    """Reveal up to ``bars`` more trading days, one transaction per day, none after ``until``
    (a live contest passes the last day that has ended)."""
    days: list[date] = []
    fills = 0
    for _ in range(bars):
        with uow:
            contest = _contest(uow, contest_id, lock=True)
            step = _advance_one_day(uow, contest, until)
            if step is None:
                break
            uow.commit()
        days.append(step[0])
        fills += step[1]
    pay_referrals(uow, contest_id)
    pk_rounds.pay_round_awards(uow, contest_id)
    current = venue(uow, contest_id)
    return ClockReport(
        contest_id=contest_id,
        days=days,
        fills=fills,
        clock_day=current.clock_day,
        finished=current.clock_day is not None and current.clock_day >= current.trading_end,
    )


def _advance_one_day(
    uow: TradingUnitOfWork, contest: ContestRow, until: date | None
) -> tuple[date, int] | None:
    v = venue_of(contest)
    day = _next_day(uow, v)
    if day is None or (until is not None and day > until):
        return None
    bars = uow.market.bars_on(day, v.universe)
    previous = uow.market.previous_closes(v.universe, day)
    instruments = {s: uow.market.require_instrument(s) for s in v.universe}
    market = TradingDay(
        day=day,
        bars=bars,
        bands={s: v.rules.price_band(instruments[s].board, previous.get(s)) for s in bars},
        lots={s: v.rules.lot_for(i.lot_size) for s, i in instruments.items()},
    )
    accounts = uow.trading.accounts(v.contest_id)
    portfolios = uow.trading.portfolios(accounts)
    by_account: dict[int, list[Order]] = defaultdict(list)
    for order in uow.trading.open_orders(contest_id=v.contest_id):
        by_account[order.account_id].append(order)
    all_fills: list[Fill] = []
    last_day = day >= v.trading_end
    for account in accounts:
        orders = by_account.get(account.id, [])
        if not orders:
            continue
        day_trades = _recent_day_trades(uow, account.id, day) if v.rules.pattern_day_trader else 0
        result = execute_day(
            portfolios[account.id], orders, market, v.rules, recent_day_trades=day_trades
        )
        before = {o.id: o for o in orders}
        changed = [o for o in result.orders if o != before[o.id]]
        if last_day:
            changed = [
                o.closed(OrderStatus.CANCELED, Reason.CONTEST_ENDED, day) if o.status.is_open else o
                for o in result.orders
            ]
        uow.trading.update_orders(changed)
        uow.trading.add_fills(v.contest_id, result.fills)
        if result.fills:
            uow.trading.save_portfolio(account, portfolios[account.id])
            if account.first_fill_day is None:
                account.first_fill_day = day
                account.referral_pending = True
        all_fills.extend(result.fills)
    prices = {**previous, **{s: b.close for s, b in bars.items()}}
    equity = _mark(uow, v.contest_id, day, accounts, portfolios, prices)
    contest.clock_day = day
    contest.clock_ticks += 1
    standings.record_tick(uow, contest, day, accounts, equity)
    pk_rounds.on_tick(uow, contest, day)
    return day, len(all_fills)


def _next_day(uow: TradingUnitOfWork, v: Venue) -> date | None:
    if v.clock_day is None:
        days = uow.market.trading_days(v.universe, v.trading_start, v.trading_end)
        return days[0] if days else None
    if v.clock_day >= v.trading_end:
        return None
    following = uow.market.next_trading_day(v.universe, v.clock_day)
    return following if following is not None and following <= v.trading_end else None


def _recent_day_trades(uow: TradingUnitOfWork, account_id: int, day: date) -> int:
    """Day trades in the four trading days before ``day`` (the PDT window is five)."""
    fills = uow.trading.fills_between(account_id, day - timedelta(days=10), day - timedelta(days=1))
    recent = set(sorted({f.day for f in fills})[-4:])
    return count_day_trades([f for f in fills if f.day in recent])


def _mark(
    uow: TradingUnitOfWork,
    contest_id: int,
    day: date,
    accounts: Sequence[AccountRow],
    portfolios: dict[int, Portfolio],
    prices: dict[str, Decimal],
) -> list[Decimal]:
    """Store every account's equity at ``day``'s closes (one matrix product for all) and
    return it, aligned with ``accounts``."""
    if not accounts:
        return []
    equity = mark_portfolios([portfolios[a.id] for a in accounts], prices)
    uow.trading.add_equity(
        contest_id,
        day,
        [(a.id, portfolios[a.id].cash, e) for a, e in zip(accounts, equity, strict=True)],
    )
    return equity


def pay_referrals(uow: TradingUnitOfWork, contest_id: int) -> int:
    """Fire the ledger's referral reward for members whose first trade just filled."""
    with uow.reading():
        pending = [a.member_id for a in uow.trading.accounts(contest_id) if a.referral_pending]
    for member_id in pending:
        engagement.complete_referral(uow, member_id)  # idempotent: once ever per member
        with uow:
            account = uow.trading.account(contest_id, member_id, lock=True)
            if account is not None:
                account.referral_pending = False
            uow.commit()
    return len(pending)


# --- what a member sees -----------------------------------------------------------------------


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
        contest = _contest(uow, contest_id)
        v = venue_of(contest)
        account = _account(uow, contest_id, member_id)
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
    return _last_closes(uow, v, v.clock_day)


def positions(uow: TradingUnitOfWork, contest_id: int, member_id: int) -> list[PositionView]:
    with uow.reading(snapshot=True):
        v = venue_of(_contest(uow, contest_id))
        account = _account(uow, contest_id, member_id)
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
        account = _account(uow, contest_id, member_id)
        return uow.trading.equity_curve(account.id)


def check_books(uow: TradingUnitOfWork, contest_id: int) -> list[str]:
    """Stored cash and positions against a replay of the fills, for every account."""
    problems: list[str] = []
    with uow.reading(snapshot=True):
        accounts = uow.trading.accounts(contest_id)
        stored = uow.trading.portfolios(accounts)
        for account in accounts:
            derived = replay(account.id, account.starting_cash, uow.trading.fills(account.id))
            problems += [
                f"account {account.id}: {p}" for p in same_books(stored[account.id], derived)
            ]
    return problems


# --- market data as members may see it -------------------------------------------------------


def visible_bars(
    uow: TradingUnitOfWork,
    symbol: str,
    *,
    start: date,
    end: date,
    contest_id: int | None = None,
) -> list[Bar]:
    """Bars of ``symbol`` no contest clock has yet to reach: replay bars stored ahead of a
    clock stay hidden, so reading market data never reveals a contest's future."""
    with uow.reading():
        uow.market.require_instrument(symbol)
        horizon = _horizon(uow, symbol, contest_id)
        last = end if horizon is None else min(end, horizon)
        if last < start:
            return []
        return uow.market.bars(symbol, start, last)


def _horizon(uow: TradingUnitOfWork, symbol: str, contest_id: int | None) -> date | None:
    if contest_id is not None:
        rows = [_contest(uow, contest_id)]
    else:
        rows = [r for r in uow.trading.running_contests() if symbol in r.universe]
    if not rows:
        return None
    return min(
        r.clock_day if r.clock_day is not None else r.trading_start - timedelta(days=1)
        for r in rows
    )


def list_instruments(
    uow: TradingUnitOfWork, *, market: Market | None, after: str | None, limit: int
) -> tuple[list[Instrument], str | None]:
    with uow.reading():
        found = uow.market.instruments(market=market, after=after, limit=limit + 1)
    if len(found) > limit:
        return found[:limit], found[limit - 1].symbol
    return found, None
