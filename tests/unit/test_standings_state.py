"""The leaderboard's per-tick state without a database: ratio rounding, the stored state's
round trip and alignment with late joiners, and the metric vectors."""

from __future__ import annotations

import math
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.contests.metric_state import Game, MetricState, empty_metric_state
from engine.contests.spec import MetricKind, MetricSpec, Qualification
from engine.contests.standings import RATIO_LIMIT, measure, ratio_decimals, rounded
from engine.trading import stats


def account(account_id: int, member_id: int, cash: str = "1000") -> Any:
    return SimpleNamespace(id=account_id, member_id=member_id, starting_cash=Decimal(cash))


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=30))
def test_a_stored_ratio_reads_back_as_exactly_the_ranked_float(values: list[float]) -> None:
    ranked = rounded(np.array(values, dtype=float))
    stored = ratio_decimals(ranked)
    for value, decimal in zip(ranked.tolist(), stored, strict=True):
        if math.isnan(value):
            assert decimal is None
        else:
            assert decimal is not None and float(decimal) == value
            assert decimal == decimal.quantize(Decimal("1e-12"))
            assert abs(value) <= RATIO_LIMIT


curves = st.lists(
    st.lists(st.floats(min_value=1, max_value=1e7), min_size=3, max_size=3), min_size=1, max_size=8
)


@given(curves, st.integers(min_value=0, max_value=3))
def test_the_state_round_trips_and_aligns_with_late_joiners(
    marks: list[list[float]], late: int
) -> None:
    """Entries are marked tick by tick; ``late`` more join before the last tick. The restored,
    re-aligned state carries every accumulator; a vanished account means a rebuild."""
    accounts = [account(10 + i, 100 + i) for i in range(3)]
    book = empty_metric_state(0).aligned(accounts)
    assert book is not None
    for tick, equity in enumerate(marks, start=1):
        book.stats.update(np.array(equity))
        book.tick = tick
    book.metric = rounded(book.stats.total_return)
    restored = MetricState.from_bytes(book.to_bytes())
    for name, values in book.stats.to_state().items():
        np.testing.assert_array_equal(restored.stats.to_state()[name], values)
    np.testing.assert_array_equal(restored.metric, book.metric)
    assert restored.tick == len(marks)

    joined = accounts + [account(20 + i, 200 + i, "500") for i in range(late)]
    shuffled = list(reversed(joined))
    grown = restored.aligned(shuffled)
    assert grown is not None
    assert grown.account_ids.tolist() == [a.id for a in shuffled]
    assert grown.member_ids.tolist() == [a.member_id for a in shuffled]
    newcomers = grown.stats.take(np.arange(late))
    assert newcomers.start.tolist() == [500.0] * late and newcomers.periods.tolist() == [0] * late
    assert grown.reached_at[:late].tolist() == [len(marks) + 1] * late
    assert restored.aligned(accounts[1:]) is None


def test_metrics_qualify_by_counts_and_measure_excess_from_each_base() -> None:
    accounts = [account(1, 11), account(2, 12), account(3, 13)]
    book = empty_metric_state(0).aligned(accounts)
    assert book is not None
    curves = [[1000, 1010, 1030], [1000, 990, 1000], [1000, 1000, 1000]]
    for equity in zip(*curves, strict=True):
        book.stats.update(np.array(equity, dtype=float))
    book.counts.update(
        trades=np.array([2, 1, 0]),
        round_trips=np.array([1, 1, 0]),
        wins=np.array([1, 0, 0]),
        active_days=np.array([2, 1, 0]),
    )
    book.benchmark_base = np.array([100.0, 100.0, 104.0])
    game = Game(
        MetricSpec(MetricKind.EXCESS_RETURN, "BENCH"),
        "win_rate",
        Qualification(min_trades=1),
        None,
    )
    found = measure(book, game, benchmark_now=102.0)
    assert found.qualified.tolist() == [True, True, False]
    assert (
        found.metric.tolist()
        == rounded(np.array([0.03 - 0.02, 0.0 - 0.02, 0.0 + 2 / 104])).tolist()
    )
    assert np.allclose(found.secondary, [1.0, 0.0, np.nan], equal_nan=True)  # type: ignore[arg-type]
    expected = [stats.performance(c).total_return for c in curves]
    assert found.total_return.tolist() == rounded(np.array(expected)).tolist()

    composite = Game(
        MetricSpec(MetricKind.COMPOSITE, weights={"total_return": Decimal(1)}),
        None,
        Qualification(min_trades=1),
        None,
    )
    scored = measure(book, composite, benchmark_now=math.nan)
    assert scored.metric[:2].tolist() == [1.0, 0.0]  # percentiles within the qualified pair
    assert math.isnan(scored.metric[2])
