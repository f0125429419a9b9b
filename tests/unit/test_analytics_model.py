"""Pure analytics against naive references: weekly cohorts, the funnel, windows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analytics import model
from engine.analytics.model import FUNNEL_STAGES, WindowRefused

TODAY = date(2026, 3, 1)
days = st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 4, 30))
members = st.integers(min_value=1, max_value=12)


def test_weeks_start_on_monday() -> None:
    assert model.week_start(model.week_number(date(2026, 3, 1))) == date(2026, 2, 23)  # a Sunday
    assert model.week_number(date(2026, 3, 2)) == model.week_number(date(2026, 3, 1)) + 1
    assert model.week_number(date(1970, 1, 1)) == 0


@given(day=st.dates(min_value=date(1970, 1, 1), max_value=date(2100, 1, 1)))
def test_week_number_agrees_with_iso_weeks(day: date) -> None:
    monday = day - timedelta(days=day.weekday())
    assert model.week_start(model.week_number(day)) == monday


def _naive_retention(
    signed_up: dict[int, date], active: list[tuple[int, date]], last: date
) -> list[tuple[date, int, list[int]]]:
    """Brute force: for each cohort Monday and each later Monday, scan every member."""
    monday = lambda d: d - timedelta(days=d.weekday())  # noqa: E731
    cohorts = sorted({monday(d) for d in signed_up.values() if monday(d) <= monday(last)})
    table = []
    for week in cohorts:
        cohort = [m for m, d in signed_up.items() if monday(d) == week]
        counts = []
        later = week
        while later <= monday(last):
            counts.append(
                sum(1 for m in cohort if any(a == m and monday(d) == later for a, d in active))
            )
            later += timedelta(weeks=1)
        table.append((week, len(cohort), counts))
    return table


@settings(max_examples=150)
@given(
    signed_up=st.dictionaries(members, days, max_size=12),
    active=st.lists(st.tuples(members, days), max_size=60),
    last=days,
)
def test_retention_table_matches_a_brute_force_count(
    signed_up: dict[int, date], active: list[tuple[int, date]], last: date
) -> None:
    sizes: dict[int, int] = {}
    for day in signed_up.values():
        sizes[model.week_number(day)] = sizes.get(model.week_number(day), 0) + 1
    cells = model.retention_cells(signed_up, active)
    table = model.retention_table(sizes, cells, last_week=model.week_number(last))
    assert [(c.week, c.size, list(c.retained)) for c in table] == _naive_retention(
        signed_up, active, last
    )
    for cohort in table:
        assert all(0 <= n <= cohort.size for n in cohort.retained)
        assert all(0 <= rate <= 1 for rate in cohort.rates)


@given(
    signed_up=st.sets(members),
    reached=st.fixed_dictionaries({stage: st.sets(members) for stage in FUNNEL_STAGES[1:]}),
)
def test_funnel_never_rises_and_matches_a_per_member_check(
    signed_up: set[int], reached: dict[str, set[int]]
) -> None:
    counts = model.funnel_counts(signed_up, reached)
    naive = [
        sum(1 for m in signed_up if all(m in reached[s] for s in FUNNEL_STAGES[1 : n + 1]))
        for n in range(len(FUNNEL_STAGES))
    ]
    assert list(counts) == naive
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False))
    stages = model.funnel(counts)
    assert [s.stage for s in stages] == list(FUNNEL_STAGES)
    assert all(0 <= s.conversion <= 1 for s in stages)


def test_funnel_conversion_is_the_share_of_the_stage_before() -> None:
    stages = model.funnel([10, 5, 5, 0, 0])
    assert [str(s.conversion) for s in stages] == ["1", "0.5000", "1.0000", "0.0000", "0"]


@given(
    holders=st.integers(0, 100),
    posted=st.integers(0, 10**9),
    held_share=st.integers(0, 100),
)
def test_liability_splits_posted_into_spendable_and_held(
    holders: int, posted: int, held_share: int
) -> None:
    held = posted * held_share // 100
    owed = model.liability(holders, posted, held, points_cny_rate=model.Decimal("0.01"))
    assert owed.spendable + owed.held == owed.posted == posted
    assert owed.cost_cny == (model.Decimal(posted - held) / 100).quantize(model.Decimal("0.01"))


def test_window_defaults_to_the_last_four_weeks() -> None:
    window = model.window(None, None, today=TODAY)
    assert (window.first, window.last, window.days) == (date(2026, 2, 2), TODAY, 28)
    assert model.window(TODAY, TODAY, today=TODAY).days == 1


@pytest.mark.parametrize(
    ("first", "last", "field", "rule"),
    [
        (date(2026, 3, 2), date(2026, 3, 1), "from", "ordered_window"),
        (date(2025, 1, 1), date(2026, 3, 1), "to", "max_span"),
    ],
)
def test_window_refuses_reversed_and_overlong_spans(
    first: date, last: date, field: str, rule: str
) -> None:
    with pytest.raises(WindowRefused) as excinfo:
        model.window(first, last, today=TODAY)
    assert (excinfo.value.field, excinfo.value.rule) == (field, rule)
