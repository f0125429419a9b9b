"""Levels are monotonic in XP; earning-rule calendar arithmetic."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleViolation
from ledger.earning import Award, EarningRules, iso_week, multiplied, next_streak
from ledger.levels import DEFAULT_LEVELS, Level, LevelTable, Privileges, check_levels


@st.composite
def level_tables(draw: st.DrawFn) -> LevelTable:
    gaps = draw(st.lists(st.integers(min_value=1, max_value=1000), max_size=6))
    thresholds = [0]
    for gap in gaps:
        thresholds.append(thresholds[-1] + gap)
    return LevelTable(1, tuple(Level(i + 1, f"L{i + 1}", xp) for i, xp in enumerate(thresholds)))


@given(level_tables(), st.integers(0, 10_000), st.integers(0, 10_000))
def test_level_is_monotonic_in_xp(table: LevelTable, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert table.level_for(low).number <= table.level_for(high).number
    reached = table.level_for(high)
    assert reached.min_xp <= high
    following = table.next_after(reached)
    assert following is None or following.min_xp > high


def test_default_levels_are_valid() -> None:
    assert check_levels(list(DEFAULT_LEVELS.levels)) == DEFAULT_LEVELS.levels


@pytest.mark.parametrize(
    "levels,field,rule",
    [
        ([], "levels", "min_items"),
        ([Level(1, "a", 5)], "levels.0.min_xp", "starts_at_zero"),
        ([Level(1, "a", 0), Level(3, "b", 5)], "levels.1.number", "sequential"),
        ([Level(1, "a", 0), Level(2, "b", 0)], "levels.1.min_xp", "increasing"),
        (
            [Level(1, "a", 0, Privileges(Decimal("0.5")))],
            "levels.0.privileges.points_multiplier",
            "multiplier_range",
        ),
    ],
)
def test_bad_level_tables_refused(levels: list[Level], field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_levels(levels)
    assert (caught.value.field, caught.value.rule) == (field, rule)


def test_streak_continues_only_on_consecutive_days() -> None:
    assert next_streak(None, 0, date(2026, 3, 1)) == 1
    assert next_streak(date(2026, 2, 28), 4, date(2026, 3, 1)) == 5
    assert next_streak(date(2026, 2, 27), 4, date(2026, 3, 1)) == 1


def test_streak_bonus_repeats_every_cycle() -> None:
    rules = EarningRules(streak_bonuses={3: Award(5, 0), 7: Award(50, 20)})
    bonuses = [rules.streak_bonus(day).points for day in range(1, 15)]
    assert bonuses == [0, 0, 5, 0, 0, 0, 50, 0, 0, 5, 0, 0, 0, 50]


def test_local_day_uses_the_programme_time_zone() -> None:
    rules = EarningRules(timezone="Asia/Shanghai")
    assert rules.local_day(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert rules.local_day(datetime(2026, 3, 1, 16, 0, tzinfo=UTC)) == date(2026, 3, 2)


def test_multiplier_rounds_down_and_weeks_are_iso() -> None:
    assert multiplied(15, Decimal("1.1")) == 16
    assert multiplied(10, Decimal("1.25")) == 12
    assert iso_week(date(2026, 1, 1)) == "2026-W01"
    assert iso_week(date(2027, 1, 1)) == "2026-W53"
