"""Intraday trading, pure: which orders a session takes, and one minute of matching.

Fills at the next quote: an order accepted at instant ``t`` first meets the minute bar that
starts after ``t`` — never the bar current at submission (it started at or before ``t``), so
nothing fills at a price the member could already see. One minute of a session runs the
daily engine's own loop (``engine.trading.execution.execute_day``) on the minute's bars, so
slippage, the volume cap (per minute bar), limit/stop/stop-limit triggers, limit-up and
limit-down locks (the day's band, from the previous close), T+1 and lots are the daily rules.

Orders while the exchange is closed (weekend, holiday, night, the A-share lunch break):

- market, IOC and FOK orders are refused with rule ``session_closed``: each is meant for the
  price of the moment, and there is none;
- limit, stop and stop-limit day and GTC orders queue: they are accepted now and first meet
  the opening minute of the next session (or of the afternoon after the break). A queued day
  order lives until the close of the session it queued for.

While the exchange is open, an order is refused with ``stale_feed`` when its symbol's last
minute bar ended more than ``stale_after`` ago: the feed is out, and matching waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from engine.market.feeds import MinuteBar
from engine.market.sessions import ExchangeSessions, TradingSession
from engine.trading.admission import OrderRefused
from engine.trading.execution import (
    TradingDay,
    VenueDay,
    count_day_trades,
    end_of_day,
    execute_day,
)
from engine.trading.orders import Fill, Order, OrderRequest, OrderType, Reason, TimeInForce
from engine.trading.portfolio import Portfolio, mark_holdings
from engine.trading.rules import PriceBand, RulePack

# A quote older than this (since its minute ended) stops new orders for the symbol.
STALE_AFTER = timedelta(seconds=120)
QUEUEABLE = {OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """An order and the instant it was accepted (UTC): it meets bars starting after that."""

    order: Order
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class SessionGate:
    """How the session takes an order: now, or queued for ``first_bar_after``."""

    queued: bool
    first_bar_after: datetime


def session_gate(
    request: OrderRequest,
    *,
    at: datetime,
    calendar: ExchangeSessions,
    listed: bool,
    last_quote: MinuteBar | None,
    stale_after: timedelta = STALE_AFTER,
) -> SessionGate:
    """Refuse ``request`` at ``at`` (``OrderRefused``: ``unknown_symbol``, ``session_closed``,
    ``stale_feed``) or say when it may first fill; the daily admission checks (shape, price
    band, cash, lots) run after this one."""
    if not listed:
        raise OrderRefused(
            f"{request.symbol!r} is not listed here", field="symbol", reason=Reason.UNKNOWN_SYMBOL
        )
    if not calendar.is_open(at):
        queueable = request.type in QUEUEABLE and request.time_in_force in (
            TimeInForce.DAY,
            TimeInForce.GTC,
        )
        if not queueable:
            opens = calendar.next_open(at).isoformat()
            raise OrderRefused(
                f"the exchange is closed until {opens}; only limit and stop day or GTC orders "
                "queue for the open",
                field="type" if request.type not in QUEUEABLE else "time_in_force",
                reason=Reason.SESSION_CLOSED,
            )
        return SessionGate(queued=True, first_bar_after=at)
    if last_quote is None or at - last_quote.end > stale_after:
        seen = "no quote" if last_quote is None else f"the last quote ended {last_quote.end}"
        raise OrderRefused(
            f"{request.symbol}: {seen}; orders wait until the feed is back",
            field="symbol",
            reason=Reason.STALE_FEED,
        )
    return SessionGate(queued=False, first_bar_after=at)


@dataclass(frozen=True, slots=True)
class MinuteMarket:
    """One minute of a session: the bars that start at ``minute`` and each symbol's band and
    lot for the day."""

    session: TradingSession
    minute: datetime
    bars: Mapping[str, MinuteBar]
    bands: Mapping[str, PriceBand | None]
    lots: Mapping[str, int]

    def __post_init__(self) -> None:
        late = [s for s, bar in self.bars.items() if bar.start != self.minute]
        if late:
            raise ValueError(f"{late[0]}: its bar does not start at {self.minute.isoformat()}")


def run_minute(
    accounts: Sequence[tuple[Portfolio, Sequence[RestingOrder]]],
    market: MinuteMarket,
    rules: RulePack,
    *,
    fills_today: Mapping[int, Sequence[Fill]] | None = None,
) -> VenueDay:
    """Every account meets the minute's bars with the orders accepted before the minute
    started; nothing is matched outside the session (the lunch break included).
    ``fills_today`` (per account) counts toward the pattern-day-trader rule."""
    if not market.session.contains(market.minute):
        return VenueDay(changed=[], fills=[], booked=[])
    day = TradingDay(market.session.day, market.bars, market.bands, market.lots)
    changed: list[Order] = []
    fills: list[Fill] = []
    booked: list[Portfolio] = []
    for portfolio, resting in accounts:
        eligible = [r.order for r in resting if r.accepted_at < market.minute]
        if not eligible:
            continue
        recent = (fills_today or {}).get(portfolio.account_id, ())
        result = execute_day(
            portfolio,
            eligible,
            day,
            rules,
            recent_day_trades=count_day_trades(recent) if rules.pattern_day_trader else 0,
            ends_day=False,
        )
        before = {o.id: o for o in eligible}
        changed += [o for o in result.orders if o != before[o.id]]
        fills += result.fills
        if result.fills:
            booked.append(portfolio)
    return VenueDay(changed=changed, fills=fills, booked=booked)


def close_session(resting: Sequence[RestingOrder], session: TradingSession) -> list[Order]:
    """At the session's close: day orders accepted before it expire (IOC/FOK never rest).
    A day order queued after the close waits for the next session. Returns the changed."""
    closed = []
    for r in resting:
        if r.order.status.is_open and r.accepted_at < session.close:
            after = end_of_day(r.order, session.day)
            if after != r.order:
                closed.append(after)
    return closed


@dataclass(frozen=True, slots=True)
class MinuteTick:
    """What one minute did to a venue: the matching's outcome, every account's equity at the
    minute's closes (aligned with the portfolios given) and the ranking by equity."""

    venue: VenueDay
    equity: list[Decimal]
    ranking: list[int]  # account ids, highest equity first, ties by account id


def tick_minute(
    portfolios: Sequence[Portfolio],
    resting: Mapping[int, Sequence[RestingOrder]],
    market: MinuteMarket,
    rules: RulePack,
    *,
    last_prices: Mapping[str, Decimal],
) -> MinuteTick:
    """One intraday tick of a venue: match the resting orders of the accounts that have any
    (``run_minute``), mark every account at the minute's closes (``last_prices`` for symbols
    without a bar this minute) and rank by equity. Portfolios are booked in place."""
    traders = [(p, resting[p.account_id]) for p in portfolios if p.account_id in resting]
    venue = run_minute(traders, market, rules)
    prices = {**last_prices, **{s: bar.close for s, bar in market.bars.items()}}
    equity = mark_holdings(
        [p.cash for p in portfolios],
        [{s: pos.qty for s, pos in p.positions.items()} for p in portfolios],
        prices,
    )
    return MinuteTick(venue, equity, rank_by_equity(portfolios, equity))


def rank_by_equity(portfolios: Sequence[Portfolio], equity: Sequence[Decimal]) -> list[int]:
    """Account ids by equity, highest first; equal equity ranks the lower account id first."""
    order = sorted(range(len(portfolios)), key=lambda i: (-equity[i], portfolios[i].account_id))
    return [portfolios[i].account_id for i in order]
