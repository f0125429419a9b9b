"""Trading-engine throughput next to backtrader and backtesting.py, measured in the same run.

(a) Replay: N members (default 1,000) × B bars (default 250) of bot strategies — SMA momentum,
    mean reversion, buy-and-hold from ``simulation.bots`` — on one synthetic US universe, all
    members in ONE ``engine.trading.simulator.InMemoryVenue``
    (orders admitted and filled by the engine's core,
    every portfolio marked at each close, vectorized). The peer is backtrader running the same
    strategies written as backtrader strategies (its own SMA / StdDev indicators), one Cerebro
    per member, on the same bars; market orders fill at the next bar's open on both sides.
    A sample of members is run on backtrader and scaled linearly (printed when done).
(b) Single strategy: SMA cross (10, 20) on the GOOG daily bars shipped inside the
    ``backtesting`` package, our engine next to ``Backtest(GOOG, SmaCross, commission=.002)``.
(c) Mark-to-market and statistics of 100,000 portfolios × 50 symbols per tick:
    ``bench.engine_mtm`` (run when that module is present).

Run with ``python -m bench.engine [--quick] [--members N] [--bars B] [--part replay|goog|mtm]``.
See ``bench/README.md``.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import backtesting
import backtrader as bt
import numpy as np
import pandas as pd
from backtesting import Backtest
from backtesting import Strategy as BtpStrategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA

from bench import harness
from bench.harness import markdown, median_timed
from engine.market.model import Bar, Instrument, Market
from engine.market.synthetic import SyntheticMarket, synthetic_universe
from engine.trading.orders import Side
from engine.trading.rules import RulePack, us_equities
from engine.trading.simulator import InMemoryVenue, venue_for
from engine.trading.stats import performance
from simulation.bots.driver import BotDriver
from simulation.bots.sizing import crossed_above, whole_lots
from simulation.bots.styles import BuyAndHold, MeanReversion, SmaMomentum
from simulation.bots.views import Strategy

START = date(2023, 1, 2)
CASH = Decimal(100_000)
GOOG_CASH = Decimal(10_000)
SMA_PAIRS = ((5, 20), (10, 20), (10, 30), (20, 50))
MR_WINDOWS = (10, 20)
MR_ENTRIES = (1.0, 1.5, 2.0)
STYLES = ("sma_momentum", "mean_reversion", "buy_and_hold")
# backtesting.py's README output for Backtest(GOOG, SmaCross, commission=.002).run().
README_GOLDEN = {"return_pct": 589.35, "trades": 93, "max_drawdown_pct": -33.08, "sharpe": 0.66}


@dataclass(frozen=True, slots=True)
class Plan:
    members: int
    bars: int
    symbols: int
    watchlist: int  # symbols each member trades
    backtrader_sample: int  # members also run on backtrader (scaled to all)
    goog_repeats: int


FULL = Plan(members=1000, bars=250, symbols=20, watchlist=5, backtrader_sample=100, goog_repeats=5)
QUICK = Plan(members=100, bars=120, symbols=20, watchlist=5, backtrader_sample=10, goog_repeats=2)


# --- the members -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberPlan:
    """One member's strategy, the same on both engines."""

    member: int
    style: str
    watchlist: tuple[str, ...]
    fast: int = 0
    slow: int = 0
    window: int = 0
    entry: float = 0.0
    exit: float = 0.5


def member_plans(
    symbols: Sequence[str], count: int, *, watchlist: int, seed: int
) -> list[MemberPlan]:
    """Members in turn SMA momentum, mean reversion, buy-and-hold, each with a seeded watchlist
    and parameters."""
    plans = []
    for member in range(count):
        rng = random.Random(seed * 1_000_003 + member)
        watched = tuple(sorted(rng.sample(list(symbols), watchlist)))
        style = STYLES[member % len(STYLES)]
        if style == "sma_momentum":
            fast, slow = rng.choice(SMA_PAIRS)
            plans.append(MemberPlan(member, style, watched, fast=fast, slow=slow))
        elif style == "mean_reversion":
            window, entry = rng.choice(MR_WINDOWS), rng.choice(MR_ENTRIES)
            plans.append(MemberPlan(member, style, watched, window=window, entry=entry))
        else:
            plans.append(MemberPlan(member, style, watched))
    return plans


def our_bot(plan: MemberPlan) -> Strategy:
    if plan.style == "sma_momentum":
        return SmaMomentum(plan.watchlist, fast=plan.fast, slow=plan.slow)
    if plan.style == "mean_reversion":
        return MeanReversion(plan.watchlist, window=plan.window, entry=plan.entry, exit=plan.exit)
    return BuyAndHold(plan.watchlist)


def replay_rules() -> RulePack:
    """US rules, zero commission, no slippage, whole shares (as backtrader trades them)."""
    return us_equities().with_overrides({"slippage_bps": 0, "fractional": False})


# --- our engine --------------------------------------------------------------------------------


@dataclass
class EngineRun:
    label: str
    members: int
    bars: int
    seconds: float
    orders: int
    fills: int
    final_equity: dict[int, float] = field(repr=False)
    fills_by_member: dict[int, int] = field(repr=False)

    @property
    def member_bars_per_second(self) -> float:
        return self.members * self.bars / self.seconds


def run_ours(
    label: str,
    plans: Sequence[MemberPlan],
    instruments: Sequence[Instrument],
    bars: Sequence[Bar],
) -> EngineRun:
    """Every member in one venue: open accounts, then decide / submit / advance to the end."""
    started = time.perf_counter()
    venue = venue_for(replay_rules(), instruments, bars)
    for plan in plans:
        venue.open_account(plan.member, CASH)
    venue.start()
    BotDriver(venue, {plan.member: our_bot(plan) for plan in plans}).run()
    seconds = time.perf_counter() - started
    fills: dict[int, int] = defaultdict(int)
    for fill in venue.fills:
        fills[fill.account_id] += 1
    return EngineRun(
        label=label,
        members=len(plans),
        bars=len({b.day for b in bars}),
        seconds=seconds,
        orders=len(venue.orders),
        fills=len(venue.fills),
        final_equity={m: float(curve[-1]) for m, curve in venue.equity.items()},
        fills_by_member=dict(fills),
    )


# --- the peer: backtrader ----------------------------------------------------------------------


class BacktraderMember(bt.Strategy):
    """The three styles written for backtrader, sized exactly as ``simulation.bots`` sizes them
    (whole lots of an equal slot, reserved at the close plus the market collar)."""

    params = (("plan", None), ("collar", Decimal("0.10")))

    def __init__(self) -> None:
        plan: MemberPlan = self.p.plan
        self.fills = 0
        self.done = False
        if plan.style == "sma_momentum":
            self.fast = [bt.ind.SMA(d.close, period=plan.fast) for d in self.datas]
            self.slow = [bt.ind.SMA(d.close, period=plan.slow) for d in self.datas]
        elif plan.style == "mean_reversion":
            self.mean = [bt.ind.SMA(d.close, period=plan.window) for d in self.datas]
            self.std = [bt.ind.StdDev(d.close, period=plan.window) for d in self.datas]

    def notify_order(self, order: Any) -> None:
        if order.status == order.Completed:
            self.fills += 1

    def next(self) -> None:
        plan: MemberPlan = self.p.plan
        if plan.style == "buy_and_hold":
            self._buy_and_hold()
        elif plan.style == "sma_momentum" and len(self) > plan.slow:
            self._momentum(plan)
        elif plan.style == "mean_reversion" and len(self) >= plan.window:
            self._reversion(plan)

    def _buy_price(self, data: Any) -> Decimal:
        return Decimal(f"{data.close[0]:.2f}") * (1 + self.p.collar)

    def _buy(self, data: Any, slot: Decimal, left: Decimal) -> Decimal:
        price = self._buy_price(data)
        qty = whole_lots(min(slot, left), price, 1)
        if qty > 0:
            self.buy(data=data, size=int(qty))
        return left - qty * price

    def _money(self) -> tuple[Decimal, Decimal]:
        return Decimal(f"{self.broker.getvalue():.2f}"), Decimal(f"{self.broker.getcash():.2f}")

    def _buy_and_hold(self) -> None:
        if self.done:
            return
        self.done = True
        _, left = self._money()
        slot = left / len(self.datas)
        for data in self.datas:
            left = self._buy(data, slot, left)

    def _momentum(self, plan: MemberPlan) -> None:
        equity, left = self._money()
        slot = equity / len(self.datas)
        for i, data in enumerate(self.datas):
            fast, slow = self.fast[i], self.slow[i]
            before, now = (fast[-1], slow[-1]), (fast[0], slow[0])
            held = self.getposition(data).size
            if held <= 0 and crossed_above(before, now):
                left = self._buy(data, slot, left)
            elif held > 0 and crossed_above(before[::-1], now[::-1]):
                self.sell(data=data, size=held)

    def _reversion(self, plan: MemberPlan) -> None:
        equity, left = self._money()
        slot = equity / len(self.datas)
        for i, data in enumerate(self.datas):
            std = self.std[i][0]
            score = (data.close[0] - self.mean[i][0]) / std if std > 0 else float("nan")
            held = self.getposition(data).size
            if held <= 0 and score < -plan.entry:
                left = self._buy(data, slot, left)
            elif held > 0 and score > plan.exit:
                self.sell(data=data, size=held)


def frames_by_symbol(bars: Sequence[Bar]) -> dict[str, pd.DataFrame]:
    """The bars as one float OHLCV DataFrame per symbol (what a backtrader user feeds it)."""
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for b in bars:
        rows[b.symbol].append(
            (
                pd.Timestamp(b.day),
                float(b.open),
                float(b.high),
                float(b.low),
                float(b.close),
                b.volume,
            )
        )
    columns = ["datetime", "open", "high", "low", "close", "volume"]
    return {
        symbol: pd.DataFrame(r, columns=columns).set_index("datetime") for symbol, r in rows.items()
    }


@dataclass
class PeerRun:
    label: str
    members_run: int
    members: int
    bars: int
    seconds_run: float
    final_equity: dict[int, float] = field(repr=False)
    fills_by_member: dict[int, int] = field(repr=False)

    @property
    def seconds(self) -> float:
        """Scaled linearly to every member."""
        return self.seconds_run * self.members / self.members_run

    @property
    def member_bars_per_second(self) -> float:
        return self.members_run * self.bars / self.seconds_run


def run_backtrader(
    plans: Sequence[MemberPlan], frames: dict[str, pd.DataFrame], *, members: int, bars: int
) -> PeerRun:
    """One Cerebro per member with only its watchlist's feeds (backtrader's cheapest setup):
    no observers (``stdstats=False``), zero commission, market orders at the next open."""
    equity: dict[int, float] = {}
    fills: dict[int, int] = {}
    started = time.perf_counter()
    for plan in plans:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.broker.setcash(float(CASH))
        for symbol in plan.watchlist:
            cerebro.adddata(bt.feeds.PandasData(dataname=frames[symbol]), name=symbol)
        cerebro.addstrategy(BacktraderMember, plan=plan)
        strategy = cerebro.run()[0]
        equity[plan.member] = cerebro.broker.getvalue()
        fills[plan.member] = strategy.fills
    seconds = time.perf_counter() - started
    return PeerRun("backtrader", len(plans), members, bars, seconds, equity, fills)


@dataclass(frozen=True, slots=True)
class Parity:
    members: int
    same_equity: int  # final equity within a cent
    same_fills: int
    max_equity_gap: float


def parity(ours: EngineRun, peer: PeerRun) -> Parity:
    members = sorted(peer.final_equity)
    gaps = [abs(ours.final_equity[m] - peer.final_equity[m]) for m in members]
    return Parity(
        members=len(members),
        same_equity=sum(1 for g in gaps if g < 0.01),
        same_fills=sum(
            1 for m in members if ours.fills_by_member.get(m, 0) == peer.fills_by_member[m]
        ),
        max_equity_gap=max(gaps, default=0.0),
    )


@dataclass
class ReplayResult:
    ours: list[EngineRun]
    peer: PeerRun
    parity: Parity


def replay(plan: Plan, seed: int) -> ReplayResult:
    instruments = synthetic_universe(Market.US, plan.symbols, seed=seed)
    bars = SyntheticMarket(instruments, seed=seed, start=START, days=plan.bars).all_bars()
    symbols = [i.symbol for i in instruments]
    plans = member_plans(symbols, plan.members, watchlist=plan.watchlist, seed=seed)
    frames = frames_by_symbol(bars)
    # Warm-up, untimed: imports, caches, first-call costs of both engines.
    run_ours("warm-up", plans[:6], instruments, bars)
    run_backtrader(plans[:3], frames, members=3, bars=plan.bars)

    print(f"  our engine: {plan.members} members × {plan.bars} bars in one venue …", flush=True)
    stock = run_ours("PaperLeague InMemoryVenue", plans, instruments, bars)
    print(f"    {stock.seconds:.1f} s", flush=True)
    step = max(1, plan.members // plan.backtrader_sample)
    sample = plans[::step][: plan.backtrader_sample]
    print(f"  backtrader: {len(sample)} of {plan.members} members, one Cerebro each …", flush=True)
    peer = run_backtrader(sample, frames, members=plan.members, bars=plan.bars)
    print(f"    {peer.seconds_run:.1f} s", flush=True)
    return ReplayResult([stock], peer, parity(stock, peer))


def replay_table(result: ReplayResult) -> str:
    peer = result.peer
    rows = [
        (
            run.label,
            f"{run.members:,}",
            f"{run.bars}",
            f"{run.seconds:.1f}",
            f"{run.member_bars_per_second:,.0f}",
            harness.format_ratio(run.member_bars_per_second / peer.member_bars_per_second),
        )
        for run in result.ours
    ]
    scaled = peer.members_run != peer.members
    rows.append(
        (
            "backtrader 1.9.78, one Cerebro per member"
            + (f" ({peer.members_run} run, scaled)" if scaled else ""),
            f"{peer.members:,}",
            f"{peer.bars}",
            f"{peer.seconds:.1f}" + (" (est.)" if scaled else ""),
            f"{peer.member_bars_per_second:,.0f}",
            harness.format_ratio(1.0),
        )
    )
    header = ("engine", "members", "bars", "seconds", "member·bars/s", "ratio")
    return markdown(header, rows)


# --- (b) GOOG SMA cross --------------------------------------------------------------------------


class SmaCross(BtpStrategy):
    """backtesting.py's README strategy: always in the market, long or short."""

    n1 = 10
    n2 = 20

    def init(self) -> None:
        close = self.data.Close
        self.ma1 = self.I(SMA, close, self.n1)
        self.ma2 = self.I(SMA, close, self.n2)

    def next(self) -> None:
        if crossover(self.ma1, self.ma2):
            self.position.close()
            self.buy()
        elif crossover(self.ma2, self.ma1):
            self.position.close()
            self.sell()


class SmaCrossLong(SmaCross):
    """The same signals, long only: buy on the cross above, close on the cross below."""

    def next(self) -> None:
        if crossover(self.ma1, self.ma2) and not self.position:
            self.buy()
        elif crossover(self.ma2, self.ma1):
            self.position.close()


def goog_rules() -> RulePack:
    """US rules with backtesting.py's 0.2% commission, no slippage, whole shares, and market
    buys reserving at the last close (no collar), so an all-in buy is sized like theirs."""
    return us_equities().with_overrides(
        {"commission_rate": "0.002", "slippage_bps": 0, "fractional": False, "market_collar": 0}
    )


def goog_bars() -> tuple[Instrument, list[Bar]]:
    instrument = Instrument("GOOG", "Alphabet (backtesting.py sample)", Market.US, lot_size=1)
    bars = [
        Bar(
            "GOOG",
            stamp.date(),
            Decimal(f"{row.Open:.2f}"),
            Decimal(f"{row.High:.2f}"),
            Decimal(f"{row.Low:.2f}"),
            Decimal(f"{row.Close:.2f}"),
            int(row.Volume),
        )
        for stamp, row in zip(GOOG.index, GOOG.itertuples(index=False), strict=True)
    ]
    return instrument, bars


RoundTrip = tuple[str, float, str, float, int]


@dataclass(frozen=True, slots=True)
class GoogRun:
    label: str
    return_pct: float
    trades: int
    max_drawdown_pct: float
    sharpe: float | None
    commissions: float
    seconds: float  # median of the repeats
    bars: int
    # Closed round trips: (entry day, entry price, exit day, exit price, shares).
    round_trips: list[RoundTrip] = field(default_factory=list, repr=False)

    @property
    def bars_per_second(self) -> float:
        return self.bars / self.seconds


def goog_ours(repeats: int) -> GoogRun:
    instrument, bars = goog_bars()

    def run() -> InMemoryVenue:
        venue = venue_for(goog_rules(), [instrument], bars)
        venue.open_account(1, GOOG_CASH)
        venue.start()
        BotDriver(venue, {1: SmaMomentum(["GOOG"], fast=10, slow=20)}).run()
        return venue

    venue, seconds = median_timed(run, repeats)
    curve = venue.equity[1]
    stats = performance(curve)
    buys = [f for f in venue.fills if f.side is Side.BUY]
    sells = [f for f in venue.fills if f.side is Side.SELL]
    # Long only, all in and all out: the n-th sell closes the n-th buy.
    trips = [
        (b.day.isoformat(), float(b.price), s.day.isoformat(), float(s.price), int(b.qty))
        for b, s in zip(buys, sells, strict=False)
    ]
    return GoogRun(
        label="PaperLeague SmaMomentum(10, 20), long only",
        return_pct=100 * float(curve[-1] / GOOG_CASH - 1),
        trades=len(sells),
        max_drawdown_pct=100 * (stats.max_drawdown or 0.0),
        sharpe=stats.sharpe,
        commissions=float(sum(f.fees for f in venue.fills)),
        seconds=seconds,
        bars=len(bars),
        round_trips=trips,
    )


def goog_backtesting(strategy: type[BtpStrategy], label: str, repeats: int) -> GoogRun:
    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "some trades remain open" (as in the README)
            return Backtest(GOOG, strategy, commission=0.002).run()

    stats, seconds = median_timed(run, repeats)
    sharpe = float(stats["Sharpe Ratio"])
    trips = [
        (
            t.EntryTime.date().isoformat(),
            t.EntryPrice,
            t.ExitTime.date().isoformat(),
            t.ExitPrice,
            int(t.Size),
        )
        for t in stats["_trades"].itertuples()
    ]
    return GoogRun(
        label=label,
        return_pct=float(stats["Return [%]"]),
        trades=int(stats["# Trades"]),
        max_drawdown_pct=float(stats["Max. Drawdown [%]"]),
        sharpe=None if np.isnan(sharpe) else sharpe,
        commissions=float(stats["Commissions [$]"]),
        seconds=seconds,
        bars=len(GOOG),
        round_trips=trips,
    )


def goog(plan: Plan) -> list[GoogRun]:
    goog_ours(1)  # warm-up
    goog_backtesting(SmaCross, "warm-up", 1)
    return [
        goog_backtesting(
            SmaCross, "backtesting.py SmaCross (README: long and short)", plan.goog_repeats
        ),
        goog_backtesting(SmaCrossLong, "backtesting.py SmaCross, long only", plan.goog_repeats),
        goog_ours(plan.goog_repeats),
    ]


def trip_parity(ours: GoogRun, theirs: GoogRun) -> str:
    """How many round trips agree in days and prices, and how many also in size."""
    pairs = list(zip(ours.round_trips, theirs.round_trips, strict=False))
    timing = [a for a, b in pairs if a[:2] == b[:2] and a[2] == b[2] and abs(a[3] - b[3]) < 1e-9]
    sized = [a for a, b in pairs if a == b or (a[:3] == b[:3] and a[4] == b[4])]
    return (
        f"Round trips: ours {len(ours.round_trips)}, backtesting.py long only "
        f"{len(theirs.round_trips)}; same entry and exit days and prices for {len(timing)}, "
        f"same size too for {len(sized)}."
    )


def goog_table(runs: list[GoogRun]) -> str:
    peer = runs[0]
    rows = [
        (
            run.label,
            f"{run.return_pct:.2f}",
            f"{run.trades}",
            f"{run.max_drawdown_pct:.2f}",
            "n/a" if run.sharpe is None else f"{run.sharpe:.2f}",
            f"{run.commissions:,.0f}",
            f"{1000 * run.seconds:.0f}",
            f"{run.bars_per_second:,.0f}",
            harness.format_ratio(run.bars_per_second / peer.bars_per_second),
        )
        for run in runs
    ]
    rows.append(
        (
            "backtesting.py README (golden output)",
            f"{README_GOLDEN['return_pct']:.2f}",
            f"{README_GOLDEN['trades']}",
            f"{README_GOLDEN['max_drawdown_pct']:.2f}",
            f"{README_GOLDEN['sharpe']:.2f}",
            "",
            "",
            "",
            "",
        )
    )
    header = (
        "run",
        "return %",
        "trades",
        "max DD %",
        "Sharpe",
        "commissions $",
        "ms",
        "bars/s",
        "ratio",
    )
    return markdown(header, rows)


# --- reporting ---------------------------------------------------------------------------------


REPLAY_NOTES = """\
Same bars, same signals (same formulas; backtrader computes them with its own SMA / StdDev
indicators), same sizing, market orders filled at the next bar's open, zero commission and no
slippage on both sides. What differs: our engine admits every order through its rule checks
(lot, buying power reserved at the close + 10% collar, …), keeps Decimal money and marks all
portfolios at every close; backtrader runs one Cerebro per member with only the member's 5
feeds (ours carries the whole 20-symbol universe for everyone), floats, no observers."""

GOOG_NOTES = """\
Our engine is long only with a cash account (short selling is a contest option with a margin
reservation, and a same-bar reversal from long to short cannot be funded before the sale
settles), so the README's always-in-the-market long/short SmaCross is shown next to the same
signals long only. Our run: US rules, commission 0.2% of each fill, no slippage, whole shares,
cash reserved at the last close (no 10% collar). Both fill at the next open, so the round trips
fall on the same days at the same prices; sizes differ by a few shares when the open gaps
below the close: we size the order at the signal's close (the clock cannot see the open),
backtesting.py sizes `buy()` at the fill's open (99.99% of equity, commission included).
Trades are closed round trips; the position open at the end is marked, not closed.
backtesting.py's commissions figure leaves out that open trade's entry commission. Sharpe: ours
is mean / std of daily returns × √252 (empyrical's); backtesting.py divides its geometric
annual return by its own annualized volatility. The README's golden output does not reproduce
with the installed backtesting.py (see the long/short row, measured in this run)."""


def machine_info() -> dict[str, object]:
    return harness.machine_info(
        numpy=np.__version__,
        pandas=pd.__version__,
        backtrader=bt.__version__,
        backtesting=backtesting.__version__,
    )


def run_mtm(quick: bool) -> int | None:
    """Part (c), ``bench.engine_mtm.main``, when the module exists; its exit status."""
    if importlib.util.find_spec("bench.engine_mtm") is None:
        print("\n(c) mark-to-market: bench/engine_mtm.py is not there yet; skipped")
        return None
    engine_mtm = importlib.import_module("bench.engine_mtm")
    print("\n## (c) Mark-to-market and statistics (bench.engine_mtm)\n", flush=True)
    status = engine_mtm.main(["--quick"] if quick else [])
    return int(status or 0)


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser("engine", __doc__, quick="a smaller run (under a minute)")
    parser.add_argument("--members", type=int, help="members in the replay (default 1000)")
    parser.add_argument("--bars", type=int, help="bars in the replay (default 250)")
    parser.add_argument(
        "--backtrader-sample", type=int, help="members also run on backtrader (default 100)"
    )
    parser.add_argument(
        "--part",
        choices=("replay", "goog", "mtm"),
        action="append",
        help="run only this part (repeatable; default all)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    overrides = {
        "members": args.members,
        "bars": args.bars,
        "backtrader_sample": args.backtrader_sample,
    }
    plan = Plan(**(asdict(plan) | {k: v for k, v in overrides.items() if v is not None}))
    plan = Plan(**(asdict(plan) | {"backtrader_sample": min(plan.backtrader_sample, plan.members)}))
    parts = args.part or ["replay", "goog", "mtm"]
    bench_run = harness.Run.begin("engine", plan, quick=args.quick)
    payload = harness.payload_head(
        quick=bench_run.quick,
        plan=plan,
        machine=machine_info(),
        cpu_busy_before=bench_run.cpu_busy_before,
    ) | {"seed": args.seed}
    if "replay" in parts:
        result = replay(plan, args.seed)
        print("\n## (a) Replay: members × bars of bot strategies\n")
        print(replay_table(result))
        p = result.parity
        print(
            f"\nParity on the {p.members} members run on both: final equity equal to the cent "
            f"for {p.same_equity}, fill counts equal for {p.same_fills}; largest equity gap "
            f"${p.max_equity_gap:,.2f}."
        )
        if result.peer.members_run != result.peer.members:
            print(
                f"backtrader ran {result.peer.members_run} of {result.peer.members} members "
                "(every n-th, the same mix of styles); its time is scaled linearly."
            )
        print("\n" + REPLAY_NOTES)
        payload["replay"] = {
            "ours": [_engine_json(run) for run in result.ours],
            "backtrader": _peer_json(result.peer),
            "parity": asdict(result.parity),
        }
    if "goog" in parts:
        runs = goog(plan)
        print("\n## (b) SMA cross (10, 20) on GOOG daily, 2004-08-19 … 2013-03-01\n")
        print(goog_table(runs))
        print("\n" + trip_parity(runs[2], runs[1]))
        print("\n" + GOOG_NOTES)
        payload["goog"] = [
            {k: v for k, v in asdict(run).items() if k != "round_trips"}
            | {"bars_per_second": run.bars_per_second}
            for run in runs
        ]
        payload["goog_readme_golden"] = README_GOLDEN
    if "mtm" in parts:
        payload["mtm_exit_status"] = run_mtm(args.quick)
    payload["wall_seconds"] = round(bench_run.wall_seconds, 1)
    bench_run.finish(args.output, payload)
    return int(payload.get("mtm_exit_status") or 0)


def _engine_json(run: EngineRun) -> dict[str, object]:
    return {
        "label": run.label,
        "members": run.members,
        "bars": run.bars,
        "seconds": round(run.seconds, 3),
        "orders": run.orders,
        "fills": run.fills,
        "member_bars_per_second": round(run.member_bars_per_second, 1),
    }


def _peer_json(run: PeerRun) -> dict[str, object]:
    return {
        "label": run.label,
        "members_run": run.members_run,
        "members": run.members,
        "bars": run.bars,
        "seconds_run": round(run.seconds_run, 3),
        "seconds_scaled": round(run.seconds, 3),
        "member_bars_per_second": round(run.member_bars_per_second, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
