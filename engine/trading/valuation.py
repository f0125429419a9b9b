"""Many portfolios at once: mark-to-market, running statistics, composite scores.

Everything here is numpy over the portfolio axis (length ``n``): one tick costs O(n · m) for
the valuation and O(n) for the statistics, never a scan of the history. Floats are fine for
ranking and display; money for storage goes through ``quantize`` (Decimal cents).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from engine.trading.stats import (
    TRADING_DAYS,
    ZERO_SPREAD,
    FloatArray,
    annual_volatility_of,
    cagr_of,
    calmar_of,
    sharpe_of,
    sortino_of,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
State = dict[str, npt.NDArray[np.generic]]  # what to_state() returns
MAX_SAFE_UNITS = 2.0**53  # every integer below this is exact in float64


# --- valuation ---------------------------------------------------------------------------------


def mark_to_market(cash: FloatArray, positions: FloatArray, prices: FloatArray) -> FloatArray:
    """Equity of n portfolios: ``cash (n,) + positions (n, m) @ prices (m,)``, float64.

    ``positions[i, j]`` is portfolio i's quantity of symbol j (negative when short), ``prices``
    the marks in the same symbol order, ``cash`` in the same currency.
    """
    cash = np.asarray(cash, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64)
    prices = np.asarray(prices, dtype=np.float64)
    if cash.ndim != 1 or positions.ndim != 2 or prices.ndim != 1:
        raise ValueError("cash is (n,), positions (n, m) and prices (m,)")
    if positions.shape != (cash.size, prices.size):
        raise ValueError(
            f"positions are {positions.shape}, expected {(cash.size, prices.size)} "
            "(portfolios × symbols)"
        )
    # einsum's own single-threaded loop, not BLAS: as fast as a quiet 2-thread dgemv here, ~10x
    # steadier on a busy machine (no thread pool to wait for), and the same summation order
    # whatever the BLAS build or thread count.
    return np.asarray(cash + np.einsum("ij,j->i", positions, prices), dtype=np.float64)


def to_minor_units(equity: FloatArray, *, decimals: int = 2) -> IntArray:
    """``equity`` in integer minor units (cents for 2 decimals), rounded half to even.

    ``rint(equity · 10^decimals)`` is one IEEE multiplication and one rounding, so the same
    floats give the same integers on every machine. Raises ``ValueError`` for NaN, infinity or
    a magnitude beyond 2^53 minor units (where float64 stops holding whole units exactly).
    """
    scaled = np.asarray(equity, dtype=np.float64) * 10.0**decimals
    if not np.all(np.isfinite(scaled)) or np.any(np.abs(scaled) >= MAX_SAFE_UNITS):
        raise ValueError("equity must be finite and below 2^53 minor units to quantize")
    return np.rint(scaled).astype(np.int64)


def quantize(equity: FloatArray, *, decimals: int = 2) -> list[Decimal]:
    """``equity`` as Decimals with ``decimals`` places (``Decimal('1234.57')``), for storage."""
    return [
        Decimal(int(units)).scaleb(-decimals) for units in to_minor_units(equity, decimals=decimals)
    ]


# --- running statistics ------------------------------------------------------------------------

# name -> dtype of every per-portfolio accumulator; the order of to_state()
_ACCUMULATORS: dict[str, type[np.generic]] = {
    "start": np.float64,  # first equity
    "last": np.float64,  # latest equity
    "peak": np.float64,  # highest equity so far
    "worst_drawdown": np.float64,  # min (e - peak) / peak so far, ≤ 0
    "points": np.int64,  # equity values seen (returns + 1; 0 before the first)
    "underwater": np.int64,  # periods since the last peak while below it, else 0
    "longest_underwater": np.int64,  # longest peak-to-recovery (or to-now) span
    "shift": np.float64,  # the first return; Welford runs on r - shift (see _advance)
    "mean_shifted": np.float64,  # Welford running mean of r - shift
    "m2": np.float64,  # Welford Σ (r - mean)²
    "downside_sq": np.float64,  # Σ min(r - risk_free, 0)²
    "min_return": np.float64,  # +inf before the first return
    "max_return": np.float64,  # -inf before the first return
    "ruined": np.bool_,  # equity has been ≤ 0 before a return: return statistics are NaN
}
_SETTINGS = ("periods_per_year", "risk_free")


class RunningStats:
    """Incremental statistics of n equity curves, updated once per tick in O(n).

    After ``update`` has seen ``e_0 … e_T`` for a portfolio, its vector entries equal
    ``engine.trading.stats.performance`` of that curve (the same formulas, see
    ``engine.trading.stats``), except that undefined values are NaN here, not None: these
    vectors feed ranking, where NaN ranks last (``composite_score``). A portfolio's first
    observed equity is its starting equity.

    Per portfolio it keeps (see ``_ACCUMULATORS``): start, last and peak equity; the worst
    drawdown; the current and longest drawdown spans; the number of equity points; Welford's
    running mean and sum of squared deviations of the daily returns less the first return
    (stable where a running sum of squares would cancel); the sum of squared shortfalls below
    the risk-free rate; the smallest and largest return (returns within ``ZERO_SPREAD`` of each
    other have zero volatility, as in ``engine.trading.stats.sample_std``); and whether equity has
    touched zero.

    ``update`` and ``grow`` change the object in place; ``take`` returns a new one.
    ``to_state``/``from_state`` round-trip through a dict of numpy arrays.
    """

    start: FloatArray
    last: FloatArray
    peak: FloatArray
    worst_drawdown: FloatArray
    points: IntArray
    underwater: IntArray
    longest_underwater: IntArray
    shift: FloatArray
    mean_shifted: FloatArray
    m2: FloatArray
    downside_sq: FloatArray
    min_return: FloatArray
    max_return: FloatArray
    ruined: BoolArray

    def __init__(
        self, n: int = 0, *, periods_per_year: int = TRADING_DAYS, risk_free: float = 0.0
    ) -> None:
        if n < 0 or periods_per_year <= 0 or not math.isfinite(risk_free):
            raise ValueError("n ≥ 0, periods_per_year > 0 and a finite risk_free are required")
        self.periods_per_year = int(periods_per_year)
        self.risk_free = float(risk_free)
        self._assign(_blank(n))

    def __len__(self) -> int:
        return int(self.points.size)

    def _assign(self, arrays: Mapping[str, npt.NDArray[np.generic]]) -> None:
        for name in _ACCUMULATORS:
            setattr(self, name, arrays[name])

    def _arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        return {name: getattr(self, name) for name in _ACCUMULATORS}

    # --- per tick -----------------------------------------------------------------------------

    def update(self, equity: FloatArray) -> None:
        """Record one tick: ``equity[i]`` is portfolio i's equity now (finite; first one > 0)."""
        e = np.asarray(equity, dtype=np.float64)
        if e.shape != (len(self),):
            raise ValueError(f"equity is {e.shape}, expected ({len(self)},)")
        if not np.all(np.isfinite(e)):
            raise ValueError("equity must be finite (no NaN or infinity)")
        fresh = self.points == 0
        if not fresh.any():
            self._advance(e)  # the usual tick: in place over whole arrays
            return
        joining, staying = np.flatnonzero(fresh), np.flatnonzero(~fresh)
        self._begin(joining, e[joining])
        if staying.size:
            rest = self.take(staying)
            rest._advance(e[staying])
            for name, values in rest._arrays().items():
                getattr(self, name)[staying] = values

    def _begin(self, idx: IntArray, start: FloatArray) -> None:
        """The first equity of portfolios ``idx`` (``start[k]`` for ``idx[k]``): their start."""
        if np.any(start <= 0):
            raise ValueError("a portfolio's starting equity must be positive")
        self.start[idx] = start
        self.last[idx] = start
        self.peak[idx] = start
        self.points[idx] = 1

    def _advance(self, e: FloatArray) -> None:
        """One more daily return for every portfolio (all have a start). In place, few
        temporaries: this is the per-tick cost."""
        r = np.subtract(e, self.last)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(r, self.last, out=r)
        gone = self.last <= 0  # a return from zero or negative equity is meaningless
        if gone.any():
            self.ruined |= gone
            r[gone] = 0.0  # keeps the sums finite; `ruined` masks them
        count = self.points  # the number of returns including this one
        first = count == 1
        if first.any():
            np.copyto(self.shift, r, where=first)
        # Welford on r - (first return): for returns that barely move (1.00 %, 1.01 % …) the
        # subtraction is exact and the spread is not lost against the returns' size.
        shifted = np.subtract(r, self.shift)
        delta = np.subtract(shifted, self.mean_shifted)
        scratch = np.divide(delta, count)
        np.add(self.mean_shifted, scratch, out=self.mean_shifted)
        np.subtract(shifted, self.mean_shifted, out=shifted)
        np.multiply(delta, shifted, out=delta)
        np.add(self.m2, delta, out=self.m2)
        np.subtract(r, self.risk_free, out=scratch)  # shortfall below the risk-free rate
        np.minimum(scratch, 0.0, out=scratch)
        np.multiply(scratch, scratch, out=scratch)
        np.add(self.downside_sq, scratch, out=self.downside_sq)
        np.minimum(self.min_return, r, out=self.min_return)
        np.maximum(self.max_return, r, out=self.max_return)
        np.maximum(self.peak, e, out=self.peak)
        np.subtract(e, self.peak, out=scratch)  # the drawdown (e - peak) / peak
        np.divide(scratch, self.peak, out=scratch)
        np.minimum(self.worst_drawdown, scratch, out=self.worst_drawdown)
        below = e < self.peak
        span = self.underwater
        np.add(span, 1, out=span)  # periods since the peak, counting this one
        ended = below | (span > 1)  # still under water, or just back at the peak
        np.maximum(self.longest_underwater, span, out=self.longest_underwater, where=ended)
        np.multiply(span, below, out=span)  # back to 0 at a peak
        np.copyto(self.last, e)
        np.add(count, 1, out=count)

    # --- statistics (float vectors, NaN where undefined) --------------------------------------

    @property
    def periods(self) -> IntArray:
        """Daily returns seen per portfolio (points - 1; 0 before the first update)."""
        return np.maximum(self.points - 1, 0)

    @property
    def total_return(self) -> FloatArray:
        """(last - start) / start."""
        return np.where(self.periods > 0, self._total_return(), np.nan)

    @property
    def cagr(self) -> FloatArray:
        """(last / start)^(P / periods) - 1."""
        return np.asarray(cagr_of(self._total_return(), self.periods, self.periods_per_year))

    @property
    def volatility(self) -> FloatArray:
        """Annualized: std(r, ddof=1) · √P."""
        return np.asarray(annual_volatility_of(self._std(), self.periods_per_year))

    @property
    def sharpe(self) -> FloatArray:
        """mean(r - risk_free) / std(r, ddof=1) · √P."""
        mean = self._usable(self.mean_return - self.risk_free)
        return np.asarray(sharpe_of(mean, self._std(), self.periods_per_year))

    @property
    def sortino(self) -> FloatArray:
        """mean(r - risk_free) / √(Σ min(r - risk_free, 0)² / T) · √P."""
        periods = self.periods
        with np.errstate(divide="ignore", invalid="ignore"):
            downside = self._usable(np.sqrt(self.downside_sq / periods))
        mean = self._usable(self.mean_return - self.risk_free)
        return np.asarray(sortino_of(mean, downside, periods, self.periods_per_year))

    @property
    def max_drawdown(self) -> FloatArray:
        """Worst (e - peak) / peak so far, ≤ 0."""
        return np.where(self.periods > 0, self.worst_drawdown, np.nan)

    @property
    def max_drawdown_duration(self) -> FloatArray:
        """Longest peak-to-recovery span in periods (to now if not recovered), as floats."""
        return np.where(self.periods > 0, self.longest_underwater.astype(np.float64), np.nan)

    @property
    def calmar(self) -> FloatArray:
        """cagr / |max_drawdown|."""
        return np.asarray(calmar_of(self.cagr, self.max_drawdown))

    @property
    def mean_return(self) -> FloatArray:
        """The mean daily return r̄ (not annualized); 0 before the first return."""
        return self.shift + self.mean_shifted

    def _total_return(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.last - self.start) / self.start

    def _std(self) -> FloatArray:
        """std(r, ddof=1) from Welford's m2; NaN below two returns."""
        count = self.periods
        with np.errstate(divide="ignore", invalid="ignore"):
            std = np.sqrt(self.m2 / (count - 1))
        std = np.where(self.max_return - self.min_return <= ZERO_SPREAD, 0.0, std)
        return self._usable(np.where(count >= 2, std, np.nan))

    def _usable(self, values: FloatArray) -> FloatArray:
        """NaN for portfolios without returns or whose equity has touched zero."""
        return np.where(self.ruined | (self.periods == 0), np.nan, values)

    # --- membership and persistence ------------------------------------------------------------

    def grow(self, k: int, *, start_equity: FloatArray | None = None) -> None:
        """Append k portfolios (late joiners). Their starting equity is ``start_equity`` when
        given, else their equity at their first ``update``. Nothing changes on bad input."""
        if k < 0:
            raise ValueError("k must be ≥ 0")
        start = None if start_equity is None else np.asarray(start_equity, dtype=np.float64)
        if start is not None and (
            start.shape != (k,) or not np.all(np.isfinite(start) & (start > 0))
        ):
            raise ValueError(f"start_equity must be {k} finite positive values")
        old, extra = len(self), _blank(k)
        self._assign(
            {name: np.concatenate((mine, extra[name])) for name, mine in self._arrays().items()}
        )
        if start is not None:
            self._begin(np.arange(old, old + k), start)

    def take(self, indices: npt.ArrayLike) -> RunningStats:
        """A new ``RunningStats`` of the portfolios at ``indices``, in that order (copies)."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1:
            raise ValueError("indices must be one-dimensional")
        subset = RunningStats(periods_per_year=self.periods_per_year, risk_free=self.risk_free)
        subset._assign({name: values[idx] for name, values in self._arrays().items()})
        return subset

    def to_state(self) -> State:
        """Every accumulator as a numpy array (copies), the settings as 0-d arrays."""
        state: State = {name: values.copy() for name, values in self._arrays().items()}
        state["periods_per_year"] = np.asarray(self.periods_per_year, dtype=np.int64)
        state["risk_free"] = np.asarray(self.risk_free, dtype=np.float64)
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, npt.ArrayLike]) -> RunningStats:
        """The inverse of ``to_state``; checks names, shapes and invariants, copies the arrays."""
        expected = {*_ACCUMULATORS, *_SETTINGS}
        if set(state) != expected:
            raise ValueError(
                f"state keys differ: missing {sorted(expected - set(state))}, "
                f"unexpected {sorted(set(state) - expected)}"
            )
        restored = cls(
            periods_per_year=int(np.asarray(state["periods_per_year"])),
            risk_free=float(np.asarray(state["risk_free"])),
        )
        arrays = {name: np.array(state[name], dtype=dtype) for name, dtype in _ACCUMULATORS.items()}
        shapes = {values.shape for values in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(f"state arrays must be one-dimensional and of one length: {shapes}")
        restored._assign(arrays)
        restored.check_invariants()
        return restored

    def check_invariants(self) -> None:
        """Raise ``ValueError`` unless the accumulators are mutually consistent."""
        seen = self.points > 0
        problems = {
            "negative point count": self.points < 0,
            "non-positive start": seen & ~(self.start > 0),
            "peak below start or last": seen & ((self.peak < self.start) | (self.peak < self.last)),
            "positive drawdown": self.worst_drawdown > 0,
            "current drawdown span above the longest": self.underwater > self.longest_underwater,
            "drawdown span longer than the curve": self.longest_underwater > self.periods,
            "negative m2 or downside sum": (self.m2 < 0) | (self.downside_sq < 0),
        }
        for problem, where in problems.items():
            if np.any(where):
                raise ValueError(f"{problem} at portfolios {np.flatnonzero(where)[:10].tolist()}")


def _blank(n: int) -> dict[str, npt.NDArray[np.generic]]:
    """Accumulators of n portfolios that have seen nothing yet."""
    arrays = {name: np.zeros(n, dtype=dtype) for name, dtype in _ACCUMULATORS.items()}
    arrays["min_return"][:] = np.inf
    arrays["max_return"][:] = -np.inf
    return arrays


# --- ranking -----------------------------------------------------------------------------------


def percentile_rank(values: FloatArray) -> FloatArray:
    """Each value's mid-rank percentile in [0, 1], higher is better; NaN scores 0.

    score = (entries strictly worse + ½ · other entries tied) / (n - 1), where NaN is worse than
    any number. A lone number scores 1.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError("a metric is a one-dimensional vector")
    scores = np.zeros(x.size)
    valid = ~np.isnan(x)
    numbers = x[valid]
    if numbers.size == 0:
        return scores
    if x.size == 1:
        return np.ones(1)
    ordered = np.sort(numbers)
    below = np.searchsorted(ordered, numbers, side="left")
    tied = np.searchsorted(ordered, numbers, side="right") - below - 1
    scores[valid] = (below + (x.size - numbers.size) + 0.5 * tied) / (x.size - 1)
    return scores


def composite_score(metrics: Mapping[str, FloatArray], weights: Mapping[str, float]) -> FloatArray:
    """Σ weight_k · percentile_rank(metric_k) over the weighted metrics, per portfolio.

    Every metric is higher-is-better: a drawdown as a negative fraction already is (-0.05 beats
    -0.20); pass the negation of a lower-is-better metric. NaN ranks last (scores 0). With
    non-negative weights summing to 1 each score is in [0, 1], e.g. the contest weights
    ``{"total_return": 0.70, "win_rate": 0.15, "max_drawdown": 0.15}``. Metrics without a
    weight are ignored.
    """
    if not weights:
        raise ValueError("at least one weight is required")
    missing = sorted(set(weights) - set(metrics))
    if missing:
        raise ValueError(f"no metric for weights {missing}")
    if any(not math.isfinite(w) or w < 0 for w in weights.values()):
        raise ValueError("weights must be finite and non-negative")
    sizes = {np.asarray(metrics[name]).shape for name in weights}
    if len(sizes) != 1:
        raise ValueError(f"metrics differ in shape: {sorted(sizes)}")
    n = np.asarray(metrics[next(iter(weights))]).size
    score = np.zeros(n)
    for name, weight in weights.items():
        score += weight * percentile_rank(np.asarray(metrics[name], dtype=np.float64))
    return score
