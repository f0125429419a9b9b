"""The season's intraday contest: an A-share minute contest over the season's last few
exchange sessions, traded by bots of the members' own styles, ticked minute by minute.

``setup(sim)`` (when the season has an A-share market)
    Picks the last ``SESSIONS`` XSHG sessions among the season's trading days (one in a
    season of fewer than ``SMALL_SEASON`` members, so the tests' small seasons stay fast; the
    season's last day excluded, so settlement's points land before the end-of-season
    redemptions),
    installs a small seeded synthetic minute market for them
    (``install_synthetic_intraday``, symbols ``MIN-…`` of their own: a symbol's bars come
    from one source) and the operator's live season and ``bar_interval="minute"`` contest.

``on_day(sim, day)`` (on each of those sessions)
    Before the first open the members signed up by then (at most ``MAX_ENTRANTS``) join.
    Then every minute bar of the session, in order (09:30–11:30 and 13:00–15:00 Beijing; the
    lunch break has none), is ticked through ``engine.intraday_clock.run_intraday_tick`` at
    the instant the bar ends, the service the worker's job calls; the last minute closes the
    session (day orders expire, the standings tick). After each tick the bots that look at the
    market then see the bars up to that one (never a later one: the phase reveals the stored
    minutes one at a time) and their orders go in with one ``place_orders`` call,
    ``ORDER_DELAY`` after the bar ended, with ``now=`` that simulated instant, so the
    session and stale-feed gates judge simulated time and the order first meets the bar that
    starts after it: not the next tick's bar, which had started, but the one after (no
    look-ahead). Orders the bots send during the lunch break are refused as market orders
    (``session_closed``) and queue as limit orders for 13:00.

    Each fill is checked as it is booked: its bar is not in the lunch break, its price lies in
    the bar's low–high, and its bar started after the order was accepted; the phase raises if
    one is not, and the report shows the three counts (zero).

After the last session, settlement pays the prizes through the ledger, once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np

from core.pagination import MAX_LIMIT
from engine.contests import leaderboard, settlement
from engine.contests.entries import join_contest
from engine.contests.model import DataSource
from engine.contests.prize_table import RankRange
from engine.contests.seasons import SeasonDraft, create_season
from engine.contests.services import ContestDraft, create_contest
from engine.contests.spec import MetricKind, MetricSpec, PrizeLine, Qualification
from engine.intraday_clock import IntradayTick, run_intraday_tick
from engine.market.feeds import MinuteBar
from engine.market.intraday_services import install_synthetic_intraday
from engine.market.model import Instrument, Market
from engine.market.services import MarketUnitOfWork
from engine.market.sessions import TradingSession, sessions_for
from engine.market.synthetic import PREFIX, synthetic_universe
from engine.trading.order_desk import place_orders
from engine.trading.orders import Order, OrderRequest, OrderType, Side
from engine.trading.portfolio import Portfolio
from engine.trading.services import venue
from engine.uow import EngineUnitOfWork
from simulation.bots.views import Holdings, MarketHistory, Strategy
from simulation.calendar import SeasonDay
from simulation.contest_bots import STYLES, member_bot
from simulation.contest_phase import ContestPhase, rule_of
from simulation.contest_plan import simulation_disclosures
from simulation.context import SimulationContext
from simulation.model import MARKET_TIMEZONE, IntradayReport, LeaderRow

TITLE = "A-share Intraday Sprint"
SYMBOL_PREFIX = "MIN-"  # the minute market's own symbols (the season's are SIM-…)
SESSIONS, SMALL_SESSIONS = 2, 1  # a season of fewer than SMALL_SEASON members trades one
SMALL_SEASON = 100
MAX_ENTRANTS = 250
MAX_SYMBOLS, MIN_SYMBOLS = 10, 4  # half the season's universe, within these
STARTING_CASH = Decimal(1_000_000)
# How many times a session an entrant looks at the market (uniform in [low, high]) and how
# often an order goes in as a limit order a tick or two inside the last price.
LOOKS = (1, 6)
LIMIT_SHARE = 0.35
# The app refreshes every LOOK_EVERY minutes: a look sees the bar that ended last, and the
# orders of everyone looking then go in as one batch (the morning's last bar, 11:29, is one:
# what is sent after it lands in the lunch break).
LOOK_EVERY = 5
TICK = Decimal("0.01")
ORDER_DELAY = timedelta(seconds=20)  # after the bar the bot saw ended
MINUTE = timedelta(minutes=1)
# Local times (Beijing) on the session days: the operator's set-up on the evening before the
# season (like the daily contests'), joins before the first open, settlement after the close.
SETUP_HOUR, JOIN_TIME, SETTLE_TIME = 18, (8, 45), (17, 45)
PRIZES = (
    PrizeLine(RankRange(1, 1), points=600, xp=100),
    PrizeLine(RankRange(2, 3), points=300, xp=50),
    PrizeLine(RankRange(4, 10), points=100),
)
LEADERS = 5


@dataclass(slots=True)
class _Trader:
    member: int
    user_id: int
    account_id: int
    style: str
    bot: Strategy
    portfolio: Portfolio
    open: dict[int, Order] = field(default_factory=dict)  # by id
    filled: dict[int, Decimal] = field(default_factory=dict)  # order id → qty filled so far


@dataclass(slots=True)
class _Tally:
    bars: int = 0
    placed: int = 0
    market: int = 0
    limit: int = 0
    queued_in_break: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    fills: int = 0
    filled_orders: set[int] = field(default_factory=set)
    expired: int = 0
    in_break: int = 0
    outside_bar: int = 0
    before_acceptance: int = 0


class IntradayPhase:
    """The season's minute contest (see the module docstring)."""

    name = "intraday"

    def __init__(self, contests: ContestPhase) -> None:
        self._contests = contests  # the members' bot styles and habits
        self.days: tuple[date, ...] = ()
        self._seconds = self._cpu = 0.0  # wall-clock and CPU seconds spent in the phase
        self._tally = _Tally()
        self._report: IntradayReport | None = None

    # --- before the season ----------------------------------------------------------------

    def setup(self, sim: SimulationContext) -> None:
        if Market.CN not in sim.config.market.markets:
            return
        started, cpu = time.perf_counter(), time.process_time()
        calendar = sessions_for(Market.CN)
        candidates = [d for d in sim.calendar.trading_dates[:-1] if calendar.session(d)]
        wanted = SESSIONS if sim.config.members >= SMALL_SEASON else SMALL_SESSIONS
        days = tuple(candidates[-wanted:])
        if not days:
            return
        self.uow = EngineUnitOfWork(sim.database.sessions, caches=sim.engine_caches)
        count = min(MAX_SYMBOLS, max(MIN_SYMBOLS, sim.config.instruments // 2))
        installed = install_synthetic_intraday(
            MarketUnitOfWork(sim.database.sessions),
            Market.CN,
            count=count,
            seed=sim.config.seed,
            start=days[0],
            sessions=len(days),
            instruments=_minute_universe(count, sim),
        )
        if installed.days != days:
            raise RuntimeError(f"minute sessions {installed.days} are not the season's {days}")
        self.days = days
        self.symbols = tuple(i.symbol for i in installed.instruments)
        self.contest_id = self._open(sim, installed.instruments)
        self.rules = venue(self.uow, self.contest_id).rules
        self.history = MarketHistory(installed.instruments, self.rules)
        self.traders: dict[int, _Trader] = {}  # by account id
        self.accepted_at: dict[int, datetime] = {}  # order id → instant accepted
        self._rng = sim.rng("intraday")
        self._seconds += time.perf_counter() - started
        self._cpu += time.process_time() - cpu

    def _open(self, sim: SimulationContext, instruments: Sequence[Instrument]) -> int:
        first, last = self.days[0], self.days[-1]
        moment = sim.calendar.at(sim.calendar.pre_season, SETUP_HOUR, 15)
        season = create_season(
            self.uow,
            SeasonDraft(
                name=f"Intraday {first.isoformat()}",
                timezone=MARKET_TIMEZONE[Market.CN],
                starts_on=first,
                ends_on=last,
                market=Market.CN,
                universe=[i.symbol for i in instruments],
                data_source=DataSource.LIVE,
                description=f"{len(self.days)} sessions of minute bars",
            ),
            operator_id=sim.operator_id,
            now=moment,
        )
        opening = sessions_for(Market.CN).session(first)
        assert opening is not None  # a session day
        contest = create_contest(
            self.uow,
            ContestDraft(
                season_id=season.id,
                title=TITLE,
                trading_start=first,
                trading_end=last,
                starting_cash=STARTING_CASH,
                registration_opens_at=moment,
                registration_closes_at=opening.open,
                metric=MetricSpec(MetricKind.TOTAL_RETURN),
                qualification=Qualification(min_trades=1),
                prizes=PRIZES,
                disclosures=simulation_disclosures(TITLE, awarded_on=last),
                bar_interval="minute",
            ),
            now=moment,
        )
        return contest.id

    # --- each session ----------------------------------------------------------------------

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None:
        trading_date = day.trading_date
        if trading_date not in self.days:
            return
        started, cpu = time.perf_counter(), time.process_time()
        if trading_date == self.days[0]:
            self._join(sim, trading_date)
        session = sessions_for(Market.CN).session(trading_date)
        assert session is not None
        traded = self._session(session)
        sim.mark_active(trading_date, sorted(traded))
        if trading_date == self.days[-1]:
            self._settle(sim, trading_date)
        self._seconds += time.perf_counter() - started
        self._cpu += time.process_time() - cpu

    def _join(self, sim: SimulationContext, day: date) -> None:
        moment = sim.calendar.at(day, *JOIN_TIME)
        members = sim.members[: sim.signed_up]
        picked = sorted(
            int(i) for i in self._rng.permutation(len(members))[: min(MAX_ENTRANTS, len(members))]
        )
        for i in picked:
            member = members[i]
            entry = join_contest(self.uow, self.contest_id, member.user_id, now=moment)
            style = STYLES[int(self._contests.style[member.index])][0]
            seed = int(self._rng.integers(2**31))
            self.traders[entry.account_id] = _Trader(
                member=member.index,
                user_id=member.user_id,
                account_id=entry.account_id,
                style=style,
                bot=member_bot(style, seed, self.symbols),
                portfolio=Portfolio.opened(entry.account_id, entry.starting_cash),
            )

    def _session(self, session: TradingSession) -> set[int]:
        """Tick every minute of ``session`` and let the bots trade between the ticks; returns
        the indexes of the members who sent orders."""
        minutes = session.minutes()
        looks = self._looks(len(minutes))
        traded: set[int] = set()
        with self.uow.reading():
            stored = self.uow.minutes.minute_bars_of_day(self.symbols, session.day)
        bars: dict[datetime, dict[str, MinuteBar]] = {}
        for bar in stored:
            bars.setdefault(bar.start, {})[bar.symbol] = bar
        for k, minute in enumerate(minutes):
            ended = minute + MINUTE
            tick = run_intraday_tick(self.uow, self.contest_id, minute, now=ended)
            if not tick.ran:
                raise RuntimeError(f"{TITLE}: the minute {minute.isoformat()} did not tick")
            self._tally.bars += 1
            seen = bars.get(minute, {})  # revealed to the bots only now, once it has ended
            self._book(tick, session, seen)
            self.history.record(session.day, {s: b.close for s, b in seen.items()}, at=minute)
            if k in looks:
                traded |= self._trade(looks[k], ended + ORDER_DELAY, session)
        with self.uow.reading():
            if self.uow.trading.resting_orders(contest_id=self.contest_id):
                raise RuntimeError(f"{TITLE}: orders were left open after the close")
        for trader in self.traders.values():
            trader.open.clear()  # every day order ended with the session
        return traded

    def _looks(self, minutes: int) -> dict[int, list[_Trader]]:
        """Per minute index: the traders who look at the market after that minute's bar, at
        the app's refresh slots (not after the last two bars: nothing could fill before the
        close)."""
        slots = [k for k in range(minutes - 2) if k % LOOK_EVERY == LOOK_EVERY - 1]
        looks: dict[int, list[_Trader]] = {}
        low, high = LOOKS
        for trader in self.traders.values():
            habit = float(self._contests.habit[trader.member])
            count = min(max(low, round(high * habit)), len(slots))
            for k in sorted(int(slots[i]) for i in self._rng.choice(len(slots), count, False)):
                looks.setdefault(k, []).append(trader)
        return looks

    def _book(
        self, tick: IntradayTick, session: TradingSession, bars: dict[str, MinuteBar]
    ) -> None:
        """Book the tick's fills on the traders and check each; drop expired orders."""
        tally = self._tally
        for fill in tick.fills:
            tally.fills += 1
            tally.filled_orders.add(fill.order_id)
            bar = bars.get(fill.symbol)
            tally.in_break += session.in_break(tick.bar_start)
            tally.outside_bar += bar is None or not bar.low <= fill.price <= bar.high
            tally.before_acceptance += not self.accepted_at[fill.order_id] < tick.bar_start
            trader = self.traders[fill.account_id]
            trader.portfolio.apply(fill)
            done = trader.filled.get(fill.order_id, Decimal(0)) + fill.qty
            trader.filled[fill.order_id] = done
            order = trader.open.get(fill.order_id)
            if order is not None and order.request.qty is not None and done >= order.request.qty:
                del trader.open[fill.order_id]
        for order in tick.expired:
            tally.expired += 1
            self.traders[order.account_id].open.pop(order.id, None)
        if tally.in_break or tally.outside_bar or tally.before_acceptance:
            raise RuntimeError(
                f"{TITLE}: a fill broke the next-bar rule at {tick.bar_start.isoformat()} "
                f"({tally.in_break} in the lunch break, {tally.outside_bar} outside the bar, "
                f"{tally.before_acceptance} on a bar that started before the order)"
            )

    def _trade(self, lookers: list[_Trader], at: datetime, session: TradingSession) -> set[int]:
        """The lookers' decisions on the bars seen so far, placed as one batch at ``at``."""
        market = self.history.view()
        prices = {s: market.last_close(s) for s in market.symbols}
        batch: list[tuple[int, OrderRequest]] = []
        senders: list[_Trader] = []
        for trader in lookers:
            holdings = Holdings.of(trader.portfolio, list(trader.open.values()), prices, self.rules)
            for request in trader.bot.decide(market, holdings):
                if request.qty is not None and self._rng.random() < LIMIT_SHARE:
                    request = _as_limit(request, prices.get(request.symbol), self._rng)
                batch.append((trader.user_id, request))
                senders.append(trader)
        if not batch:
            return set()
        outcomes = place_orders(self.uow, self.contest_id, batch, now=at)
        tally = self._tally
        for outcome, trader in zip(outcomes, senders, strict=True):
            if not isinstance(outcome, Order):
                tally.refused[rule_of(outcome)] += 1
                continue
            tally.placed += 1
            limit = outcome.request.type is OrderType.LIMIT
            tally.limit += limit
            tally.market += not limit
            tally.queued_in_break += session.in_break(at)
            trader.open[outcome.id] = outcome
            self.accepted_at[outcome.id] = at
        return {trader.member for trader in senders}

    # --- the end ----------------------------------------------------------------------------

    def _settle(self, sim: SimulationContext, day: date) -> None:
        moment = sim.calendar.at(day, *SETTLE_TIME)
        done = settlement.settle_contest(self.uow, self.contest_id, now=moment)
        if done.refused:
            raise RuntimeError(f"{TITLE}: a prize was refused ({done.refused[0].rule})")
        prizes = settlement.prize_list(self.uow, self.contest_id, operator=True).prizes
        paid = [p for p in prizes if p.paid_at is not None]
        self._prizes = (len(paid), sum(p.points for p in paid))
        sim.points.mint(day, "prize", self._prizes[1])

    def finish(self, sim: SimulationContext) -> None:
        """Nothing left: the contest settled after its last session."""

    def report(self, sim: SimulationContext) -> IntradayReport:
        if not self.days:
            return IntradayReport()
        if self._report is None:
            self._report = self._read(sim)
        return self._report

    def _read(self, sim: SimulationContext) -> IntradayReport:
        page = leaderboard.leaderboard(
            self.uow, self.contest_id, sim.operator_id, limit=min(LEADERS, MAX_LIMIT), cursor=0
        )
        names = {m.user_id: m.username for m in sim.members}
        rows = tuple(
            LeaderRow(
                rank=row.position,
                member=names[row.member_id],
                team=None,
                metric="unranked" if row.metric is None else f"{float(row.metric):.3%}",
                total_return=float(row.total_return or 0),
            )
            for row in page.rows
        )
        t = self._tally
        paid, points = getattr(self, "_prizes", (0, 0))
        return IntradayReport(
            title=TITLE,
            days=self.days,
            symbols=len(self.symbols),
            entrants=len(self.traders),
            bars_ticked=t.bars,
            orders_placed=t.placed,
            market_orders=t.market,
            limit_orders=t.limit,
            queued_in_break=t.queued_in_break,
            orders_refused=dict(sorted(t.refused.items())),
            fills=t.fills,
            orders_filled=len(t.filled_orders),
            orders_expired=t.expired,
            fills_in_break=t.in_break,
            fills_outside_bar=t.outside_bar,
            fills_before_acceptance=t.before_acceptance,
            leaderboard=rows,
            prizes_paid=paid,
            prize_points=points,
            seconds=self._seconds,
            cpu_seconds=self._cpu,
        )


def _minute_universe(count: int, sim: SimulationContext) -> list[Instrument]:
    """A synthetic A-share universe under ``SYMBOL_PREFIX`` (boards, lots, names as usual)."""
    universe = synthetic_universe(Market.CN, count, seed=sim.config.seed + 1)
    return [replace(i, symbol=SYMBOL_PREFIX + i.symbol.removeprefix(PREFIX)) for i in universe]


def _as_limit(
    request: OrderRequest, last: Decimal | None, rng: np.random.Generator
) -> OrderRequest:
    """The order as a limit day order one to three ticks inside ``last`` (a buy below it, a
    sell above): it rests until the price comes to it, or expires at the close."""
    if last is None:
        return request
    ticks = TICK * int(rng.integers(1, 4))
    price = last - ticks if request.side is Side.BUY else last + ticks
    return replace(request, type=OrderType.LIMIT, limit_price=max(price, TICK))
