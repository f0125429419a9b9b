"""Prize tables: the places each prize line covers (ranks or percent bands), their
validation, and who receives each line on a ranked board."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import NoReturn

import numpy as np

from core.errors import RuleViolation
from engine.contests.ranking import MemberId, Standings

# --- prizes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RankRange:
    """Prize line for competition ranks ``first`` … ``last`` (inclusive): "ranks 1–3"."""

    first: int
    last: int

    def ranks(self, ranked_count: int) -> tuple[int, int]:
        """The inclusive rank range the line pays (independent of the field size)."""
        return self.first, self.last

    def __str__(self) -> str:
        return (
            f"rank {self.first}" if self.first == self.last else f"ranks {self.first}–{self.last}"
        )


@dataclass(frozen=True, slots=True)
class PercentBand:
    """Prize line for the members whose share of the field ranked strictly ahead of them,
    ``(rank - 1) / R``, lies in ``[from_percent, to_percent)`` %: "top 10 %" is ``[0, 10)``,
    "top 10–25 %" is ``[10, 25)``. Bands that touch partition the field without gaps."""

    from_percent: Decimal
    to_percent: Decimal

    @classmethod
    def top(cls, percent: Decimal | int | str) -> PercentBand:
        """The band "top ``percent`` %"."""
        return cls(Decimal(0), Decimal(percent))

    def ranks(self, ranked_count: int) -> tuple[int, int]:
        """The inclusive rank range the band pays for ``ranked_count`` ranked entries (empty
        when first > last), in exact arithmetic: ranks ``⌈from·R/100⌉ + 1 … ⌈to·R/100⌉``.
        "Top 10 %" of 15 pays ranks 1–2, of 10 pays rank 1, of 5 pays rank 1."""
        first = math.ceil(Fraction(self.from_percent) * ranked_count / 100) + 1
        last = math.ceil(Fraction(self.to_percent) * ranked_count / 100)
        return first, last

    def __str__(self) -> str:
        if self.from_percent == 0:
            return f"top {self.to_percent}%"
        return f"top {self.from_percent}–{self.to_percent}%"


Places = RankRange | PercentBand


@dataclass(frozen=True, slots=True)
class Award:
    """One member's prize: ``line`` indexes the prize table."""

    line: int
    member_id: MemberId
    rank: int
    position: int


def validate_prize_table(table: Sequence[Places]) -> None:
    """Refuse a table that is empty, mixes rank ranges with percent bands (their overlap would
    depend on the field size), or has a line that is out of range, inverted or empty, or two
    lines that overlap: ``RuleViolation(field="prizes", rule=...)`` with rule ``empty``,
    ``mixed-kinds``, ``range``, ``inverted`` or ``overlapping``. Gaps between lines are fine."""
    if not table:
        raise RuleViolation("the prize table has no lines", field="prizes", rule="non_empty")
    if len({type(places) for places in table}) > 1:
        raise RuleViolation(
            "a prize table uses either rank ranges or percent bands, not both",
            field="prizes",
            rule="mixed_kinds",
        )
    spans = [_span(line, places) for line, places in enumerate(table)]
    spans.sort()
    for (_, high, line), (next_low, _, next_line) in zip(spans, spans[1:], strict=False):
        if next_low < high:
            first, second = sorted((line, next_line))
            raise RuleViolation(
                f"prize lines {first + 1} ({table[first]}) and {second + 1} "
                f"({table[second]}) overlap",
                field="prizes",
                rule="overlapping",
                line=second,
            )


def _span(line: int, places: Places) -> tuple[Fraction, Fraction, int]:
    """The line as a half-open interval [low, high) on its own axis, after checking it."""
    if isinstance(places, RankRange):
        low, high = Fraction(places.first), Fraction(places.last) + 1
        out_of_range = places.first < 1
        bounds = "ranks start at 1"
    else:
        bounds_given = Decimal(places.from_percent), Decimal(places.to_percent)
        if not all(bound.is_finite() for bound in bounds_given):
            _refuse(line, places, "range", "percentages must be finite")
        low, high = Fraction(bounds_given[0]), Fraction(bounds_given[1])
        out_of_range = low < 0 or high > 100
        bounds = "percent bands lie within 0–100"
    if out_of_range:
        _refuse(line, places, "range", bounds)
    if low >= high:
        _refuse(line, places, "inverted", "the line is inverted or empty")
    return low, high, line


def _refuse(line: int, places: Places, rule: str, reason: str) -> NoReturn:
    raise RuleViolation(
        f"prize line {line + 1} ({places}): {reason}", field="prizes", rule=rule, line=line
    )


def prize_recipients(standings: Standings, table: Sequence[Places]) -> list[Award]:
    """Who gets which prize line, by line then position.

    Lines select competition ranks (a percent band through ``PercentBand.ranks``), so members
    tied at a cut-off all share the rank of the first of them and all get the line that rank
    falls in: the line is never split and may pay more members than its nominal size (ranks
    1–3 with three members tied at rank 3 pays five). Unranked members get nothing. The table
    is validated first (``validate_prize_table``).
    """
    validate_prize_table(table)
    count = standings.ranked_count
    ranks = standings.ranks[:count]
    awards: list[Award] = []
    for line, places in enumerate(table):
        first, last = places.ranks(count)
        if first > last:
            continue
        start = int(np.searchsorted(ranks, first, side="left"))
        stop = int(np.searchsorted(ranks, last, side="right"))
        awards.extend(
            Award(line, member, rank_, position)
            for member, rank_, position in zip(
                standings.member_ids[start:stop].tolist(),
                ranks[start:stop].tolist(),
                range(start + 1, stop + 1),
                strict=True,
            )
        )
    return awards
