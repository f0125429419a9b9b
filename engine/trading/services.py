"""Trading use cases: venues and accounts, cancelling and reading orders, referral rewards
for first trades, the books check, and market data as members may see it.

Placing orders is ``engine.trading.order_desk``; what a member sees of their account is
``engine.trading.views``; the clock that reveals days is ``engine.clock``, whose trading half
is ``engine.trading.next_day``. Every write goes through these (HTTP, CLI and the season
simulation alike).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.errors import Conflict, NotFound, RuleViolation
from engine.market.model import Bar, Instrument, Market
from engine.market.sessions import sessions_for
from engine.trading.corporate import applied_history, replay_with_actions
from engine.trading.orders import Fill, Order, OrderStatus, Reason
from engine.trading.portfolio import same_books
from engine.trading.rules import rule_pack
from engine.trading.store import (
    ContestRow,
)
from engine.trading.uow import TradingUnitOfWork
from engine.trading.venue import Venue, require_account, require_contest, venue_of
from ledger import engagement

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
    bar_interval: str = "daily",
) -> Venue:
    """A contest's trading state: rules are validated and instruments must exist;
    ``bar_interval`` "minute" makes it a live intraday contest (``engine.intraday_clock``)."""
    rule_pack(market, rule_overrides)  # raises RuleViolation naming the bad field
    if bar_interval not in ("daily", "minute"):
        raise RuleViolation("bar_interval is daily or minute", field="bar_interval", rule="one_of")
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
                bar_interval=bar_interval,
            )
        )
        venue = venue_of(row)
        uow.commit()
    return venue


def venue(uow: TradingUnitOfWork, contest_id: int) -> Venue:
    with uow.reading():
        return venue_of(require_contest(uow, contest_id))


def open_account(uow: TradingUnitOfWork, contest_id: int, member_id: int) -> int:
    """The member's account in the contest, created once with the starting cash."""
    with uow:
        contest = require_contest(uow, contest_id)
        existing = uow.trading.account(contest_id, member_id)
        if existing is not None:
            return existing.id
        account = uow.trading.add_account(contest_id, member_id, contest.starting_cash)
        uow.commit()
        return account.id


# --- orders -----------------------------------------------------------------------------------


def cancel_order(uow: TradingUnitOfWork, contest_id: int, member_id: int, order_id: int) -> Order:
    """Cancel an open order, releasing what it reserved; a closed order is a Conflict."""
    with uow:
        contest = require_contest(uow, contest_id)
        account = require_account(uow, contest_id, member_id, lock=True)
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
        account = require_account(uow, contest_id, member_id)
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
        account = require_account(uow, contest_id, member_id)
        return uow.trading.orders_page(account.id, status=status, after=after, limit=limit)


def list_fills(
    uow: TradingUnitOfWork, contest_id: int, member_id: int, *, after: int | None, limit: int
) -> tuple[list[tuple[int, Fill]], int | None]:
    """The member's fills in the contest (their trade history), newest first, keyset paged
    by fill id; the second value is the cursor of the next page."""
    with uow.reading():
        account = require_account(uow, contest_id, member_id)
        found = uow.trading.fills_page(account.id, before=after, limit=limit + 1)
    if len(found) > limit:
        return found[:limit], found[limit - 1][0]
    return found, None


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


def check_books(uow: TradingUnitOfWork, contest_id: int) -> list[str]:
    """Stored cash and positions against a replay of the fills, for every account."""
    problems: list[str] = []
    with uow.reading(snapshot=True):
        accounts = uow.trading.accounts(contest_id)
        stored = uow.trading.portfolios(accounts)
        for account in accounts:
            fills = uow.trading.fills(account.id)
            applied = applied_history(uow, account.id)
            derived = replay_with_actions(account.id, account.starting_cash, fills, applied)
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
            own = _clock_or_eve(require_contest(uow, contest_id))
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
    """The last day the contest's clock revealed, or the eve of its first trading day. A
    minute contest's clock day is the session it trades: that day's bar (its close) is revealed
    only once the session's last minute is ticked."""
    if row.clock_day is None:
        return row.trading_start - timedelta(days=1)
    if row.bar_interval == "minute" and not _session_ticked(row, row.clock_day):
        return row.clock_day - timedelta(days=1)
    return row.clock_day


def _session_ticked(row: ContestRow, day: date) -> bool:
    session = sessions_for(row.market).session(day)
    last = row.intraday_bar
    return session is None or (last is not None and last + timedelta(minutes=1) >= session.close)


def list_instruments(
    uow: TradingUnitOfWork,
    *,
    market: Market | None,
    after: str | None,
    limit: int,
    query: str | None = None,
    contest_id: int | None = None,
) -> tuple[list[Instrument], str | None]:
    """Instruments by symbol; ``query`` searches a symbol prefix or a name substring (the
    trading screen's symbol search), ``contest_id`` keeps the contest's universe."""
    with uow.reading():
        universe = None if contest_id is None else require_contest(uow, contest_id).universe
        found = uow.market.instruments(
            market=market, after=after, limit=limit + 1, query=query, symbols=universe
        )
    if len(found) > limit:
        return found[:limit], found[limit - 1].symbol
    return found, None
