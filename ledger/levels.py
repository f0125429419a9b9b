"""Levels: an operator-versioned table of XP thresholds, each level with its privileges."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from core.errors import RuleViolation

MAX_MULTIPLIER = Decimal(10)


@dataclass(frozen=True, slots=True)
class Privileges:
    points_multiplier: Decimal = Decimal(1)
    flags: frozenset[str] = frozenset()  # e.g. "expert_qa"


@dataclass(frozen=True, slots=True)
class Level:
    number: int
    name: str
    min_xp: int
    privileges: Privileges = field(default_factory=Privileges)


@dataclass(frozen=True, slots=True)
class LevelTable:
    version: int
    levels: tuple[Level, ...]

    def level_for(self, lifetime_xp: int) -> Level:
        """The highest level whose threshold is at or below ``lifetime_xp``."""
        reached = self.levels[0]
        for level in self.levels:
            if level.min_xp <= lifetime_xp:
                reached = level
        return reached

    def next_after(self, level: Level) -> Level | None:
        later = [lv for lv in self.levels if lv.min_xp > level.min_xp]
        return later[0] if later else None


DEFAULT_LEVELS = LevelTable(
    version=0,
    levels=(
        Level(1, "Newcomer", 0),
        Level(2, "Trader", 100),
        Level(3, "Analyst", 500, Privileges(Decimal("1.1"))),
        Level(4, "Strategist", 2000, Privileges(Decimal("1.25"), frozenset({"expert_qa"}))),
        Level(5, "Master", 10000, Privileges(Decimal("1.5"), frozenset({"expert_qa"}))),
    ),
)


def check_levels(levels: list[Level]) -> tuple[Level, ...]:
    """Levels numbered 1, 2, … with strictly rising thresholds starting at 0 XP."""
    if not levels:
        raise RuleViolation("at least one level is needed", field="levels", rule="min_items")
    for index, level in enumerate(levels):
        where = f"levels.{index}"
        if level.number != index + 1:
            raise RuleViolation(
                "levels are numbered 1, 2, 3 … in order", field=f"{where}.number", rule="sequential"
            )
        if index == 0 and level.min_xp != 0:
            raise RuleViolation(
                "the first level starts at 0 XP", field=f"{where}.min_xp", rule="starts_at_zero"
            )
        if index and level.min_xp <= levels[index - 1].min_xp:
            raise RuleViolation(
                "thresholds must rise strictly", field=f"{where}.min_xp", rule="increasing"
            )
        if not Decimal(1) <= level.privileges.points_multiplier <= MAX_MULTIPLIER:
            raise RuleViolation(
                f"points multiplier must be 1-{MAX_MULTIPLIER}",
                field=f"{where}.privileges.points_multiplier",
                rule="multiplier_range",
            )
    return tuple(levels)
