"""Performance statistics of one equity curve.

Conventions (those of ``empyrical``, which the tests check us against):

- The curve ``e_0 … e_T`` is one equity value per trading day; ``e_0`` is the starting equity
  and must be positive. ``periods`` is ``T``, the number of daily returns (not of points).
- Daily returns are simple: ``r_t = (e_t - e_{t-1}) / e_{t-1}``.
- ``periods_per_year`` (``P``, default 252 trading days) annualizes; ``risk_free`` is a rate
  *per period* (a daily rate, as in empyrical), not an annual one.
- Volatility is zero when all returns lie within ``ZERO_SPREAD`` (1e-12) of each other, and
  Calmar needs a drawdown deeper than it. empyrical only zeroes exactly equal returns, so for a
  curve of equal steps whose float returns differ by rounding it reports a Sharpe ratio of
  ~1e15 (and a Calmar ratio of ~1e16 for a one-ulp dip) where we report None.
- Annualization is geometric for growth (CAGR) and by ``sqrt(P)`` for dispersion. empyrical's
  ``annual_return`` raises the growth factor to ``P / len(returns)``, the issue's
  ``(end/start)^(252/periods)``; the two agree because ``periods`` counts returns.
- Where empyrical's words differ from the issue's we follow the issue: Sharpe divides by
  std(r) (empyrical: std(r - rf), equal for a constant rf up to rounding) and the mean excess
  return is mean(r) - rf (empyrical: mean(r - rf)). Sortino's downside deviation is
  empyrical's: √(mean(min(r - rf, 0)²)) over all returns, with rf as the required return.

Ratios are floats (statistics, never stored as money). A statistic that is undefined for the
curve is ``None`` — never NaN or infinity. A curve of one point has no statistics; a curve that
has touched zero or below has no return-based statistics after it (a return from a non-positive
equity means nothing).

The vector helpers (``cagr_of``, ``sharpe_of`` …) take the accumulated quantities and return NaN
where undefined; ``performance`` and ``engine.trading.valuation.RunningStats`` both use them, so a
running statistic and the one recomputed from the full curve share one formula.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
TRADING_DAYS = 252
# Returns that all lie within this of each other are constant: the volatility is 0 and the
# Sharpe ratio undefined. A curve of equal steps (1.00, 1.01, 1.0201 …) gives returns that
# differ by a few ulps (~1e-16) in float, which would otherwise yield a Sharpe ratio of 1e15;
# a real difference is at least a cent of equity, above 1e-12 up to 10^10 of equity.
ZERO_SPREAD = 1e-12


@dataclass(frozen=True, slots=True)
class Statistics:
    """Statistics of one equity curve; fractions (0.1 = 10 %), ``None`` where undefined."""

    total_return: float | None
    cagr: float | None
    annual_volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float | None  # ≤ 0, e.g. -0.2308
    max_drawdown_duration: int | None  # periods from a peak to its recovery (or to the end)
    calmar: float | None
    win_rate: float | None
    profit_factor: float | None
    turnover: float | None
    trade_count: int
    periods: int  # daily returns in the curve: points - 1


def performance(
    equity: Sequence[Decimal] | Sequence[float] | FloatArray,
    *,
    closed_trade_pnls: Iterable[Decimal | float] = (),
    traded_value: Decimal | float = Decimal(0),
    trade_count: int = 0,
    periods_per_year: int = TRADING_DAYS,
    risk_free: float = 0.0,
) -> Statistics:
    """Statistics of the daily equity curve ``equity`` (``equity[0]`` is the starting equity).

    With ``e`` the curve, ``r`` its simple daily returns, ``T = len(r)``, ``P = periods_per_year``
    and ``x = r - risk_free`` the excess returns:

    - total_return = (e_T - e_0) / e_0
    - cagr = (e_T / e_0) ^ (P / T) - 1 (geometric; None when e_T ≤ 0)
    - annual_volatility = std(r, ddof=1) · √P (needs T ≥ 2)
    - sharpe = mean(x) / std(r, ddof=1) · √P (needs T ≥ 2 and r not constant)
    - sortino = mean(x) / DD · √P with the downside deviation DD = √(Σ min(x, 0)² / T) taken
      over all T returns, not only the negative ones (empyrical's ``downside_risk``); needs T ≥ 2
      and some x < 0
    - max_drawdown = min_t (e_t - peak_t) / peak_t with peak_t = max(e_0 … e_t), ≤ 0
    - max_drawdown_duration = the longest span, in periods, from a peak to the first point
      back at or above it, or to the last point when the curve has not recovered
    - calmar = cagr / |max_drawdown| (None without a drawdown deeper than ``ZERO_SPREAD``)
    - win_rate = closed trades with P&L > 0 / closed trades (a zero P&L is not a win)
    - profit_factor = Σ winning P&L / |Σ losing P&L| (None without a losing trade)
    - turnover = traded_value / mean(e), not annualized; ``traded_value`` is what the caller
      counts as traded (normally the notional of every fill, buys and sells)

    Raises ``ValueError`` for an empty, non-finite or non-positive-start curve.
    """
    curve = equity_array(equity)
    pnls = [_exact(p) for p in closed_trade_pnls]
    returns = simple_returns(curve)
    periods = len(returns)
    total_return = float((curve[-1] - curve[0]) / curve[0]) if periods else math.nan
    usable = periods > 0 and bool(np.all(curve[:-1] > 0))
    mean = float(np.mean(returns)) if usable else math.nan
    std = sample_std(returns) if usable else math.nan
    downside = downside_deviation(returns, risk_free) if usable else math.nan
    drawdown = float(np.min(drawdowns(curve))) if periods else math.nan
    cagr = cagr_of(total_return, periods, periods_per_year)
    return Statistics(
        total_return=_defined(total_return),
        cagr=_defined(cagr),
        annual_volatility=_defined(annual_volatility_of(std, periods_per_year)),
        sharpe=_defined(sharpe_of(mean - risk_free, std, periods_per_year)),
        sortino=_defined(sortino_of(mean - risk_free, downside, periods, periods_per_year)),
        max_drawdown=_defined(drawdown),
        max_drawdown_duration=max_drawdown_duration(curve) if periods else None,
        calmar=_defined(calmar_of(cagr, drawdown)),
        win_rate=win_rate(pnls),
        profit_factor=profit_factor(pnls),
        turnover=turnover(traded_value, curve),
        trade_count=trade_count,
        periods=periods,
    )


# --- the curve ---------------------------------------------------------------------------------


def equity_array(equity: Sequence[Decimal] | Sequence[float] | FloatArray) -> FloatArray:
    """The curve as float64, checked: one dimension, at least one point, finite, e_0 > 0."""
    curve = np.asarray(equity, dtype=np.float64)  # Decimal → nearest float
    if curve.ndim != 1 or curve.size == 0:
        raise ValueError("an equity curve is a non-empty sequence of numbers")
    if not np.all(np.isfinite(curve)):
        raise ValueError("an equity curve must be finite (no NaN or infinity)")
    if curve[0] <= 0:
        raise ValueError(f"the starting equity must be positive, not {curve[0]}")
    return curve


def simple_returns(curve: FloatArray) -> FloatArray:
    """r_t = (e_t - e_{t-1}) / e_{t-1}: one return per period, like ``empyrical.simple_returns``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.diff(curve) / curve[:-1], dtype=np.float64)


def drawdowns(curve: FloatArray) -> FloatArray:
    """(e_t - peak_t) / peak_t at every point, peak_t = max(e_0 … e_t); 0 at a new high."""
    peaks = np.maximum.accumulate(curve)
    return np.asarray((curve - peaks) / peaks, dtype=np.float64)


def max_drawdown_duration(curve: FloatArray) -> int:
    """The longest peak-to-recovery span in periods; an unrecovered drawdown counts to the end.

    [100, 90, 95, 100] → 3 (peak at 0, back to 100 at 3); [100, 90, 95] → 2.
    """
    peaks = np.maximum.accumulate(curve)
    under = np.concatenate(([False], curve < peaks, [False]))
    edges = np.flatnonzero(np.diff(under.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]  # each run of points below its peak: [start, end)
    if starts.size == 0:
        return 0
    recovered = ends < curve.size  # the point at index `end` is back at the peak
    return int(np.max(ends - starts + recovered))


def sample_std(returns: FloatArray) -> float:
    """std(r, ddof=1); exactly 0 when the returns are constant up to rounding (see ZERO_SPREAD)."""
    if returns.size < 2:
        return math.nan
    if returns.max() - returns.min() <= ZERO_SPREAD:
        return 0.0
    return float(np.std(returns, ddof=1))


def downside_deviation(returns: FloatArray, risk_free: float) -> float:
    """√(Σ min(r - risk_free, 0)² / T) over all T returns (per period, not annualized)."""
    if returns.size == 0:
        return math.nan
    shortfall = np.minimum(returns - risk_free, 0.0)
    return float(np.sqrt(np.mean(shortfall * shortfall)))


# --- formulas shared with the running (vectorized) statistics ----------------------------------
# Each takes floats or arrays and returns NaN where the statistic is undefined.


def cagr_of(total_return: Any, periods: Any, periods_per_year: int) -> Any:
    """(1 + total_return)^(P/T) - 1; NaN when T = 0, e_T ≤ 0 or the power overflows.

    Computed as expm1(P/T · log1p(total_return)), which keeps its digits when the growth is
    close to 1 (a tiny return over a day would lose half of them to ``growth - 1``).
    """
    total = np.asarray(total_return, dtype=np.float64)
    periods = np.asarray(periods, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        result = np.expm1(periods_per_year / periods * np.log1p(total))
    return _nan_where(result, (periods <= 0) | ~(total > -1))


def annual_volatility_of(std: Any, periods_per_year: int) -> Any:
    """std(r, ddof=1) · √P."""
    return _nan_where(np.asarray(std, dtype=np.float64) * math.sqrt(periods_per_year), False)


def sharpe_of(mean_excess: Any, std: Any, periods_per_year: int) -> Any:
    """mean(r - rf) / std(r) · √P; NaN when std is 0 or undefined."""
    std = np.asarray(std, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.asarray(mean_excess, dtype=np.float64) / std * math.sqrt(periods_per_year)
    return _nan_where(result, ~(std > 0))


def sortino_of(mean_excess: Any, downside: Any, periods: Any, periods_per_year: int) -> Any:
    """mean(r - rf) / DD · √P; NaN when T < 2 or DD is 0 (no return below the risk-free rate)."""
    downside = np.asarray(downside, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.asarray(mean_excess, dtype=np.float64) / downside * math.sqrt(periods_per_year)
    return _nan_where(result, ~(downside > 0) | (np.asarray(periods) < 2))


def calmar_of(cagr: Any, max_drawdown: Any) -> Any:
    """cagr / |max_drawdown|; NaN without a drawdown beyond rounding (≥ -ZERO_SPREAD)."""
    max_drawdown = np.asarray(max_drawdown, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.asarray(cagr, dtype=np.float64) / np.abs(max_drawdown)
    return _nan_where(result, ~(max_drawdown < -ZERO_SPREAD))


def _nan_where(values: Any, undefined: Any) -> Any:
    """``values`` with NaN where ``undefined`` or not finite; a float for 0-d input."""
    result = np.where(np.asarray(undefined) | ~np.isfinite(values), np.nan, values)
    return float(result) if result.ndim == 0 else result


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else value


# --- trade statistics --------------------------------------------------------------------------


def win_rate(pnls: Iterable[Decimal | float]) -> float | None:
    """Winning closed trades (P&L > 0) / closed trades; None without closed trades."""
    values = [_exact(p) for p in pnls]
    if not values:
        return None
    return sum(1 for p in values if p > 0) / len(values)


def profit_factor(pnls: Iterable[Decimal | float]) -> float | None:
    """Σ winning P&L / |Σ losing P&L|, exact in Decimal; None without a losing trade."""
    values = [_exact(p) for p in pnls]
    gross_loss = -sum((p for p in values if p < 0), Decimal(0))
    if gross_loss == 0:
        return None
    return float(sum((p for p in values if p > 0), Decimal(0)) / gross_loss)


def turnover(traded_value: Decimal | float, curve: FloatArray) -> float | None:
    """traded_value / mean equity; None when the mean equity is not positive."""
    average = float(np.mean(curve))
    return float(traded_value) / average if average > 0 else None


def _exact(value: Decimal | float) -> Decimal:
    exact = value if isinstance(value, Decimal) else Decimal(value)
    if not exact.is_finite():
        raise ValueError(f"a trade P&L must be finite, not {value}")
    return exact
