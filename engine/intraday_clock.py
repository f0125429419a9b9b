"""The intraday clock: one transaction per (minute contest, minute bar), called by the worker.

``run_intraday_tick(uow, contest_id, bar_start)`` under the contest's row lock reads that
minute's bars from the minute store, matches the resting orders accepted before the bar's
start (``engine.trading.intraday.run_minute``: next-quote fills through the daily matching
module), books the fills and marks every account at the minute's closes (the live ranking it
returns). On the session's last minute it also closes the session the way the daily clock
closes a day: day orders expire, every account's equity is stored for the session's day, and
the standings rank it (``engine.contests.standings.record_tick``, the daily path: one
leaderboard tick per session, so the daily metrics — Sharpe over daily returns — keep their
meaning), then PK rounds ending that day are judged.

**Idempotent per (contest, bar):** the contest keeps the last ticked bar start
(``intraday_bar``); a tick for that bar or an earlier one does nothing, so two workers or a
restart never run a minute twice (the row lock serializes them).

**Corporate actions** take effect at a session's first tick, as at the daily clock's open
(``engine.trading.corporate``); the day's price band and the marks of a symbol without a bar
start from the reference price, so a split shows no fake loss.

**Feed outage:** a symbol the contest holds or has an open order for, with no bar this minute
and none ending within ``stale_after`` of ``now``, pauses the contest's matching: nothing
fills, the pointer stays (the minute is run again once its bars arrive) and the contest records
``feed_stale_since`` — the status ``feed_stale`` its API shows. Never a fill at a stale price.

**Live streams** (``engine.contests.live_feed``): each minute that runs stores its ranking
once (member ids by equity) and broadcasts ``rank.live``; the feed going stale or recovering
broadcasts ``contest.feed``; the session close's standings tick broadcasts ``rank.change``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.clock import utc_now
from core.errors import RuleViolation
from engine.contests import live_feed, pk_rounds, rules, standings
from engine.market.feeds import MinuteBar
from engine.market.sessions import TradingSession, sessions_for
from engine.trading.closes import closes_before, with_earlier_closes
from engine.trading.corporate import apply_actions_on
from engine.trading.intraday import (
    STALE_AFTER,
    MinuteMarket,
    RestingOrder,
    close_session,
    rank_by_equity,
    run_minute,
)
from engine.trading.orders import Fill, Order
from engine.trading.portfolio import Portfolio, mark_holdings
from engine.trading.store import AccountBook, ContestRow
from engine.trading.venue import Venue, require_contest, venue_of
from engine.uow import EngineUnitOfWork

DAILY, MINUTE = "daily", "minute"
BAR_INTERVALS = (DAILY, MINUTE)
FEED_STALE, LIVE = "feed_stale", "live"

_AfterCommit = Callable[[], None]


@dataclass(frozen=True, slots=True)
class IntradayTick:
    """What one call did: ``ran`` False when the bar was already ticked (or the feed is stale)."""

    contest_id: int
    bar_start: datetime
    ran: bool
    feed_stale: tuple[str, ...] = ()  # the symbols whose quotes are stale (matching paused)
    fills: tuple[Fill, ...] = ()
    expired: tuple[Order, ...] = ()
    session_closed: bool = False
    ranking: tuple[int, ...] = ()  # account ids, highest equity at the minute's closes first
    equity: tuple[Decimal, ...] = ()  # aligned with ``ranking``


def feed_status(contest: ContestRow) -> str | None:
    """A minute contest's feed status for its API (``live`` or ``feed_stale``); None if daily."""
    if contest.bar_interval != MINUTE:
        return None
    return FEED_STALE if contest.feed_stale_since is not None else LIVE


def stale_symbols(
    needed: set[str],
    bars: dict[str, MinuteBar],
    earlier: dict[str, MinuteBar],
    *,
    since: datetime,
    now: datetime,
    stale_after: timedelta,
) -> list[str]:
    """The needed symbols with no bar this minute whose last quote (today's last bar, else the
    session's opening instant ``since``) ended more than ``stale_after`` before ``now``."""
    stale = []
    for symbol in sorted(needed - set(bars)):
        last = earlier.get(symbol)
        seen = last.end if last is not None else since
        if now - seen > stale_after:
            stale.append(symbol)
    return stale


def run_intraday_tick(
    uow: EngineUnitOfWork,
    contest_id: int,
    bar_start: datetime,
    *,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> IntradayTick:
    """Tick minute contest ``contest_id`` at the minute bar starting at ``bar_start`` (UTC),
    once: see the module's doc. ``now`` (default: the wall clock) judges the feed's age."""
    moment = now or utc_now()
    with uow:
        contest = require_contest(uow, contest_id, lock=True)
        if contest.bar_interval != MINUTE:
            raise RuleViolation(
                "only a minute contest ticks intraday", field="bar_interval", rule="minute_only"
            )
        if contest.intraday_bar is not None and bar_start <= contest.intraday_bar:
            return IntradayTick(contest_id, bar_start, ran=False)
        session = sessions_for(contest.market).session_at(bar_start)
        if session is None or bar_start.second or bar_start.microsecond:
            raise RuleViolation(
                f"{bar_start.isoformat()} does not start a trading minute",
                field="bar_start",
                rule="trading_minute",
            )
        if not contest.trading_start <= session.day <= contest.trading_end:
            raise RuleViolation(
                f"{session.day} is outside the contest's trading window",
                field="bar_start",
                rule="trading_window",
            )
        tick, after_commit = _tick(uow, contest, session, bar_start, moment, stale_after)
        uow.commit()
    for step in after_commit:
        step()
    return tick


def _tick(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    session: TradingSession,
    bar_start: datetime,
    now: datetime,
    stale_after: timedelta,
) -> tuple[IntradayTick, list[_AfterCommit]]:
    first = contest.clock_day is None
    v = venue_of(contest)
    day = session.day
    if contest.clock_day is None or contest.clock_day < day:
        # A new session: its corporate actions at the open, before any order is read or
        # matched, as the daily clock does (once per account and action, so a stale retry of
        # this minute applies nothing twice).
        apply_actions_on(uow, v, day, closes_before(uow, v, day))
    bars, earlier = uow.minutes.minute_and_last_before(v.universe, day, bar_start)
    resting: dict[int, list[RestingOrder]] = defaultdict(list)
    for order, accepted_at in uow.trading.resting_orders(contest_id=v.contest_id):
        resting[order.account_id].append(RestingOrder(order, accepted_at))
    books, held = uow.trading.account_books(v.contest_id), uow.trading.holdings(v.contest_id)
    needed = {r.order.request.symbol for rs in resting.values() for r in rs}
    needed |= {s for h in held.values() for s, qty in h.items() if qty}
    stale = stale_symbols(
        needed, bars, earlier, since=session.open, now=now, stale_after=stale_after
    )
    if stale:
        if contest.feed_stale_since is None:
            contest.feed_stale_since = now
            live_feed.broadcast_feed(uow, v.contest_id, stale=stale, at=now)
        return IntradayTick(v.contest_id, bar_start, ran=False, feed_stale=tuple(stale)), []
    if contest.feed_stale_since is not None:
        contest.feed_stale_since = None
        live_feed.broadcast_feed(uow, v.contest_id, stale=(), at=now)
    if first:
        rules.lock_rules(uow, contest, now=now)
    contest.clock_day = day
    # the previous closes, carried over the actions since (a split day's reference price)
    previous = with_earlier_closes(uow, replace(v, clock_day=None), {}, day, actions_through=day)
    fills, booked, changed = _match(uow, v, books, resting, bars, previous, session, bar_start)
    for p in booked:
        held[p.account_id] = {s: pos.qty for s, pos in p.positions.items() if pos.qty}
    after = _books_after(books, booked)
    prices = {**previous, **{s: m.close for s, m in earlier.items()}}
    prices |= {s: m.close for s, m in bars.items()}
    equity = mark_holdings([b.cash for b in after], [held.get(b.id, {}) for b in after], prices)
    previous_bar, contest.intraday_bar = contest.intraday_bar, bar_start
    after_commit: list[_AfterCommit] = []
    expired: list[Order] = []
    closing = bar_start + timedelta(minutes=1) >= session.close
    if closing:
        expired = _close(uow, contest, session, changed)
        after_commit = _rank_day(uow, contest, day, after, equity)
    portfolios = [
        Portfolio(b.id, b.starting_cash, b.cash, b.fees_paid, b.realized_pnl, {}) for b in after
    ]
    ranking = rank_by_equity(portfolios, equity)
    by_id = dict(zip((b.id for b in after), equity, strict=True))
    if ranking:
        member_of = {b.id: b.member_id for b in after}
        live_feed.broadcast_live_ranking(
            uow,
            v.contest_id,
            bar_start,
            [member_of[a] for a in ranking],
            previous_bar=previous_bar,
        )
    return (
        IntradayTick(
            v.contest_id,
            bar_start,
            ran=True,
            fills=tuple(fills),
            expired=tuple(expired),
            session_closed=closing,
            ranking=tuple(ranking),
            equity=tuple(by_id[a] for a in ranking),
        ),
        after_commit,
    )


def _match(
    uow: EngineUnitOfWork,
    v: Venue,
    books: list[AccountBook],
    resting: dict[int, list[RestingOrder]],
    bars: dict[str, MinuteBar],
    previous: dict[str, Decimal],
    session: TradingSession,
    minute: datetime,
) -> tuple[list[Fill], list[Portfolio], dict[int, Order]]:
    """Match the minute and store what it changed; returns the fills, the booked portfolios
    and every open order as the minute left it (by id)."""
    traders = [b for b in books if b.id in resting]
    positions = uow.trading.positions_of(b.id for b in traders)
    stored = {
        (account, symbol): replace(position)
        for account, rows in positions.items()
        for symbol, position in rows.items()
    }
    portfolios = [
        Portfolio(b.id, b.starting_cash, b.cash, b.fees_paid, b.realized_pnl, positions[b.id])
        for b in traders
    ]
    instruments = uow.market.instruments_of(v.universe)
    market = MinuteMarket(
        session=session,
        minute=minute,
        bars=bars,
        bands={s: v.rules.price_band(instruments[s].board, previous.get(s)) for s in bars},
        lots={s: v.rules.lot_for(i.lot_size) for s, i in instruments.items()},
    )
    outcome = (
        run_minute([(p, resting[p.account_id]) for p in portfolios], market, v.rules)
        if bars
        else None
    )
    current = {r.order.id: r.order for rs in resting.values() for r in rs}
    if outcome is None:
        return [], [], current
    first = {b.id for b in traders if b.first_fill_day is None}
    first_fills = [p.account_id for p in outcome.booked if p.account_id in first]
    uow.trading.update_orders(outcome.changed)
    uow.trading.add_fills(v.contest_id, outcome.fills)
    uow.trading.save_books(
        v.contest_id,
        outcome.booked,
        stored=stored,
        first_fill_day=session.day,
        first_fills=first_fills,
    )
    current |= {o.id: o for o in outcome.changed}
    return outcome.fills, outcome.booked, current


def _books_after(books: list[AccountBook], booked: list[Portfolio]) -> list[AccountBook]:
    worked = {p.account_id: p for p in booked}
    return [
        b
        if (p := worked.get(b.id)) is None
        else b._replace(cash=p.cash, fees_paid=p.fees_paid, realized_pnl=p.realized_pnl)
        for b in books
    ]


def _close(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    session: TradingSession,
    current: dict[int, Order],
) -> list[Order]:
    """The session's close: its day orders expire (their reserved cash is released)."""
    open_now = [o for o in current.values() if o.status.is_open]
    # Every open order was accepted before the last minute started, so before the close.
    expired = close_session([RestingOrder(o, session.open) for o in open_now], session)
    uow.trading.update_orders(expired)
    return expired


def _rank_day(
    uow: EngineUnitOfWork,
    contest: ContestRow,
    day: date,
    books: list[AccountBook],
    equity: list[Decimal],
) -> list[_AfterCommit]:
    """The daily clock's ranking of ``day`` at the session's closing marks."""
    if books:
        uow.trading.add_equity(
            contest.id, day, [(b.id, b.cash, e) for b, e in zip(books, equity, strict=True)]
        )
    contest.clock_ticks += 1
    contest.closed_day = day  # the session is closed: the last one finishes the contest
    ranked = standings.record_tick(uow, contest, day, books, equity)  # fills counted in SQL
    pk_rounds.on_tick(uow, contest, day)
    if ranked is None:
        return []
    key = (uow.source(), contest.id, contest.clock_ticks)
    return [lambda: uow.caches.standings.put(key, ranked)]
