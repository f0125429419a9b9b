"""The trading half of a clock tick: reveal the contest's next day, fill what it allows, book
the fills and mark every account at the day's closes.

It runs inside the clock's open transaction (``engine.clock``), which then ranks the day and
commits; ``keep_books`` is the step the clock runs after the commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from engine.trading.books_cache import Holdings, KeptBooks
from engine.trading.closes import closes_before
from engine.trading.corporate import apply_actions_on
from engine.trading.execution import PDT_PRIOR_DAYS, TradingDay, run_day
from engine.trading.orders import Fill, Order
from engine.trading.portfolio import Portfolio, mark_holdings
from engine.trading.store import AccountBook, ContestRow
from engine.trading.uow import TradingUnitOfWork
from engine.trading.venue import Venue, venue_of


@dataclass(frozen=True, slots=True)
class TradedDay:
    day: date
    fills: list[Fill]  # in booking order
    closes: dict[str, Decimal]  # the closes the day printed
    books: list[AccountBook]  # every account of the contest, by id, as the day left them
    equity: list[Decimal]  # aligned with ``books``
    kept: KeptBooks  # what the next tick may start from, once this one commits


def trade_next_day(
    uow: TradingUnitOfWork, contest: ContestRow, until: date | None
) -> TradedDay | None:
    """Reveal the contest's next trading day (none after ``until``) and advance its clock;
    ``None`` when there is no such day. The caller holds the contest's row lock."""
    v = venue_of(contest)
    day = _next_day(uow, v)
    if day is None or (until is not None and day > until):
        return None
    bars = uow.market.bars_on(day, v.universe)
    # Ex-date first: actions booked at the open, the reference price standing in for the close.
    previous = apply_actions_on(uow, v, day, closes_before(uow, v, day))
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
    portfolios = [
        Portfolio(b.id, b.starting_cash, b.cash, b.fees_paid, b.realized_pnl, positions[b.id])
        for b in traders
    ]
    outcome = run_day(
        [(p, by_account[p.account_id]) for p in portfolios],
        market,
        v.rules,
        recent_fills=_recent_fills(uow, v, day, traders) if v.rules.pattern_day_trader else {},
        closing=day >= v.trading_end,
    )
    first = {b.id for b in traders if b.first_fill_day is None}
    first_fills = [p.account_id for p in outcome.booked if p.account_id in first]
    for p in outcome.booked:
        held[p.account_id] = {s: pos.qty for s, pos in p.positions.items() if pos.qty}
    # One statement per kind of write, in the order the books were worked.
    uow.trading.update_orders(outcome.changed)
    uow.trading.add_fills(v.contest_id, outcome.fills)
    uow.trading.save_books(
        v.contest_id, outcome.booked, stored=stored, first_fill_day=day, first_fills=first_fills
    )
    closes = {s: b.close for s, b in bars.items()}
    after = _books_after(books, outcome.booked, set(first_fills), day)
    equity = _mark(uow, v.contest_id, day, after, held, {**previous, **closes})
    contest.clock_day = day
    contest.clock_ticks += 1
    kept = KeptBooks(contest.books_version, {b.id: b for b in after}, held)
    return TradedDay(day, outcome.fills, closes, after, equity, kept)


def keep_books(uow: TradingUnitOfWork, contest_id: int, day: TradedDay) -> None:
    """After the day commits: the next tick of this process may start from its books."""
    uow.books.put(uow.source(), contest_id, day.kept)


def _books_before(
    uow: TradingUnitOfWork, contest: ContestRow
) -> tuple[list[AccountBook], Holdings]:
    """Every account of the contest (by id) and its non-zero holdings before this tick."""
    found = uow.books.get(uow.source(), contest.id, contest.books_version)
    if found is None:
        return uow.trading.account_books(contest.id), uow.trading.holdings(contest.id)
    ids = uow.trading.account_ids(contest.id)
    joined = [i for i in ids if i not in found.books]
    fresh = {b.id: b for b in uow.trading.account_books(contest.id, ids=joined)} if joined else {}
    return [found.books.get(i) or fresh[i] for i in ids], dict(found.held)


def _books_after(
    books: list[AccountBook], booked: list[Portfolio], first_fills: set[int], day: date
) -> list[AccountBook]:
    worked = {p.account_id: p for p in booked}
    after = []
    for book in books:
        p = worked.get(book.id)
        after.append(
            book
            if p is None
            else book._replace(
                cash=p.cash,
                fees_paid=p.fees_paid,
                realized_pnl=p.realized_pnl,
                first_fill_day=day if book.id in first_fills else book.first_fill_day,
            )
        )
    return after


def _next_day(uow: TradingUnitOfWork, v: Venue) -> date | None:
    if v.clock_day is None:
        days = uow.market.trading_days(v.universe, v.trading_start, v.trading_end)
        return days[0] if days else None
    if v.clock_day >= v.trading_end:
        return None
    following = uow.market.next_trading_day(v.universe, v.clock_day)
    return following if following is not None and following <= v.trading_end else None


def _recent_fills(
    uow: TradingUnitOfWork, v: Venue, day: date, traders: list[AccountBook]
) -> dict[int, list[Fill]]:
    """The traders' fills on the contest's trading days of the PDT window before ``day``."""
    window = uow.market.trading_days_before(v.universe, day, PDT_PRIOR_DAYS)
    return uow.trading.fills_on_days((b.id for b in traders), window)


def _mark(
    uow: TradingUnitOfWork,
    contest_id: int,
    day: date,
    books: list[AccountBook],
    held: Holdings,
    prices: dict[str, Decimal],
) -> list[Decimal]:
    """Store every account's equity at ``day``'s closes (one matrix product for all) and
    return it, aligned with ``books``."""
    if not books:
        return []
    money_left = [b.cash for b in books]
    equity = mark_holdings(money_left, [held.get(b.id, {}) for b in books], prices)
    uow.trading.add_equity(
        contest_id,
        day,
        [(b.id, c, e) for b, c, e in zip(books, money_left, equity, strict=True)],
    )
    return equity
