"""Mark-to-market and running statistics of 100,000 portfolios × 50 symbols per tick.

Ours: ``engine.trading.valuation.mark_to_market`` (cash + positions @ prices) then
``RunningStats.update`` for every portfolio at once, numpy. The peer: the same computation one
portfolio at a time in plain Python (a loop over the portfolio's holdings, then the same
Welford/drawdown update on floats). The peer is timed on a random sample of portfolios and
scaled to the full count, which is fair because its cost is linear in portfolios; the output
says so. Two workloads: ``mtm + update`` (what every tick costs) and ``+ 5 statistics``
(also reading total return, volatility, Sharpe, Sortino and max drawdown for every portfolio,
as a leaderboard refresh would). After each workload the peer's equity and statistics must
equal ours for the sampled portfolios (1e-9), else the bench stops with exit status 1.

Run with ``python -m bench.engine_mtm [--quick]``; results go to bench/results/engine_mtm.json.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
from dataclasses import asdict, dataclass, replace

import numpy as np
import numpy.typing as npt

from bench import harness
from bench.harness import BenchFailure
from engine.trading.stats import TRADING_DAYS, ZERO_SPREAD
from engine.trading.valuation import RunningStats, mark_to_market

FloatArray = npt.NDArray[np.float64]
STATISTICS = ("total_return", "volatility", "sharpe", "sortino", "max_drawdown")


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    portfolios: int
    symbols: int
    holdings: int  # symbols each portfolio holds (the peer loops over these only)
    ticks: int  # timed ticks per workload
    warmup_ticks: int  # untimed ticks first (they are part of every curve)
    peer_sample: int  # portfolios the plain-Python peer is timed on
    seed: int = 20240601


FULL = Plan(
    portfolios=100_000, symbols=50, holdings=10, ticks=60, warmup_ticks=3, peer_sample=2_000
)
QUICK = replace(FULL, ticks=12, warmup_ticks=2, peer_sample=300)


@dataclass(frozen=True, slots=True)
class Book:
    """The generated market and portfolios: same for both sides."""

    cash: FloatArray  # (n,)
    positions: FloatArray  # (n, m), zero outside each portfolio's holdings
    prices: FloatArray  # (warmup + ticks, m)
    sample: npt.NDArray[np.int64]  # portfolios the peer runs


def make_book(plan: Plan) -> Book:
    """Seeded: prices a random walk (2 % daily), ~100k of equity per portfolio, some shorts."""
    rng = np.random.default_rng(plan.seed)
    n, m, k = plan.portfolios, plan.symbols, plan.holdings
    steps = plan.warmup_ticks + plan.ticks
    opening = rng.uniform(5.0, 300.0, m)
    walk = np.exp(np.cumsum(rng.normal(3e-4, 0.02, (steps - 1, m)), axis=0))
    prices = np.vstack((opening, opening * walk)).round(2)
    held = np.argsort(rng.random((n, m)), axis=1)[:, :k]
    notional = rng.uniform(2_000.0, 14_000.0, (n, k)) * rng.choice(
        [1.0, -1.0], (n, k), p=[0.9, 0.1]
    )
    positions = np.zeros((n, m))
    np.put_along_axis(positions, held, np.round(notional / opening[held]), axis=1)
    cash = rng.uniform(20_000.0, 80_000.0, n) - positions @ opening + np.abs(notional).sum(axis=1)
    sample = np.sort(rng.choice(n, size=min(plan.peer_sample, n), replace=False))
    return Book(cash.round(2), positions, prices, sample)


# --- ours -----------------------------------------------------------------------------------------


def numpy_tick(book: Book, stats: RunningStats, prices: FloatArray, with_stats: bool) -> None:
    stats.update(mark_to_market(book.cash, book.positions, prices))
    if with_stats:
        for name in STATISTICS:
            getattr(stats, name)


def run_numpy(book: Book, plan: Plan, with_stats: bool) -> tuple[list[float], RunningStats]:
    """Seconds per timed tick, and the final statistics."""
    stats = RunningStats(plan.portfolios)

    def tick(prices: FloatArray) -> None:
        numpy_tick(book, stats, prices, with_stats)

    for prices in book.prices[: plan.warmup_ticks]:
        tick(prices)
    return harness.seconds_each(tick, book.prices[plan.warmup_ticks :]), stats


# --- the peer: one portfolio at a time, plain Python ----------------------------------------------


class PortfolioStats:
    """One portfolio's running statistics in plain floats: RunningStats' update, unvectorized."""

    __slots__ = (
        "start",
        "last",
        "peak",
        "worst",
        "points",
        "underwater",
        "longest",
        "shift",
        "mean",
        "m2",
        "downside",
        "low",
        "high",
        "ruined",
    )

    def __init__(self) -> None:
        self.start = self.last = self.peak = self.worst = 0.0
        self.points = self.underwater = self.longest = 0
        self.shift = self.mean = self.m2 = self.downside = 0.0
        self.low, self.high, self.ruined = math.inf, -math.inf, False

    def update(self, equity: float) -> None:
        if self.points == 0:
            self.start = self.last = self.peak = equity
            self.points = 1
            return
        if self.last <= 0:
            self.ruined, r = True, 0.0
        else:
            r = (equity - self.last) / self.last
        if self.points == 1:
            self.shift = r
        shifted = r - self.shift
        delta = shifted - self.mean
        self.mean += delta / self.points
        self.m2 += delta * (shifted - self.mean)
        shortfall = min(r, 0.0)
        self.downside += shortfall * shortfall
        self.low, self.high = min(self.low, r), max(self.high, r)
        self.peak = max(self.peak, equity)
        self.worst = min(self.worst, (equity - self.peak) / self.peak)
        span = self.underwater + 1
        if equity < self.peak or span > 1:
            self.longest = max(self.longest, span)
        self.underwater = span if equity < self.peak else 0
        self.last = equity
        self.points += 1

    def statistics(self) -> tuple[float, float, float, float, float]:
        """total return, volatility, Sharpe, Sortino, max drawdown (NaN where undefined)."""
        periods = self.points - 1
        if periods < 1:
            return (math.nan,) * 5
        total = (self.last - self.start) / self.start
        if self.ruined or periods < 2:
            return total, math.nan, math.nan, math.nan, self.worst
        std = 0.0 if self.high - self.low <= ZERO_SPREAD else math.sqrt(self.m2 / (periods - 1))
        mean, root = self.shift + self.mean, math.sqrt(TRADING_DAYS)
        downside = math.sqrt(self.downside / periods)
        sharpe = mean / std * root if std > 0 else math.nan
        sortino = mean / downside * root if downside > 0 else math.nan
        return total, std * root, sharpe, sortino, self.worst


@dataclass(slots=True)
class PeerPortfolio:
    cash: float
    holdings: list[tuple[int, float]]  # (symbol index, quantity)
    stats: PortfolioStats
    equity: float = 0.0


def peer_portfolios(book: Book) -> list[PeerPortfolio]:
    return [
        PeerPortfolio(
            float(book.cash[i]),
            [(int(j), float(book.positions[i, j])) for j in np.flatnonzero(book.positions[i])],
            PortfolioStats(),
        )
        for i in book.sample
    ]


def peer_tick(portfolios: list[PeerPortfolio], prices: list[float], with_stats: bool) -> None:
    for portfolio in portfolios:
        equity = portfolio.cash
        for symbol, quantity in portfolio.holdings:
            equity += quantity * prices[symbol]
        portfolio.equity = equity
        portfolio.stats.update(equity)
        if with_stats:
            portfolio.stats.statistics()


def run_peer(book: Book, plan: Plan, with_stats: bool) -> tuple[list[float], list[PeerPortfolio]]:
    """Seconds per timed tick for the sampled portfolios, and the portfolios."""
    portfolios = peer_portfolios(book)
    ticks = [[float(p) for p in row] for row in book.prices]

    def tick(prices: list[float]) -> None:
        peer_tick(portfolios, prices, with_stats)

    for prices in ticks[: plan.warmup_ticks]:
        tick(prices)
    return harness.seconds_each(tick, ticks[plan.warmup_ticks :]), portfolios


def check_peer_agrees(book: Book, ours: RunningStats, peer: list[PeerPortfolio]) -> None:
    """The peer computed the same numbers for its sample, or the figures mean nothing."""
    mine = ours.take(book.sample)
    last = np.array([p.equity for p in peer])
    theirs = np.array([p.stats.statistics() for p in peer]).T
    checks = {"equity": (mine.last, last)} | {
        name: (getattr(mine, name), theirs[k]) for k, name in enumerate(STATISTICS)
    }
    for name, (a, b) in checks.items():
        if not np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
            worst = int(np.nanargmax(np.abs(a - b)))
            raise BenchFailure(f"peer disagrees on {name}: {a[worst]} vs {b[worst]}")


# --- measuring and reporting ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measurement:
    """One workload, both sides: median seconds per tick (the peer's scaled to all portfolios)."""

    workload: str
    portfolios: int
    numpy_tick_seconds: float
    peer_sample: int
    peer_sample_tick_seconds: float

    @property
    def peer_tick_seconds(self) -> float:
        return self.peer_sample_tick_seconds * self.portfolios / self.peer_sample

    @property
    def ratio(self) -> float:
        return self.peer_tick_seconds / self.numpy_tick_seconds


WORKLOADS: dict[str, bool] = {"mtm + update": False, "mtm + update + 5 statistics": True}


def measure(book: Book, plan: Plan, workload: str) -> Measurement:
    with_stats = WORKLOADS[workload]
    numpy_seconds, ours = run_numpy(book, plan, with_stats)
    peer_seconds, peer = run_peer(book, plan, with_stats)
    check_peer_agrees(book, ours, peer)
    return Measurement(
        workload,
        plan.portfolios,
        statistics.median(numpy_seconds),
        len(book.sample),
        statistics.median(peer_seconds),
    )


def table(measurements: list[Measurement], plan: Plan) -> str:
    """A Markdown table: ticks/s and portfolio·ticks/s on both sides, and their ratio."""
    header = (
        f"workload ({plan.portfolios:,} portfolios × {plan.symbols} symbols)",
        "numpy ticks/s",
        "numpy portfolio·ticks/s",
        "plain Python ticks/s*",
        "plain Python portfolio·ticks/s*",
        "ratio",
    )
    rows = [
        (
            m.workload,
            f"{1 / m.numpy_tick_seconds:,.1f}",
            f"{m.portfolios / m.numpy_tick_seconds:,.0f}",
            f"{1 / m.peer_tick_seconds:,.3f}",
            f"{m.portfolios / m.peer_tick_seconds:,.0f}",
            harness.format_ratio(m.ratio),
        )
        for m in measurements
    ]
    return harness.markdown(header, rows)


def machine_info() -> dict[str, object]:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return harness.machine_info(
        numpy=np.__version__,
        blas=f"{blas.get('name')} {blas.get('version')}",
        blas_threads_env={
            k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = harness.parser("engine_mtm", __doc__, quick="fewer ticks and a smaller sample")
    parser.add_argument("--portfolios", type=int, help="override the portfolio count")
    parser.add_argument("--ticks", type=int, help="override the timed ticks per workload")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    overrides = {"portfolios": args.portfolios, "ticks": args.ticks}
    plan = replace(plan, **{k: v for k, v in overrides.items() if v is not None})
    bench_run = harness.Run.begin("engine mark-to-market", plan, quick=args.quick)
    book = make_book(plan)
    measurements = []
    try:
        for workload in WORKLOADS:
            measurements.append(measure(book, plan, workload))
            _progress(measurements[-1])
    except BenchFailure as failure:
        return harness.failed(failure)
    wall = bench_run.wall_seconds
    print()
    print(table(measurements, plan))
    print(
        f"\n* plain Python timed on {len(book.sample):,} random portfolios and scaled to "
        f"{plan.portfolios:,} (its cost is linear in portfolios); it loops over each portfolio's "
        f"{plan.holdings} holdings, numpy multiplies all {plan.symbols} symbols. Figures are "
        f"medians over {plan.ticks} ticks; ratio = plain Python time per tick / numpy time per "
        "tick. Both sides' equity and statistics were checked equal (1e-9) on the sample."
    )
    head = harness.payload_head(
        quick=bench_run.quick,
        plan=plan,
        machine=machine_info(),
        cpu_busy_before=bench_run.cpu_busy_before,
    )
    return bench_run.finish(
        args.output,
        head
        | {
            "results": [
                asdict(m)
                | {
                    "numpy_ticks_per_second": round(1 / m.numpy_tick_seconds, 2),
                    "numpy_portfolio_ticks_per_second": round(m.portfolios / m.numpy_tick_seconds),
                    "peer_ticks_per_second": round(1 / m.peer_tick_seconds, 4),
                    "peer_portfolio_ticks_per_second": round(m.portfolios / m.peer_tick_seconds),
                    "ratio": round(m.ratio, 1),
                }
                for m in measurements
            ],
            "wall_seconds": round(wall, 1),
        },
    )


def _progress(m: Measurement) -> None:
    print(
        f"  {m.workload}: numpy {m.numpy_tick_seconds * 1e3:.2f} ms/tick, plain Python "
        f"{m.peer_sample_tick_seconds * 1e3:.1f} ms/tick for {m.peer_sample:,} portfolios",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
