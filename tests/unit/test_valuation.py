"""Many portfolios at once: mark-to-market, running statistics, composite scores."""

import io
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from engine.trading.stats import performance
from engine.trading.valuation import (
    RunningStats,
    composite_score,
    mark_to_market,
    percentile_rank,
    quantize,
    to_minor_units,
)

REL, ABS = 1e-9, 1e-12
# RunningStats vector -> the matching engine.trading.stats.Statistics field
VECTORS = {
    "total_return": "total_return",
    "cagr": "cagr",
    "volatility": "annual_volatility",
    "sharpe": "sharpe",
    "sortino": "sortino",
    "max_drawdown": "max_drawdown",
    "max_drawdown_duration": "max_drawdown_duration",
    "calmar": "calmar",
}

# --- mark-to-market ------------------------------------------------------------------------------

Book = tuple[list[Decimal], list[list[Decimal]], list[Decimal]]  # cash, positions, prices
cents = st.integers(min_value=1, max_value=100_000_000).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def books(draw: st.DrawFn, fractional: bool = False) -> Book:
    n, m = draw(st.integers(1, 8)), draw(st.integers(1, 6))
    cash = draw(st.lists(cents, min_size=n, max_size=n))
    if fractional:  # US fractional shares, 1e-6 of a share
        quantity = st.integers(-(10**9), 10**9).map(lambda q: Decimal(q).scaleb(-6))
    else:
        quantity = st.integers(-10_000, 10_000).map(Decimal)
    positions = draw(st.lists(st.lists(quantity, min_size=m, max_size=m), min_size=n, max_size=n))
    prices = draw(
        st.lists(
            st.integers(1, 500_000).map(lambda c: Decimal(c).scaleb(-2)), min_size=m, max_size=m
        )
    )
    return cash, positions, prices


def decimal_equity(
    cash: list[Decimal], positions: list[list[Decimal]], prices: list[Decimal]
) -> list[Decimal]:
    """The reference: one portfolio at a time, exact Decimal arithmetic."""
    return [
        c + sum((q * p for q, p in zip(row, prices, strict=True)), Decimal(0))
        for c, row in zip(cash, positions, strict=True)
    ]


def as_floats(
    cash: list[Decimal], positions: list[list[Decimal]], prices: list[Decimal]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array(cash, dtype=float),
        np.array(positions, dtype=float).reshape(len(cash), len(prices)),
        np.array(prices, dtype=float),
    )


@given(books())
def test_mark_to_market_equals_the_decimal_loop_to_the_cent(
    book: Book,
) -> None:
    # whole shares at cent prices: the exact equity is a whole number of cents, and the float
    # result lands on it after rounding
    assert quantize(mark_to_market(*as_floats(*book))) == decimal_equity(*book)


@given(books(fractional=True))
def test_mark_to_market_with_fractional_shares(
    book: Book,
) -> None:
    exact = decimal_equity(*book)
    equity = mark_to_market(*as_floats(*book))
    gross = [
        c + sum((abs(q) * p for q, p in zip(row, book[2], strict=True)), Decimal(0))
        for c, row in zip(book[0], book[1], strict=True)
    ]
    for ours, theirs, size in zip(equity, exact, gross, strict=True):
        assert abs(Decimal(ours) - theirs) <= size * Decimal("1e-14")


def test_mark_to_market_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="positions"):
        mark_to_market(np.zeros(2), np.zeros((2, 3)), np.zeros(4))
    with pytest.raises(ValueError):
        mark_to_market(np.zeros((2, 1)), np.zeros((2, 3)), np.zeros(3))


def test_minor_units_round_half_to_even() -> None:
    equity = np.array([0.125, 0.375, -0.125, 1234.5678, 0.0])  # 0.125 and 0.375 are exact
    assert to_minor_units(equity).tolist() == [12, 38, -12, 123457, 0]
    assert quantize(equity) == [Decimal(v) for v in ("0.12", "0.38", "-0.12", "1234.57", "0.00")]
    assert quantize(np.array([1234.5678]), decimals=0) == [Decimal(1235)]


@pytest.mark.parametrize("bad", [math.nan, math.inf, 1e14])
def test_minor_units_refuse_what_float_cannot_hold(bad: float) -> None:
    with pytest.raises(ValueError):
        to_minor_units(np.array([1.0, bad]))


# --- running statistics ---------------------------------------------------------------------------

tick_returns = st.one_of(
    st.floats(min_value=-0.3, max_value=0.3),
    st.sampled_from([0.0, 0.01, -0.01, -0.2]),
    st.sampled_from([-1.0, -1.5]),  # wiped out, or below zero (a short gone wrong)
)


@st.composite
def equity_paths(draw: st.DrawFn, max_ticks: int = 40) -> np.ndarray:
    """(T, n) equity: T ticks of n portfolios, each a random walk of daily returns."""
    n = draw(st.integers(1, 6))
    ticks = draw(st.integers(1, max_ticks))
    starts = np.array(draw(st.lists(st.floats(100.0, 1e7), min_size=n, max_size=n)))
    returns = np.array(
        draw(
            st.lists(
                st.lists(tick_returns, min_size=n, max_size=n),
                min_size=ticks - 1,
                max_size=ticks - 1,
            )
        )
    ).reshape(ticks - 1, n)
    return np.vstack((starts, starts * np.cumprod(1 + returns, axis=0)))


def assert_matches_performance(stats: RunningStats, curves: list[np.ndarray]) -> None:
    """Every vector entry equals engine.trading.stats.performance of that portfolio's curve."""
    assert len(stats) == len(curves)
    expected = [performance(curve, risk_free=stats.risk_free) for curve in curves]
    for vector, field in VECTORS.items():
        values = getattr(stats, vector)
        for i, reference in enumerate(expected):
            assert_same(values[i], getattr(reference, field), f"{vector}[{i}]")
    assert stats.periods.tolist() == [s.periods for s in expected]


def assert_same(ours: float, reference: float | None, label: str) -> None:
    if reference is None:
        assert math.isnan(ours), f"{label}: {ours}, expected undefined"
    else:
        assert math.isclose(ours, reference, rel_tol=REL, abs_tol=ABS), (
            f"{label}: {ours} vs {reference}"
        )


@given(equity_paths(), st.sampled_from([0.0, 0.0002]))
def test_running_stats_equal_performance_of_the_full_curve(
    paths: np.ndarray, risk_free: float
) -> None:
    stats = RunningStats(paths.shape[1], risk_free=risk_free)
    for tick in paths:
        stats.update(tick)
    stats.check_invariants()
    assert_matches_performance(stats, list(paths.T))


def test_running_stats_on_a_year_of_cent_rounded_curves() -> None:
    rng = np.random.default_rng(2024)
    ticks, n = 253, 60
    scale = rng.choice([0.0, 1e-4, 0.02], n)  # flat, nearly flat and ordinary portfolios
    returns = rng.normal(3e-4, 1e-3, n) + rng.normal(0, 1, (ticks - 1, n)) * scale
    returns[:, :2] = 0.001  # steady growth: the worst case for a running variance
    curves = np.vstack((np.full(n, 1e6), 1e6 * np.cumprod(1 + returns, axis=0)))
    curves[:, 1:] = curves[:, 1:].round(2)  # storage precision, except the first curve's
    stats = RunningStats(n)
    for tick in curves:
        stats.update(tick)
    assert_matches_performance(stats, list(curves.T))
    assert stats.volatility[0] == 0.0  # returns equal up to float rounding: constant
    assert 0 < stats.volatility[1] < 1e-6  # the cent rounding is a real, tiny dispersion


def test_running_stats_hand_worked() -> None:
    stats = RunningStats(2)
    for tick in ([100.0, 50.0], [110.0, 50.0], [99.0, 50.0], [108.9, 50.0]):
        stats.update(np.array(tick))
    assert stats.total_return == pytest.approx([0.089, 0.0])
    assert stats.sharpe[0] == pytest.approx((1 / 30) / math.sqrt(1 / 75) * math.sqrt(252))
    assert stats.max_drawdown.tolist() == pytest.approx([-0.1, 0.0])
    assert stats.max_drawdown_duration.tolist() == [2.0, 0.0]
    assert stats.volatility[1] == 0.0
    assert math.isnan(stats.sharpe[1]) and math.isnan(stats.sortino[1])  # flat: undefined


def test_undefined_values_are_nan() -> None:
    stats = RunningStats(3)
    for vector in VECTORS:
        assert np.isnan(getattr(stats, vector)).all()  # nothing seen yet
    stats.update(np.array([100.0, 100.0, 100.0]))
    for vector in VECTORS:
        assert np.isnan(getattr(stats, vector)).all()  # one point: no statistics
    stats.update(np.array([90.0, 100.0, 110.0]))
    assert np.isnan(stats.volatility).all()  # one return: no sample deviation
    assert stats.total_return == pytest.approx([-0.1, 0.0, 0.1])


def test_ruined_portfolios_have_no_return_statistics() -> None:
    paths = np.array([[100.0, 100.0], [-10.0, 101.0], [50.0, 99.0], [60.0, 103.0]])
    stats = RunningStats(2)
    for tick in paths:
        stats.update(tick)
    assert_matches_performance(stats, list(paths.T))
    assert math.isnan(stats.sharpe[0]) and not math.isnan(stats.sharpe[1])


def test_update_refuses_bad_equity() -> None:
    stats = RunningStats(2)
    with pytest.raises(ValueError):
        stats.update(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError):
        stats.update(np.array([1.0, math.nan]))
    with pytest.raises(ValueError, match="starting equity"):
        stats.update(np.array([1.0, 0.0]))
    assert stats.points.tolist() == [0, 0]  # a refused tick changes nothing


# --- state, growth, subsets -----------------------------------------------------------------------


@given(equity_paths(max_ticks=30), st.integers(0, 29))
def test_state_round_trip_continues_identically(paths: np.ndarray, cut: int) -> None:
    cut = min(cut, len(paths))
    original = RunningStats(paths.shape[1], risk_free=0.0001)
    for tick in paths[:cut]:
        original.update(tick)
    buffer = io.BytesIO()
    arrays: dict[str, Any] = original.to_state()  # numpy's stub reserves a bool keyword
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer) as saved:
        restored = RunningStats.from_state(dict(saved))
    for tick in paths[cut:]:
        original.update(tick)
        restored.update(tick)
    assert restored.risk_free == 0.0001 and restored.periods_per_year == 252
    for name, values in original.to_state().items():
        np.testing.assert_array_equal(restored.to_state()[name], values, err_msg=name)


def test_state_is_a_copy() -> None:
    stats = RunningStats(1)
    stats.update(np.array([100.0]))
    state = stats.to_state()
    state["last"][0] = 1.0
    assert stats.last[0] == 100.0


def test_from_state_refuses_damaged_state() -> None:
    stats = RunningStats(2)
    for tick in ([100.0, 100.0], [90.0, 110.0]):
        stats.update(np.array(tick))
    missing = stats.to_state()
    del missing["m2"]
    with pytest.raises(ValueError, match="missing"):
        RunningStats.from_state(missing)
    ragged = stats.to_state()
    ragged["peak"] = np.ones(3)
    with pytest.raises(ValueError, match="length"):
        RunningStats.from_state(ragged)
    inconsistent = stats.to_state()
    inconsistent["peak"][0] = 50.0  # below the start
    with pytest.raises(ValueError, match="peak"):
        RunningStats.from_state(inconsistent)


@given(equity_paths(max_ticks=30), st.data())
def test_late_joiners_start_at_their_first_equity(paths: np.ndarray, data: st.DataObject) -> None:
    n = paths.shape[1]
    first_wave = data.draw(st.integers(1, n), label="first wave")
    joins_at = data.draw(st.integers(0, len(paths) - 1), label="join tick")
    assume(np.all(paths[joins_at, first_wave:] > 0))  # nobody joins with nothing
    stats = RunningStats(first_wave)
    for t, tick in enumerate(paths):
        if t == joins_at and first_wave < n:
            stats.grow(n - first_wave)
        stats.update(tick[: len(stats)])
    late = 0 if first_wave == n else joins_at
    curves = [paths[:, i] if i < first_wave else paths[late:, i] for i in range(n)]
    assert_matches_performance(stats, curves)


def test_grow_with_starting_equity() -> None:
    stats = RunningStats(1)
    stats.update(np.array([100.0]))
    stats.grow(2, start_equity=np.array([1_000.0, 500.0]))
    stats.update(np.array([110.0, 1_100.0, 450.0]))
    assert stats.total_return == pytest.approx([0.1, 0.1, -0.1])
    with pytest.raises(ValueError):
        stats.grow(1, start_equity=np.array([0.0]))
    stats.grow(0)
    assert len(stats) == 3


@given(equity_paths(max_ticks=20), st.data())
def test_take_keeps_each_portfolios_statistics(paths: np.ndarray, data: st.DataObject) -> None:
    n = paths.shape[1]
    stats = RunningStats(n)
    for tick in paths:
        stats.update(tick)
    indices = data.draw(st.lists(st.integers(0, n - 1), max_size=n))
    subset = stats.take(indices)
    assert len(subset) == len(indices)
    assert_matches_performance(subset, [paths[:, i] for i in indices])
    if indices:  # a copy: updating the subset leaves the original alone
        before = stats.to_state()
        subset.update(np.ones(len(indices)))
        for name, values in stats.to_state().items():
            np.testing.assert_array_equal(values, before[name])


# --- composite score ------------------------------------------------------------------------------

metric_values = st.one_of(st.floats(-1.0, 1.0), st.just(math.nan), st.sampled_from([0.0, 0.5]))


@st.composite
def metric_tables(draw: st.DrawFn) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 12))
    column = st.lists(metric_values, min_size=n, max_size=n).map(np.array)
    return {"total_return": draw(column), "win_rate": draw(column), "max_drawdown": draw(column)}


def contest_weights() -> dict[str, float]:
    return {"total_return": 0.70, "win_rate": 0.15, "max_drawdown": 0.15}


def test_percentile_rank_by_hand() -> None:
    ranks = percentile_rank(np.array([0.3, math.nan, 0.1, 0.3, 0.5]))
    # worse than 0.3: nan and 0.1 (2), one tie → (2 + 0.5) / 4
    assert ranks.tolist() == [0.625, 0.0, 0.25, 0.625, 1.0]
    assert percentile_rank(np.array([7.0])).tolist() == [1.0]
    assert percentile_rank(np.array([math.nan, math.nan])).tolist() == [0.0, 0.0]
    assert percentile_rank(np.array([])).tolist() == []


def test_composite_score_contest_example() -> None:
    metrics = {
        "total_return": np.array([0.25, 0.10, -0.05]),
        "win_rate": np.array([0.40, 0.70, math.nan]),  # the third has no closed trade
        "max_drawdown": np.array([-0.30, -0.08, -0.02]),  # less negative is better
    }
    score = composite_score(metrics, contest_weights())
    assert score.tolist() == pytest.approx([0.70 + 0.15 * 0.5, 0.35 + 0.15 + 0.075, 0.15])


@given(metric_tables())
def test_composite_scores_lie_in_the_unit_interval(metrics: dict[str, np.ndarray]) -> None:
    score = composite_score(metrics, contest_weights())
    assert ((score >= 0) & (score <= 1 + 1e-12)).all()


@given(metric_tables(), st.data())
def test_composite_score_is_monotone_in_each_metric(
    metrics: dict[str, np.ndarray], data: st.DataObject
) -> None:
    n = len(metrics["total_return"])
    who = data.draw(st.integers(0, n - 1), label="portfolio")
    name = data.draw(st.sampled_from(sorted(metrics)), label="metric")
    better = {key: values.copy() for key, values in metrics.items()}
    current = better[name][who]
    raised = data.draw(
        st.floats(-1.0, 1.0) if math.isnan(current) else st.floats(current, 2.0), label="raised"
    )
    better[name][who] = raised
    before = composite_score(metrics, contest_weights())
    after = composite_score(better, contest_weights())
    assert after[who] >= before[who] - 1e-12  # nobody loses by improving
    others = np.arange(n) != who
    assert (after[others] <= before[others] + 1e-12).all()  # and nobody else gains from it


@pytest.mark.parametrize(
    "weights",
    [{}, {"sharpe": 1.0}, {"total_return": -0.5, "win_rate": 1.5}, {"total_return": math.nan}],
    ids=["none", "unknown-metric", "negative", "nan"],
)
def test_composite_score_refuses_bad_weights(weights: dict[str, float]) -> None:
    metrics = {"total_return": np.array([0.1]), "win_rate": np.array([0.5])}
    with pytest.raises(ValueError):
        composite_score(metrics, weights)


def test_composite_score_refuses_metrics_of_different_lengths() -> None:
    metrics = {"total_return": np.array([0.1, 0.2]), "win_rate": np.array([0.5])}
    with pytest.raises(ValueError, match="shape"):
        composite_score(metrics, {"total_return": 0.5, "win_rate": 0.5})
