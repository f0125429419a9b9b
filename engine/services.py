"""Trading use cases: accounts, orders, the contest clock, and what a member sees.

Every write goes through here (HTTP, CLI and the season simulation alike). The clock is the
only thing that reads new bars: ``advance_clock`` reveals the next day, matches open orders
against it, books fills, and marks every account in the contest at once (numpy).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from engine.portfolio import ZERO, Portfolio, mark_holdings, replay, same_books
from engine.rules import RulePack, rule_pack
from engine.store import (
    AccountBook,
    AccountRow,
    ContestRow,
    TradingRepository,
    order_of_request,
)
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
    outcome = place_orders(uow, contest_id, [(member_id, request)])[0]
    if isinstance(outcome, Order):
        return outcome
    raise outcome


OrderOutcome = Order | DomainError


def place_orders(
    uow: TradingUnitOfWork, contest_id: int, requests: Sequence[tuple[int, OrderRequest]]
) -> list[OrderOutcome]:
    """Many members' orders in one transaction (bots, the season simulation, bulk imports).

    Each ``(member id, request)`` is judged exactly as ``place_order`` judges it, in the given
    order, so an earlier order's reservation counts against a later one of the same member. The
    outcome list is aligned with ``requests``: the stored order, or the refusal (an
    ``OrderRefused``, ``NotEntered`` or ``Conflict``), which wrote nothing. What admission
    reads is loaded once for the batch's accounts (``_Desk``) and the admitted orders are
    stored together, so a batch costs a handful of statements whatever its size.
    """
    with uow:
        desk = _Desk(uow, venue_of(_contest(uow, contest_id)), requests)
        judged = [desk.judge(member_id, request) for member_id, request in requests]
        stored = desk.store()
        uow.commit()
    return [stored[o.index] if isinstance(o, _Admitted) else o for o in judged]


class _Closes:
    """The universe's last closes at the clock's day, read once per transaction."""

    def __init__(self, uow: TradingUnitOfWork, venue: Venue) -> None:
        self._uow, self._venue = uow, venue
        self._closes: dict[str, Decimal] | None = None

    def get(self, day: date) -> dict[str, Decimal]:
        if self._closes is None:
            self._closes = _last_closes(self._uow, self._venue, day)
        return self._closes


@dataclass(frozen=True, slots=True)
class _Admitted:
    index: int  # in the desk's new orders


class _Desk:
    """One batch's order desk: the accounts (locked), their positions, open orders, orders
    submitted today and the orders their client ids name, read with one query each; every
    admitted order joins them at once, so each order is judged as if the ones before it had
    been stored, as ``place_order`` would have."""

    def __init__(
        self, uow: TradingUnitOfWork, venue: Venue, requests: Sequence[tuple[int, OrderRequest]]
    ) -> None:
        self.uow, self.venue = uow, venue
        self.universe = frozenset(venue.universe)
        self.closes = _Closes(uow, venue)
        trading = uow.trading
        self.accounts = trading.accounts_of(venue.contest_id, (m for m, _ in requests), lock=True)
        ids = [a.id for a in self.accounts.values()]
        self.known: dict[tuple[int, str], Order | _Admitted] = dict(
            trading.orders_by_client_ids(
                (self.accounts[m].id, r.client_order_id)
                for m, r in requests
                if r.client_order_id is not None and m in self.accounts
            )
        )
        self.open = trading.open_orders_of(ids)
        # Orders submitted today only matter under a daily order limit.
        day, limited = venue.clock_day, venue.rules.guards.max_orders_per_day is not None
        self.today = trading.orders_submitted_on(ids, day) if day and limited else {}
        self.positions = trading.positions_of(ids)
        self.instruments = uow.market.instruments_of(
            {r.symbol for _, r in requests} & self.universe
        )
        self.portfolios: dict[int, Portfolio] = {}
        self.new: list[Order] = []
        self.stored: list[Order] = []  # the first len(stored) of ``new``, with their ids

    def judge(self, member_id: int, request: OrderRequest) -> OrderOutcome | _Admitted:
        try:
            return self._admit(member_id, request)
        except (OrderRefused, NotFound, Conflict) as refusal:
            return refusal

    def _admit(self, member_id: int, request: OrderRequest) -> Order | _Admitted:
        account = self.accounts.get(member_id)
        if account is None:
            raise NotEntered(
                f"you have no entry in contest {self.venue.contest_id}",
                contest_id=self.venue.contest_id,
            )
        existing = (
            None
            if request.client_order_id is None
            else self.known.get((account.id, request.client_order_id))
        )
        if existing is not None:
            return self._replayed(existing, request)
        ctx = self._context(account, request)
        reserved = admit(request, ctx)
        client_id = request.client_order_id or f"pl-{uuid.uuid4().hex}"
        order = order_of_request(
            Order(
                id=0,
                account_id=account.id,
                client_order_id=client_id,
                request=request,
                status=OrderStatus.NEW,
                submitted_day=ctx.day,
                reserved_cash=reserved,
            ),
            0,
        )
        admitted = _Admitted(len(self.new))
        self.new.append(order)
        self.open[account.id].append(order)
        self.today[account.id] = self.today.get(account.id, 0) + 1
        self.known[(account.id, client_id)] = admitted
        return admitted

    def _replayed(self, existing: Order | _Admitted, request: OrderRequest) -> Order | _Admitted:
        stored = self.new[existing.index] if isinstance(existing, _Admitted) else existing
        if stored.request == request:
            return existing
        if isinstance(existing, _Admitted):
            stored = self.store()[existing.index]  # the refusal names the stored order's id
        raise Conflict(
            f"client_order_id {request.client_order_id!r} was used for a different order",
            client_order_id=request.client_order_id,
            order_id=stored.id,
        )

    def _context(self, account: AccountRow, request: OrderRequest) -> OrderContext:
        venue = self.venue
        if not venue.trading or venue.clock_day is None:
            raise OrderRefused(
                "the contest is not trading now: orders are taken from its first trading day "
                "until its last",
                field="contest_id",
                reason=Reason.OUTSIDE_TRADING_WINDOW,
            )
        day = venue.clock_day
        if request.symbol not in self.universe:
            reason = (
                Reason.NOT_IN_UNIVERSE
                if self.uow.market.instrument(request.symbol)
                else Reason.UNKNOWN_SYMBOL
            )
            raise OrderRefused(
                f"{request.symbol!r} is not traded in this contest", field="symbol", reason=reason
            )
        instrument = self.instruments.get(request.symbol)
        if instrument is None:
            instrument = self.uow.market.require_instrument(request.symbol)
        prices = self.closes.get(day)
        last_close = prices.get(request.symbol)
        if last_close is None:
            raise OrderRefused(
                f"{request.symbol} has no price yet", field="symbol", reason=Reason.NO_PRICE
            )
        return OrderContext(
            day=day,
            rules=venue.rules,
            instrument=instrument,
            last_close=last_close,
            band=venue.rules.price_band(instrument.board, last_close),
            portfolio=self._portfolio(account),
            open_orders=tuple(self.open[account.id]),
            orders_today=self.today.get(account.id, 0),
            prices=prices,
        )

    def _portfolio(self, account: AccountRow) -> Portfolio:
        found = self.portfolios.get(account.id)
        if found is None:
            found = self.portfolios[account.id] = Portfolio(
                account_id=account.id,
                starting_cash=account.starting_cash,
                cash=account.cash,
                fees_paid=account.fees_paid,
                realized_pnl=account.realized_pnl,
                positions=self.positions[account.id],
            )
        return found

    def store(self) -> list[Order]:
        """Store the admitted orders not stored yet; every admitted order, with its id."""
        self.stored += self.uow.trading.add_orders(
            self.venue.contest_id, self.new[len(self.stored) :]
        )
        return self.stored


def _last_closes(uow: TradingUnitOfWork, venue: Venue, day: date) -> dict[str, Decimal]:
    """Each universe symbol's close on ``day`` or, if it did not trade, its last before."""
    closes = {s: bar.close for s, bar in uow.market.bars_on(day, venue.universe).items()}
    return _with_earlier_closes(uow, venue, closes, day)


def _closes_before(uow: TradingUnitOfWork, venue: Venue, day: date) -> dict[str, Decimal]:
    """Each universe symbol's last close before ``day``, the clock's next day: no universe bar
    lies between the clock's day and ``day``, so that day's bars give every symbol that
    traded on it."""
    if venue.clock_day is None or venue.clock_day >= day:
        return uow.market.previous_closes(venue.universe, day)
    bars = uow.market.bars_on(venue.clock_day, venue.universe)
    return _with_earlier_closes(uow, venue, {s: bar.close for s, bar in bars.items()}, day)


def _with_earlier_closes(
    uow: TradingUnitOfWork, venue: Venue, closes: dict[str, Decimal], day: date
) -> dict[str, Decimal]:
    """``closes`` with the last close before ``day`` of the universe symbols it lacks."""
    missing = [s for s in venue.universe if s not in closes]
    if missing:  # a suspended symbol: one query over its earlier bars
        closes = {**uow.market.previous_closes(missing, day), **closes}
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
    # What the revealed days gave, for followers of the whole contest (bots, the season
    # simulation): every fill in booking order, and the closes printed on the last day.
    booked: tuple[Fill, ...] = ()
    closes: dict[str, Decimal] = field(default_factory=dict)


def advance_clock(
    uow: TradingUnitOfWork,
    contest_id: int,
    *,
    bars: int = 1,
    until: date | None = None,
    now: datetime | None = None,
) -> ClockReport:
    """Reveal up to ``bars`` more trading days, one transaction per day, none after ``until``
    (a live contest passes the last day that has ended). ``now`` stamps the referral and PK
    round awards paid after the days commit (default: the wall clock)."""
    days: list[date] = []
    booked: list[Fill] = []
    closes: dict[str, Decimal] = {}
    current: Venue | None = None
    for _ in range(bars):
        with uow:
            contest = _contest(uow, contest_id, lock=True)
            step = _advance_one_day(uow, contest, until)
            current = venue_of(contest)
            if step is None:
                break
            uow.commit()
        days.append(step.day)
        booked += step.fills
        closes = step.closes
    pay_referrals(uow, contest_id, now=now)
    pk_rounds.pay_round_awards(uow, contest_id, now=now)
    if current is None:  # no bar asked for
        current = venue(uow, contest_id)
    return ClockReport(
        contest_id=contest_id,
        days=days,
        fills=len(booked),
        clock_day=current.clock_day,
        finished=current.clock_day is not None and current.clock_day >= current.trading_end,
        booked=tuple(booked),
        closes=closes,
    )


@dataclass(frozen=True, slots=True)
class _Step:
    day: date
    fills: list[Fill]
    closes: dict[str, Decimal]


def _advance_one_day(
    uow: TradingUnitOfWork, contest: ContestRow, until: date | None
) -> _Step | None:
    v = venue_of(contest)
    day = _next_day(uow, v)
    if day is None or (until is not None and day > until):
        return None
    bars = uow.market.bars_on(day, v.universe)
    previous = _closes_before(uow, v, day)
    instruments = uow.market.instruments_of(v.universe)
    for symbol in set(v.universe) - set(instruments):
        uow.market.require_instrument(symbol)  # raises UnknownSymbol
    market = TradingDay(
        day=day,
        bars=bars,
        bands={s: v.rules.price_band(instruments[s].board, previous.get(s)) for s in bars},
        lots={s: v.rules.lot_for(i.lot_size) for s, i in instruments.items()},
    )
    books, held = _books_before(uow, contest)
    by_account: dict[int, list[Order]] = defaultdict(list)
    for order in uow.trading.open_orders(contest_id=v.contest_id):
        by_account[order.account_id].append(order)
    # Only accounts with open orders can change today: their books are read in full.
    traders = [book for book in books if book.id in by_account]
    positions = uow.trading.positions_of(book.id for book in traders)
    stored = {
        (account, symbol): replace(position)  # as read: matching moves the positions
        for account, rows in positions.items()
        for symbol, position in rows.items()
    }
    changed: list[Order] = []
    all_fills: list[Fill] = []
    booked: list[Portfolio] = []
    first_fills: list[int] = []
    last_day = day >= v.trading_end
    for book in traders:
        orders = by_account[book.id]
        portfolio = Portfolio(
            book.id,
            book.starting_cash,
            book.cash,
            book.fees_paid,
            book.realized_pnl,
            positions[book.id],
        )
        day_trades = _recent_day_trades(uow, book.id, day) if v.rules.pattern_day_trader else 0
        result = execute_day(portfolio, orders, market, v.rules, recent_day_trades=day_trades)
        if last_day:
            changed += [
                o.closed(OrderStatus.CANCELED, Reason.CONTEST_ENDED, day) if o.status.is_open else o
                for o in result.orders
            ]
        else:
            before = {o.id: o for o in orders}
            changed += [o for o in result.orders if o != before[o.id]]
        all_fills += result.fills
        if result.fills:
            booked.append(portfolio)
            held[book.id] = {s: p.qty for s, p in portfolio.positions.items() if p.qty}
            if book.first_fill_day is None:
                first_fills.append(book.id)
    # One statement per kind of write, in the order the books were worked.
    uow.trading.update_orders(changed)
    uow.trading.add_fills(v.contest_id, all_fills)
    uow.trading.save_books(booked, stored=stored, first_fill_day=day, first_fills=first_fills)
    prices = {**previous, **{s: b.close for s, b in bars.items()}}
    cash = {p.account_id: p.cash for p in booked}
    equity = _mark(uow, v.contest_id, day, books, cash, held, prices)
    contest.clock_day = day
    contest.clock_ticks += 1
    standings.record_tick(uow, contest, day, books, equity, fills=all_fills)
    pk_rounds.on_tick(uow, contest, day)
    _remember_books(uow, contest, books, booked, set(first_fills), day, held)
    return _Step(day, all_fills, {s: b.close for s, b in bars.items()})


# --- the books the clock marks, kept between ticks -------------------------------------------
#
# Only the clock moves an account's cash and positions, one tick at a time under the contest's
# row lock, so what a committed tick left is what the next tick starts from. The process keeps
# that per (database, contest) and tick, as the standings cache does, and the next tick reads
# only the accounts that joined since; any other tick (another process ran the clock, a rolled
# back tick) misses and reads everything.


@dataclass(frozen=True, slots=True)
class _Marked:
    tick: int
    books: dict[int, AccountBook]
    held: dict[int, dict[str, Decimal]]  # non-zero quantities; inner dicts are never mutated


_MARKED_CONTESTS = 16
_marked: OrderedDict[tuple[str, int], _Marked] = OrderedDict()
_marked_lock = threading.Lock()


def _books_before(
    uow: TradingUnitOfWork, contest: ContestRow
) -> tuple[list[AccountBook], dict[int, dict[str, Decimal]]]:
    """Every account of the contest (by id) and its non-zero holdings before this tick."""
    with _marked_lock:
        found = _marked.get((uow.standings.source(), contest.id))
    if found is None or found.tick != contest.clock_ticks:
        return uow.trading.account_books(contest.id), uow.trading.holdings(contest.id)
    ids = uow.trading.account_ids(contest.id)
    joined = [i for i in ids if i not in found.books]
    fresh = {b.id: b for b in uow.trading.account_books(contest.id, ids=joined)} if joined else {}
    return [found.books.get(i) or fresh[i] for i in ids], dict(found.held)


def _remember_books(
    uow: TradingUnitOfWork,
    contest: ContestRow,
    books: Sequence[AccountBook],
    booked: Sequence[Portfolio],
    first_fills: set[int],
    day: date,
    held: dict[int, dict[str, Decimal]],
) -> None:
    """Keep what this tick leaves, for the next one, once (and if) it commits."""
    worked = {p.account_id: p for p in booked}
    after = {}
    for book in books:
        p = worked.get(book.id)
        after[book.id] = (
            book
            if p is None
            else book._replace(
                cash=p.cash,
                fees_paid=p.fees_paid,
                realized_pnl=p.realized_pnl,
                first_fill_day=day if book.id in first_fills else book.first_fill_day,
            )
        )
    key = (uow.standings.source(), contest.id)
    marked = _Marked(contest.clock_ticks, after, held)

    def remember() -> None:
        with _marked_lock:
            _marked[key] = marked
            _marked.move_to_end(key)
            while len(_marked) > _MARKED_CONTESTS:
                _marked.popitem(last=False)

    uow.standings.after_commit(remember)


def forget_books() -> None:
    """Drop the kept books (what a restart does)."""
    with _marked_lock:
        _marked.clear()


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
    books: Sequence[AccountBook],
    cash: dict[int, Decimal],
    held: dict[int, dict[str, Decimal]],
    prices: dict[str, Decimal],
) -> list[Decimal]:
    """Store every account's equity at ``day``'s closes (one matrix product for all) and
    return it, aligned with ``books``; ``cash`` and ``held`` hold what today's fills changed."""
    if not books:
        return []
    money_left = [cash.get(b.id, b.cash) for b in books]
    equity = mark_holdings(money_left, [held.get(b.id, {}) for b in books], prices)
    uow.trading.add_equity(
        contest_id,
        day,
        [(b.id, c, e) for b, c, e in zip(books, money_left, equity, strict=True)],
    )
    return equity


def pay_referrals(uow: TradingUnitOfWork, contest_id: int, *, now: datetime | None = None) -> int:
    """Fire the ledger's referral reward for members whose first trade just filled (only
    members who came through a referral have one to fire), then clear their flags."""
    with uow.reading():
        pending = uow.trading.referral_pending(contest_id)
        referred = [m for m in pending if uow.engagement.referral_of(m) is not None]
    for member_id in referred:
        engagement.complete_referral(uow, member_id, now=now)  # idempotent: once ever per member
    if pending:
        with uow:
            uow.trading.clear_referral_pending(contest_id, pending)
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
    operator: bool = False,
) -> list[Bar]:
    """Bars of ``symbol`` in ``[start, end]`` that reveal no running contest's future.

    The horizon is the earliest clock among the running contests that trade ``symbol``. A
    contest is running from its creation until its clock reaches ``trading_end`` (finished and
    settled contests hide nothing); one not started yet counts with the day before its
    ``trading_start``, so a replay contest's bars stay hidden until it starts. A contest with no
    bar of ``symbol`` left in its window after its clock (it starts after every stored bar, or
    its last trading day has passed) has nothing to hide. Nobody but an operator sees a bar
    after the horizon, whichever contest ``contest_id`` names: a contest further ahead, or a
    finished one, must not reveal what a slower one has not reached. ``contest_id`` narrows the
    view to that contest's own clock (for operators too). Days are exchange-local.
    """
    with uow.reading():
        uow.market.require_instrument(symbol)
        horizon = None if operator else _horizon(uow, symbol)
        if contest_id is not None:
            own = _clock_or_eve(_contest(uow, contest_id))
            horizon = own if horizon is None else min(horizon, own)
        last = end if horizon is None else min(end, horizon)
        if last < start:
            return []
        return uow.market.bars(symbol, start, last)


def _horizon(uow: TradingUnitOfWork, symbol: str) -> date | None:
    """The earliest clock of the running contests with a bar of ``symbol`` still to reveal."""
    clocks = []
    for row in uow.trading.running_contests():
        if symbol not in row.universe:
            continue
        clock = _clock_or_eve(row)
        following = uow.market.next_trading_day([symbol], clock)
        if following is not None and following <= row.trading_end:
            clocks.append(clock)
    return min(clocks, default=None)


def _clock_or_eve(row: ContestRow) -> date:
    """The last day the contest's clock revealed, or the eve of its first trading day."""
    return row.clock_day if row.clock_day is not None else row.trading_start - timedelta(days=1)


def list_instruments(
    uow: TradingUnitOfWork, *, market: Market | None, after: str | None, limit: int
) -> tuple[list[Instrument], str | None]:
    with uow.reading():
        found = uow.market.instruments(market=market, after=after, limit=limit + 1)
    if len(found) > limit:
        return found[:limit], found[limit - 1].symbol
    return found, None
