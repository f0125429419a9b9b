"""Contest settings: JSON round trips and refusals that name the field and the rule."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleViolation
from engine.contests.prize_table import RankRange
from engine.contests.spec import (
    BASE_METRICS,
    MetricKind,
    MetricSpec,
    PkSettings,
    PrizeLine,
    Qualification,
    TeamSettings,
    prize_table_from_json,
)
from ledger.earning import Award

counts = st.integers(min_value=0, max_value=10**6)


@st.composite
def composite_metrics(draw: st.DrawFn) -> MetricSpec:
    names = draw(st.lists(st.sampled_from(BASE_METRICS), min_size=1, max_size=4, unique=True))
    cents = draw(st.lists(st.integers(0, 100), min_size=len(names) - 1, max_size=len(names) - 1))
    parts = sorted(cents)
    bounds = [0, *parts, 100]
    weights = {n: Decimal(bounds[i + 1] - bounds[i]) / 100 for i, n in enumerate(names)}
    benchmark = "SIM-000300" if "excess_return" in weights else None
    return MetricSpec(MetricKind.COMPOSITE, benchmark, weights)


@given(composite_metrics())
def test_metric_specs_round_trip_through_json(spec: MetricSpec) -> None:
    assert MetricSpec.from_json(spec.to_json()) == spec


@given(counts, counts, counts)
def test_qualification_round_trips_and_is_monotone(a: int, b: int, c: int) -> None:
    q = Qualification(a, b, c)
    assert Qualification.from_json(q.to_json()) == q
    assert q.met(trades=a, round_trips=b, active_days=c)
    if a:
        assert not q.met(trades=a - 1, round_trips=b, active_days=c)


@given(st.integers(1, 50), st.integers(0, 50), counts, counts)
def test_rank_prize_lines_round_trip(first: int, extra: int, points: int, xp: int) -> None:
    line = PrizeLine(RankRange(first, first + extra), points + 1, xp, "salon-ticket")
    assert prize_table_from_json([line.to_json()], at="prizes") == [line]


def test_pk_and_team_settings_round_trip() -> None:
    pk = PkSettings(
        5, Decimal("0.002"), Award(50, 10), Award(20, 5), (PrizeLine(RankRange(1, 1), 500),)
    )
    assert PkSettings.from_json(pk.to_json()) == pk
    teams = TeamSettings(4, "top_n", 2)
    assert TeamSettings.from_json(teams.to_json()) == teams


@pytest.mark.parametrize(
    ("parse", "field", "rule"),
    [
        (lambda: MetricSpec.from_json({"kind": "luck"}), "metric.kind", "one_of"),
        (lambda: MetricSpec.from_json({"kind": "composite"}), "metric.weights", "required"),
        (
            lambda: MetricSpec.from_json({"kind": "composite", "weights": {"alpha": 1}}),
            "metric.weights.alpha",
            "one_of",
        ),
        (lambda: MetricSpec.from_json({"kind": "excess_return"}), "metric.benchmark", "required"),
        (
            lambda: MetricSpec.from_json({"weights": {"sharpe": 1}}),
            "metric.weights",
            "composite_only",
        ),
        (
            lambda: Qualification.from_json({"min_trades": -1}),
            "qualification.min_trades",
            "non_negative_integer",
        ),
        (
            lambda: prize_table_from_json(
                [{"ranks": [1, 2], "top_percent": [0, 5], "points": 1}], at="prizes"
            ),
            "prizes[0]",
            "one_of",
        ),
        (
            lambda: prize_table_from_json([{"ranks": [2, 1], "points": 1}], at="prizes"),
            "prizes",
            "inverted",
        ),
        (
            lambda: prize_table_from_json([{"top_percent": [0, "x"], "points": 1}], at="prizes"),
            "prizes[0].top_percent",
            "number",
        ),
        (lambda: TeamSettings.from_json({"score": "top_n"}), "teams.top_n", "required"),
        (lambda: TeamSettings.from_json({"max_size": 0}), "teams.max_size", "minimum"),
        (lambda: PkSettings.from_json({"round_bars": 0}), "pk.round_bars", "minimum"),
        (
            lambda: PkSettings.from_json({"prizes": [{"top_percent": [0, 10], "points": 1}]}),
            "pk.prizes",
            "ranks_only",
        ),
    ],
)
def test_bad_settings_name_field_and_rule(parse: Any, field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse()
    assert (caught.value.field, caught.value.rule) == (field, rule)
