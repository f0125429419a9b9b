"""One intraday minute tick against the daily tick of the same size, in the same run.

A venue of 100,000 accounts × 50 A-share symbols (each account holds 10, one in ten has a
resting limit order). The daily tick: ``engine.trading.execution.run_day`` on the day's bars,
then every account marked at the closes (``mark_holdings``) and ranked by equity. The minute
tick: ``engine.trading.intraday.tick_minute`` on one minute's bars of the same session — the
same matching loop, marks and ranking. Bars come from the synthetic intraday market, whose
minutes add up to its daily bars. Ratio = minute tick time / daily tick time (≈ 1 means a
minute costs what a day costs; a session of 240 minutes then costs 240 daily ticks).

Run with ``python -m bench.intraday [--quick]``; results go to bench/results/intraday.json.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from bench import harness
from engine.market.model import Market
from engine.market.synthetic import synthetic_universe
from engine.market.synthetic_intraday import SyntheticIntradayFeed
from engine.trading.execution import TradingDay, run_day
from engine.trading.intraday import MinuteMarket, RestingOrder, rank_by_equity, tick_minute
from engine.trading.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from engine.trading.portfolio import Portfolio, Position, mark_holdings
from engine.trading.rules import cn_a_share

DAY = date(2024, 10, 8)


@dataclass(frozen=True, slots=True)
class Plan:
    accounts: int
    symbols: int
    holdings: int
    order_share: float  # accounts with one resting order
    repeats: int
    seed: int = 20241008


FULL = Plan(accounts=100_000, symbols=50, holdings=10, order_share=0.1, repeats=3)
QUICK = replace(FULL, accounts=10_000, repeats=2)


Venue = tuple[list[Portfolio], dict[int, list[RestingOrder]]]


def make_venue(
    plan: Plan, prices: dict[str, Decimal], accepted_at: datetime
) -> Callable[[], Venue]:
    """A factory of fresh (portfolios, resting orders by account): ticks book in place."""
    rng = random.Random(plan.seed)
    symbols = sorted(prices)
    layout = [
        (rng.sample(symbols, plan.holdings), rng.random() < plan.order_share, rng.choice(symbols))
        for _ in range(plan.accounts)
    ]

    def fresh() -> Venue:
        portfolios: list[Portfolio] = []
        resting: dict[int, list[RestingOrder]] = {}
        for account, (held, trades, symbol) in enumerate(layout, start=1):
            positions = {
                s: Position(s, Decimal(1000), prices[s] * 1000, bought_day=DAY - timedelta(1))
                for s in held
            }
            portfolios.append(
                Portfolio(account, Decimal(10**6), Decimal(10**6), positions=positions)
            )
            if trades:
                limit = (prices[symbol] * Decimal("1.01")).quantize(Decimal("0.01"))
                request = OrderRequest(
                    symbol, Side.BUY, OrderType.LIMIT, qty=Decimal(100), limit_price=limit
                )
                order = Order(
                    account,
                    account,
                    f"b{account}",
                    request,
                    OrderStatus.NEW,
                    DAY,
                    reserved_cash=limit * 100,
                )
                resting[account] = [RestingOrder(order, accepted_at)]
        return portfolios, resting

    return fresh


def timed(action: Callable[[Venue], object], setup: Callable[[], Venue], repeats: int) -> float:
    """Median seconds of ``action(setup())`` over ``repeats`` runs (setup not timed)."""
    seconds = []
    for _ in range(repeats):
        state = setup()
        started = time.perf_counter()
        action(state)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser("intraday", __doc__, quick="10,000 accounts")
    parser.add_argument("--accounts", type=int, help="override the account count")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.accounts:
        plan = replace(plan, accounts=args.accounts)
    run = harness.Run.begin("intraday tick", plan, quick=args.quick)
    instruments = synthetic_universe(Market.CN, plan.symbols, seed=plan.seed)
    feed = SyntheticIntradayFeed(instruments, seed=plan.seed, start=DAY, sessions=1)
    session = feed.sessions[0]
    daily = {b.symbol: b for b in feed.daily_bars()}
    minute = session.open + timedelta(minutes=10)
    minute_bars = {
        i.symbol: next(m for m in feed.minutes_of(i.symbol, DAY) if m.start == minute)
        for i in instruments
    }
    rules = cn_a_share()
    boards = {i.symbol: i.board for i in instruments}
    bands = {s: rules.price_band(boards[s], b.open) for s, b in daily.items()}
    lots = dict.fromkeys(daily, 100)
    opens = {s: b.open for s, b in daily.items()}
    fresh = make_venue(plan, opens, session.open - timedelta(minutes=5))

    def daily_tick(state: Venue) -> None:
        portfolios, resting = state
        traders = [
            (p, [r.order for r in resting[p.account_id]])
            for p in portfolios
            if p.account_id in resting
        ]
        run_day(traders, TradingDay(DAY, daily, bands, lots), rules, recent_fills={})
        closes = {s: b.close for s, b in daily.items()}
        equity = mark_holdings(
            [p.cash for p in portfolios],
            [{s: pos.qty for s, pos in p.positions.items()} for p in portfolios],
            closes,
        )
        rank_by_equity(portfolios, equity)

    def minute_tick(state: Venue) -> None:
        portfolios, resting = state
        market = MinuteMarket(session, minute, minute_bars, bands, lots)
        tick_minute(portfolios, resting, market, rules, last_prices=opens)

    day_seconds = timed(daily_tick, fresh, plan.repeats)
    minute_seconds = timed(minute_tick, fresh, plan.repeats)
    ratio = minute_seconds / day_seconds
    rows = [
        ["daily tick", f"{day_seconds * 1e3:,.0f} ms", "1.0×"],
        ["minute tick", f"{minute_seconds * 1e3:,.0f} ms", f"{ratio:.2f}×"],
    ]
    print(harness.markdown(["tick", "median time", "vs daily"], rows))
    print(
        f"\n* {plan.accounts:,} accounts × {plan.symbols} symbols, {plan.holdings} held each, "
        f"{plan.order_share:.0%} with a resting limit order; match + mark + rank, medians of "
        f"{plan.repeats} runs in this process."
    )
    head = harness.payload_head(
        quick=run.quick,
        plan=plan,
        machine=harness.machine_info(),
        cpu_busy_before=run.cpu_busy_before,
    )
    return run.finish(
        args.output,
        head
        | {
            "results": {
                "daily_tick_seconds": round(day_seconds, 4),
                "minute_tick_seconds": round(minute_seconds, 4),
                "ratio_minute_to_daily": round(ratio, 3),
            },
            "wall_seconds": round(run.wall_seconds, 1),
        },
    )


if __name__ == "__main__":
    sys.exit(main())
