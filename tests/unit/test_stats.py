"""Statistics of one equity curve: parity with empyrical, hand-worked cases, undefined → None."""

import math
from dataclasses import astuple
from decimal import Decimal

import empyrical
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.trading.stats import ZERO_SPREAD, Statistics, performance

# 1e-9 relative; the absolute floor only matters for values that are 0 up to rounding (a
# Sharpe ratio of 1e-17 computed two ways), where a relative comparison means nothing.
REL, ABS = 1e-9, 1e-12

daily_returns = st.lists(
    st.one_of(
        st.floats(min_value=-0.5, max_value=0.5),
        st.sampled_from([0.0, 0.01, -0.01, 0.05, -0.2]),  # ties, flat runs, exact recoveries
    ),
    max_size=80,
)


def curve_from(start: float, returns: list[float]) -> np.ndarray:
    return np.concatenate(([start], start * np.cumprod(1 + np.asarray(returns, dtype=float))))


def agrees(ours: float | None, theirs: float) -> bool:
    """empyrical's NaN/inf is our None; otherwise equal to 1e-9 relative."""
    if not math.isfinite(theirs):
        return ours is None
    return ours is not None and math.isclose(ours, theirs, rel_tol=REL, abs_tol=ABS)


def empyrical_figures(curve: np.ndarray, risk_free: float) -> dict[str, float]:
    returns = empyrical.simple_returns(curve)
    return {
        "total_return": float(empyrical.cum_returns_final(returns)),
        "cagr": float(empyrical.annual_return(returns)),
        "annual_volatility": float(empyrical.annual_volatility(returns)),
        "sharpe": float(empyrical.sharpe_ratio(returns, risk_free=risk_free)),
        "sortino": float(empyrical.sortino_ratio(returns, required_return=risk_free)),
        "max_drawdown": float(empyrical.max_drawdown(returns)),
        "calmar": float(empyrical.calmar_ratio(returns)),
    }


def assert_parity(curve: np.ndarray, risk_free: float = 0.0) -> Statistics:
    stats = performance(curve, risk_free=risk_free)
    with np.errstate(all="ignore"):
        theirs = empyrical_figures(curve, risk_free)
    returns = np.diff(curve) / curve[:-1]
    if returns.size >= 2 and np.ptp(returns) <= ZERO_SPREAD:
        # Documented divergence: returns equal up to rounding have zero volatility here, while
        # empyrical divides by the rounding residue (a Sharpe ratio near 1e15).
        assert stats.annual_volatility == 0.0 and stats.sharpe is None
        assert theirs.pop("annual_volatility") <= ZERO_SPREAD * math.sqrt(252)
        del theirs["sharpe"]
    if risk_free and returns.size >= 2:
        # empyrical takes mean(r - rf) and std(r - rf), we take mean(r) - rf and std(r) (the
        # issue's words): equal, except that rounding r - rf moves them by ~1e-16 · |r|. Where a
        # denominator is below a millionth of |r| that rounding exceeds 1e-9 of the ratio.
        scale = max(float(np.max(np.abs(returns))), abs(risk_free))
        downside = math.sqrt(np.mean(np.minimum(returns - risk_free, 0) ** 2))
        if np.std(returns) < 1e-6 * scale:
            theirs.pop("sharpe", None)
        if 0 < downside < 1e-6 * scale:
            del theirs["sortino"]
    assert_calmar_parity(stats, theirs.pop("calmar"))
    for name, value in theirs.items():
        ours = getattr(stats, name)
        assert agrees(ours, value), f"{name}: ours {ours}, empyrical {value}"
    return stats


def assert_calmar_parity(stats: Statistics, theirs: float) -> None:
    if stats.max_drawdown is not None and stats.max_drawdown >= -ZERO_SPREAD:
        assert stats.calmar is None  # a drawdown of rounding noise: documented divergence
    elif not math.isfinite(theirs):
        assert stats.calmar is None
    else:
        # Calmar = CAGR / |drawdown| agrees as far as its parts do: an absolute 1e-12 on each,
        # carried through the division (a drawdown of 4e-10 leaves 2.5e-7 of it).
        assert stats.calmar is not None and stats.cagr is not None
        assert stats.max_drawdown is not None
        drawdown = abs(stats.max_drawdown)
        floor = ABS / drawdown + abs(stats.cagr) * ABS / drawdown**2
        assert math.isclose(stats.calmar, theirs, rel_tol=REL, abs_tol=floor), (stats, theirs)


@given(
    start=st.floats(min_value=1.0, max_value=1e7),
    returns=daily_returns,
    risk_free=st.one_of(st.just(0.0), st.floats(min_value=-0.001, max_value=0.001)),
)
def test_parity_with_empyrical(start: float, returns: list[float], risk_free: float) -> None:
    stats = assert_parity(curve_from(start, returns), risk_free)
    assert stats.periods == len(returns)
    for value in astuple(stats):
        assert value is None or math.isfinite(value)  # never NaN or infinity


@pytest.mark.parametrize(
    "curve",
    [
        [100.0, 110.0, 99.0, 108.9],
        [100.0, 120.0, 90.0, 130.0, 125.0, 140.0],
        [10_000.0, 9_800.0, 9_700.0, 9_900.0, 10_050.0, 9_600.0, 9_400.0, 10_400.0],
        [1.0, 1.01, 1.0201, 1.030301],  # steady growth: no drawdown, no downside
        [100.0, 100.0, 100.0],  # flat
        [100.0],  # one point
        list(100 * np.exp(np.cumsum(np.random.default_rng(7).normal(4e-4, 0.015, 756)))),
    ],
    ids=["up-down-up", "swings", "round-trip", "steady", "flat", "one-point", "3y-random-walk"],
)
def test_parity_on_fixed_curves(curve: list[float]) -> None:
    assert_parity(np.asarray(curve))
    assert_parity(np.asarray(curve), risk_free=0.0001)


def test_hand_worked_curve() -> None:
    # returns +10 %, -10 %, +10 %: mean 1/30, sample std √(1/75), downside √(0.01/3)
    stats = performance([Decimal(100), Decimal(110), Decimal(99), Decimal("108.9")])
    expected = {
        "total_return": 0.089,
        "cagr": 1.089**84 - 1,
        "annual_volatility": math.sqrt(1 / 75) * math.sqrt(252),
        "sharpe": (1 / 30) / math.sqrt(1 / 75) * math.sqrt(252),
        "sortino": (1 / 30) / math.sqrt(0.01 / 3) * math.sqrt(252),
        "max_drawdown": -0.1,
        "calmar": (1.089**84 - 1) / 0.1,
    }
    for name, value in expected.items():
        assert getattr(stats, name) == pytest.approx(value, rel=1e-12), name
    assert stats.max_drawdown_duration == 2  # peak 110 at day 1, not recovered at day 3
    assert stats.periods == 3


def test_decimal_and_float_curves_agree() -> None:
    curve = ["100.00", "103.17", "98.44", "101.02", "107.91"]
    assert performance([Decimal(v) for v in curve]) == performance(np.array(curve, dtype=float))


@pytest.mark.parametrize(
    "curve,duration",
    [
        ([100, 90, 95, 100, 105], 3),  # peak day 0, back at 100 on day 3
        ([100, 90, 95], 2),  # not recovered: peak day 0 to the end, day 2
        ([100, 110, 100, 105, 110, 90], 3),  # 110 on day 1 → day 4; then 1 unrecovered day
        ([100, 100, 90, 100], 2),  # the latest equal high is the peak
        ([100, 90, 100, 80, 85, 90, 95], 4),  # a longer second drawdown still open
        ([1, 2, 3, 4], 0),  # never under water
        ([100, 99], 1),
    ],
)
def test_max_drawdown_duration(curve: list[int], duration: int) -> None:
    assert performance([Decimal(v) for v in curve]).max_drawdown_duration == duration


def test_max_drawdown_is_the_worst_fall_from_a_running_peak() -> None:
    assert performance([100.0, 120.0, 90.0, 130.0, 110.0]).max_drawdown == pytest.approx(-0.25)
    assert performance([100.0, 101.0, 102.0]).max_drawdown == 0.0


def test_trade_statistics() -> None:
    pnls = [Decimal("10.00"), Decimal("-5.00"), Decimal("0.00"), Decimal("20.00")]
    stats = performance(
        [Decimal(100), Decimal(110), Decimal(90)],
        closed_trade_pnls=pnls,
        traded_value=Decimal(250),
        trade_count=7,
    )
    assert stats.win_rate == 0.5  # 2 winners of 4 closed trades; a zero P&L is not a win
    assert stats.profit_factor == 6.0  # 30 / |-5|
    assert stats.turnover == 2.5  # 250 / mean(100, 110, 90)
    assert stats.trade_count == 7
    once = performance([1.0], closed_trade_pnls=(p for p in pnls))  # a generator, read once
    assert (once.win_rate, once.profit_factor) == (0.5, 6.0)
    with pytest.raises(ValueError, match="P&L"):
        performance([1.0], closed_trade_pnls=[Decimal("NaN")])


def test_profit_factor_is_exact_in_decimal() -> None:
    pnls = [Decimal("0.1"), Decimal("0.2"), Decimal("-0.3")]
    assert performance([1.0], closed_trade_pnls=pnls).profit_factor == 1.0
    assert performance([1.0], closed_trade_pnls=[3.0, -1.5, -0.5]).profit_factor == 1.5


def test_one_point_has_no_curve_statistics() -> None:
    stats = performance([Decimal(10_000)])
    assert stats.periods == 0
    for name in (
        "total_return",
        "cagr",
        "annual_volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "max_drawdown_duration",
        "calmar",
    ):
        assert getattr(stats, name) is None, name
    assert stats.turnover == 0.0


def test_undefined_statistics_are_none() -> None:
    flat = performance([100.0, 100.0, 100.0])
    assert (flat.annual_volatility, flat.max_drawdown, flat.cagr) == (0.0, 0.0, 0.0)
    assert flat.sharpe is None  # zero volatility
    assert flat.sortino is None  # no return below the risk-free rate
    assert flat.calmar is None  # no drawdown
    doubling = performance([1.0, 2.0, 4.0])  # constant +100 %: exactly zero dispersion
    assert doubling.annual_volatility == 0.0 and doubling.sharpe is None
    single = performance([100.0, 90.0])  # one return: no sample deviation
    assert single.annual_volatility is None and single.sharpe is None and single.sortino is None
    assert single.total_return == pytest.approx(-0.1)
    huge = performance([1.0, 1e10])  # (1e10)^252 overflows: no CAGR, hence no Calmar
    assert huge.cagr is None and huge.calmar is None


def test_trade_statistics_without_trades_or_losses() -> None:
    assert performance([1.0]).win_rate is None
    assert performance([1.0]).profit_factor is None
    no_losses = performance([1.0], closed_trade_pnls=[Decimal(5), Decimal(0)])
    assert no_losses.win_rate == 0.5 and no_losses.profit_factor is None
    only_losses = performance([1.0], closed_trade_pnls=[Decimal(-5)])
    assert only_losses.win_rate == 0.0 and only_losses.profit_factor == 0.0


def test_a_curve_through_zero_has_no_return_statistics_after_it() -> None:
    stats = performance([100.0, -10.0, 50.0, 60.0])
    assert stats.annual_volatility is None and stats.sharpe is None and stats.sortino is None
    assert stats.total_return == pytest.approx(-0.4)
    assert stats.max_drawdown == pytest.approx(-1.1)
    wiped_out = performance([100.0, 0.0])
    assert wiped_out.total_return == -1.0 and wiped_out.cagr is None


@pytest.mark.parametrize(
    "curve",
    [[], [0.0, 1.0], [-5.0, 1.0], [1.0, math.nan], [1.0, math.inf], [[1.0, 2.0]]],
    ids=["empty", "zero-start", "negative-start", "nan", "inf", "two-dimensional"],
)
def test_bad_curves_are_refused(curve: list[float]) -> None:
    with pytest.raises(ValueError):
        performance(np.asarray(curve, dtype=float))
