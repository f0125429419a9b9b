"""Leaderboard ranking: order, competition ranks, lookups, snapshots, prizes, team scores."""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.errors import RuleViolation
from engine.contests.prize_table import (
    Award,
    PercentBand,
    Places,
    RankRange,
    prize_recipients,
    validate_prize_table,
)
from engine.contests.ranking import UNRANKED, Placing, Standings, advance_reached_at, rank
from engine.contests.team_scores import team_scores

NAN = math.nan
T = TypeVar("T")

# --- a plain-Python reference -----------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    """Inputs of one tick, as Python lists."""

    ids: list[int]
    metric: list[float]
    secondary: list[float] | None
    reached: list[int] | None
    qualified: list[bool] | None

    def standings(self) -> Standings:
        return rank(
            np.array(self.ids, dtype=np.int64),
            np.array(self.metric, dtype=np.float64),
            secondary=None if self.secondary is None else np.array(self.secondary),
            reached_at=None if self.reached is None else np.array(self.reached, dtype=np.int64),
            qualified=None if self.qualified is None else np.array(self.qualified, dtype=bool),
        )

    def sec(self, i: int) -> float:
        return 0.0 if self.secondary is None else self.secondary[i]

    def ranked(self, i: int) -> bool:
        return (self.qualified is None or self.qualified[i]) and not math.isnan(self.metric[i])

    def chain_key(self, i: int) -> tuple[object, ...]:
        reached = 0 if self.reached is None else self.reached[i]
        return (
            not self.ranked(i),
            _descending(self.metric[i]),
            _descending(self.sec(i)),
            reached,
            self.ids[i],
        )

    def better(self, j: int, i: int) -> bool:
        """Entry j strictly better than entry i (primary, then secondary; NaN lowest)."""
        if self.metric[j] != self.metric[i]:
            return self.metric[j] > self.metric[i]
        return _descending(self.sec(j)) < _descending(self.sec(i))

    def expected_rows(self) -> list[tuple[int, int | None]]:
        """(member id, competition rank) in the reference order."""
        order = sorted(range(len(self.ids)), key=self.chain_key)
        ranked = [i for i in order if self.ranked(i)]
        return [
            (
                self.ids[i],
                1 + sum(self.better(j, i) for j in ranked) if self.ranked(i) else None,
            )
            for i in order
        ]


def _descending(value: float) -> tuple[int, float]:
    """Sort key: higher first, NaN after every number."""
    return (1, 0.0) if math.isnan(value) else (0, -value)


few_values = st.sampled_from([-1.0, 0.0, -0.0, 0.25, 1.0, math.inf, -math.inf])
metric_values = st.one_of(few_values, st.just(NAN), st.floats(-1e6, 1e6))


@st.composite
def boards(draw: st.DrawFn, max_size: int = 30) -> Board:
    ids = draw(st.lists(st.integers(-(2**40), 2**40), max_size=max_size, unique=True))
    n = len(ids)
    vector = st.lists(metric_values, min_size=n, max_size=n)
    return Board(
        ids=ids,
        metric=draw(vector),
        secondary=draw(st.none() | vector),
        reached=draw(st.none() | st.lists(st.integers(0, 4), min_size=n, max_size=n)),
        qualified=draw(st.none() | st.lists(st.booleans(), min_size=n, max_size=n)),
    )


def pick(values: list[T], order: list[int]) -> list[T]:
    return [values[i] for i in order]


def by_metric(*metrics: float) -> Standings:
    """Members 1 … n with these primary metrics."""
    return rank(np.arange(1, len(metrics) + 1), np.array(metrics, dtype=np.float64))


# --- order and ranks --------------------------------------------------------------------------


@given(boards())
def test_order_and_ranks_match_the_reference(board: Board) -> None:
    standings = board.standings()
    rows = standings.to_rows()
    assert [(row.member_id, row.rank) for row in rows] == board.expected_rows()
    assert [row.position for row in rows] == list(range(1, len(board.ids) + 1))
    standings.check_invariants()


@given(boards())
def test_ranks_are_competition_ranks(board: Board) -> None:
    standings = board.standings()
    index = {member: i for i, member in enumerate(board.ids)}
    ranked = [i for i in range(len(board.ids)) if board.ranked(i)]
    for row in standings.to_rows():
        i = index[row.member_id]
        if board.ranked(i):
            assert row.rank == 1 + sum(board.better(j, i) for j in ranked)
            assert row.rank is not None and row.rank <= row.position
        else:
            assert row.rank is None and row.position > standings.ranked_count


@given(boards())
def test_positions_are_a_permutation_of_the_entries(board: Board) -> None:
    standings = board.standings()
    assert sorted(standings.member_ids.tolist()) == sorted(board.ids)
    assert len(standings) == len(board.ids)
    for position, member in enumerate(standings.member_ids.tolist(), start=1):
        assert standings.position_of(member) == position
    assert standings.positions_of(board.ids).tolist() == [
        standings.position_of(member) for member in board.ids
    ]


@given(boards(), st.randoms(use_true_random=False))
def test_the_order_does_not_depend_on_the_input_order(board: Board, rng: random.Random) -> None:
    shuffled = list(range(len(board.ids)))
    rng.shuffle(shuffled)

    again = Board(
        ids=pick(board.ids, shuffled),
        metric=pick(board.metric, shuffled),
        secondary=None if board.secondary is None else pick(board.secondary, shuffled),
        reached=None if board.reached is None else pick(board.reached, shuffled),
        qualified=None if board.qualified is None else pick(board.qualified, shuffled),
    )
    assert board.standings().to_rows() == again.standings().to_rows()


@given(boards(), st.randoms(use_true_random=False))
def test_a_snapshot_restores_the_identical_standings(board: Board, rng: random.Random) -> None:
    standings = board.standings()
    rows = standings.to_rows()
    stored = [(row.position, row.member_id, row.rank, row.metric) for row in rows]
    rng.shuffle(stored)  # a database returns rows in any order
    restored = Standings.from_rows(stored)
    assert restored.to_rows() == rows
    for member in board.ids:
        assert restored.rank_of(member) == standings.rank_of(member)
        assert restored.percentile(member) == standings.percentile(member)


def test_the_fast_order_equals_a_full_lexsort_at_scale() -> None:
    rng = np.random.default_rng(7)
    n = 50_000
    ids = rng.choice(10**9, size=n, replace=False).astype(np.int64)
    metric = np.round(rng.normal(size=n), 2)  # heavy ties
    metric[rng.random(n) < 0.2] = 0.0  # members who never traded
    metric[rng.random(n) < 0.02] = NAN
    secondary = np.round(rng.normal(size=n), 1)
    secondary[rng.random(n) < 0.1] = NAN
    reached = rng.integers(0, 50, size=n)
    qualified = rng.random(n) < 0.9
    standings = rank(ids, metric, secondary=secondary, reached_at=reached, qualified=qualified)
    unranked = ~(qualified & ~np.isnan(metric))
    expected = np.lexsort((ids, reached, -secondary, -metric, unranked))
    assert np.array_equal(standings.member_ids, ids[expected])
    standings.check_invariants()


def test_ties_share_a_rank_and_the_chain_orders_them() -> None:
    standings = rank(
        np.array([10, 11, 12, 13, 14, 15]),
        np.array([0.2, 0.5, 0.5, 0.5, 0.1, NAN]),
        secondary=np.array([0.0, 1.0, 2.0, 1.0, 0.0, 0.0]),
        reached_at=np.array([0, 3, 9, 2, 0, 0]),
        qualified=np.array([True, True, True, True, False, True]),
    )
    assert standings.to_rows() == [
        Placing(1, 12, 1, 0.5),  # the higher secondary
        Placing(2, 13, 2, 0.5),  # tied with 11 on both metrics, reached it earlier
        Placing(3, 11, 2, 0.5),
        Placing(4, 10, 4, 0.2),
        Placing(5, 14, None, 0.1),  # unqualified: listed, unranked
        Placing(6, 15, None, None),  # no metric
    ]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        rank(np.array([1, 2, 1]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="shape"):
        rank(np.array([1, 2]), np.array([0.1]))
    with pytest.raises(ValueError, match="integers"):
        rank(np.array([1.5, 2.0]), np.array([0.1, 0.2]))


def test_large_reached_at_values_still_order_by_reached_then_id() -> None:
    ids = np.array([3, 1, 2])
    reached = np.array([2**62, -(2**62), 0])  # a span that would overflow the combined key
    standings = rank(ids, np.zeros(3), reached_at=reached)
    assert standings.member_ids.tolist() == [1, 2, 3]
    assert standings.ranks.tolist() == [1, 1, 1]


def test_advance_reached_at_keeps_the_tick_of_unchanged_metrics() -> None:
    reached = advance_reached_at(
        np.array([0.1, 0.2, NAN, NAN]),
        np.array([1, 2, 3, 4]),
        np.array([0.1, 0.3, NAN, 0.0]),
        tick=9,
    )
    assert reached.tolist() == [1, 9, 3, 9]


# --- lookups ----------------------------------------------------------------------------------


@given(boards(), st.integers(0, 4), st.data())
def test_around_me_is_contiguous_and_contains_me(board: Board, k: int, data: st.DataObject) -> None:
    assume(board.ids)
    standings = board.standings()
    me = data.draw(st.sampled_from(board.ids))
    rows = standings.around(me, k)
    position = standings.position_of(me)
    assert position is not None
    assert me in [row.member_id for row in rows]
    assert [row.position for row in rows] == list(
        range(max(position - k, 1), min(position + k, len(standings)) + 1)
    )
    assert rows == standings.to_rows()[rows[0].position - 1 : rows[-1].position]


@given(boards(), st.data())
def test_subset_keeps_global_positions_and_ranks(board: Board, data: st.DataObject) -> None:
    standings = board.standings()
    anyone = st.integers(-(2**63), 2**63 - 1)  # member ids are int64
    members = st.sampled_from(board.ids) | anyone if board.ids else anyone
    friends = data.draw(st.lists(members, max_size=10))
    rows = standings.subset(friends)
    everyone = {row.member_id: row for row in standings.to_rows()}
    assert rows == sorted({everyone[m] for m in friends if m in everyone})


@given(boards(), st.integers(1, 7))
def test_paging_forward_and_backward_covers_every_row_once(board: Board, limit: int) -> None:
    standings = board.standings()
    forward: list[Placing] = []
    while page := standings.top(limit, after_position=forward[-1].position if forward else 0):
        forward.extend(page)
    backward: list[Placing] = []
    before = len(standings) + 1
    while page := standings.top(limit, before_position=before):
        backward[:0] = page
        before = page[0].position
    assert forward == backward == standings.to_rows()


def test_lookups_of_absent_members() -> None:
    standings = by_metric(0.3, 0.2)
    assert standings.position_of(99) is None
    assert standings.rank_of(99) is None
    assert standings.placing_of(99) is None
    assert standings.percentile(99) is None
    assert standings.around(99, 3) == []
    assert standings.positions_of([2, 99, 1]).tolist() == [2, 0, 1]
    assert rank(np.array([], dtype=np.int64), np.array([])).positions_of([1]).tolist() == [0]
    with pytest.raises(IndexError):
        standings.placing_at(3)


def test_around_me_is_clipped_at_the_edges() -> None:
    standings = by_metric(0.5, 0.4, 0.3, 0.2, 0.1)
    assert [row.member_id for row in standings.around(1, 2)] == [1, 2, 3]
    assert [row.member_id for row in standings.around(3, 1)] == [2, 3, 4]
    assert [row.member_id for row in standings.around(5, 2)] == [3, 4, 5]


# --- percentile -------------------------------------------------------------------------------


@given(boards())
def test_percentile_falls_with_position_and_ties_share_it(board: Board) -> None:
    standings = board.standings()
    rows = standings.to_rows()
    shares = [standings.percentile(row.member_id) for row in rows]
    ranked = [share for share, row in zip(shares, rows, strict=True) if row.rank is not None]
    assert all(share is None for share, row in zip(shares, rows, strict=True) if row.rank is None)
    assert all(
        a is not None and b is not None and a >= b for a, b in zip(ranked, ranked[1:], strict=False)
    )
    for row, share in zip(rows, shares, strict=True):
        if row.rank is not None:
            behind_or_tied = sum(1 for other in rows if other.rank and other.rank >= row.rank)
            assert share == pytest.approx(100 * behind_or_tied / standings.ranked_count)
    if ranked:
        assert ranked[0] == 100.0


def test_percentile_examples() -> None:
    standings = by_metric(4.0, 3.0, 3.0, 1.0)
    assert [standings.percentile(m) for m in (1, 2, 3, 4)] == [100.0, 75.0, 75.0, 25.0]


# --- prizes -----------------------------------------------------------------------------------


def recipients(standings: Standings, table: list[Places]) -> list[tuple[int, int]]:
    return [(award.line, award.member_id) for award in prize_recipients(standings, table)]


def test_everyone_tied_at_a_rank_cutoff_gets_the_prize() -> None:
    standings = by_metric(5.0, 4.0, 3.0, 3.0, 3.0, 1.0)
    assert recipients(standings, [RankRange(1, 1), RankRange(2, 3), RankRange(4, 6)]) == [
        (0, 1),
        (1, 2),
        (1, 3),
        (1, 4),
        (1, 5),  # ranks 3, 3, 3: the line pays four, not two
        (2, 6),  # rank 6: ranks 4 and 5 do not exist
    ]
    awards = prize_recipients(standings, [RankRange(3, 3)])
    assert awards == [Award(0, 3, 3, 3), Award(0, 4, 3, 4), Award(0, 5, 3, 5)]


@given(boards(), st.integers(1, 12))
def test_a_rank_line_pays_exactly_the_ranks_it_names(board: Board, cutoff: int) -> None:
    standings = board.standings()
    paid = {member for _, member in recipients(standings, [RankRange(1, cutoff)])}
    rows = standings.to_rows()
    assert paid == {row.member_id for row in rows if row.rank is not None and row.rank <= cutoff}
    for row in rows:  # ties are never split: a member tied with a recipient is one
        tied = {o.member_id for o in rows if o.rank is not None and o.rank == row.rank}
        assert tied <= paid or not tied & paid


@pytest.mark.parametrize(
    ("ranked", "percent", "paid_ranks"),
    [
        (15, "10", (1, 2)),
        (10, "10", (1, 1)),
        (5, "10", (1, 1)),
        (20, "10", (1, 2)),
        (1, "1", (1, 1)),
    ],
)
def test_percent_band_ranks(ranked: int, percent: str, paid_ranks: tuple[int, int]) -> None:
    assert PercentBand.top(percent).ranks(ranked) == paid_ranks


def test_percent_bands_that_touch_pay_each_member_once() -> None:
    standings = by_metric(*[float(-i) for i in range(20)])
    table: list[Places] = [
        PercentBand.top(10),
        PercentBand(Decimal(10), Decimal(25)),
        PercentBand(Decimal(25), Decimal(100)),
    ]
    awards = recipients(standings, table)
    assert [member for _, member in awards] == list(range(1, 21))
    assert [line for line, _ in awards] == [0] * 2 + [1] * 3 + [2] * 15


@given(boards(), st.integers(1, 100))
def test_a_percent_band_follows_the_percentile(board: Board, percent: int) -> None:
    standings = board.standings()
    paid = {member for _, member in recipients(standings, [PercentBand.top(percent)])}
    ranked = standings.ranked_count
    for row in standings.to_rows():
        if row.rank is None:
            assert row.member_id not in paid
            continue
        # "top p %": the share of the field ranked strictly ahead is below p %, which is
        # the percentile (exactly: 100 · (R - rank + 1) / R) being above 100 - p
        ahead_below = Fraction(row.rank - 1, ranked) < Fraction(percent, 100)
        above = Fraction(100 * (ranked - row.rank + 1), ranked) > 100 - percent
        assert (row.member_id in paid) == ahead_below == above


def test_a_tie_across_a_percent_cutoff_is_paid_whole() -> None:
    standings = by_metric(9.0, 8.0, 8.0, 8.0, *[float(-i) for i in range(16)])  # 20 ranked
    assert {m for _, m in recipients(standings, [PercentBand.top(10)])} == {1, 2, 3, 4}


def test_unranked_members_get_no_prize() -> None:
    standings = rank(np.array([1, 2]), np.array([1.0, 2.0]), qualified=np.array([True, False]))
    assert recipients(standings, [RankRange(1, 2)]) == [(0, 1)]


@pytest.mark.parametrize(
    ("table", "rule"),
    [
        ([], "non_empty"),
        ([RankRange(1, 3), RankRange(3, 5)], "overlapping"),
        ([RankRange(4, 10), RankRange(1, 2), RankRange(2, 2)], "overlapping"),
        ([PercentBand.top(10), PercentBand(Decimal(5), Decimal(20))], "overlapping"),
        ([RankRange(3, 1)], "inverted"),
        ([PercentBand(Decimal(20), Decimal(10))], "inverted"),
        ([PercentBand.top(0)], "inverted"),
        ([RankRange(0, 2)], "range"),
        ([PercentBand(Decimal(-1), Decimal(10))], "range"),
        ([PercentBand.top(101)], "range"),
        ([PercentBand.top("NaN")], "range"),
        ([RankRange(1, 1), PercentBand.top(10)], "mixed_kinds"),
    ],
)
def test_bad_prize_tables_are_refused(table: list[Places], rule: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        validate_prize_table(table)
    assert (refused.value.field, refused.value.rule) == ("prizes", rule)
    with pytest.raises(RuleViolation):
        prize_recipients(by_metric(1.0), table)


def test_tables_with_gaps_and_touching_bands_are_fine() -> None:
    validate_prize_table([RankRange(1, 1), RankRange(2, 3), RankRange(10, 20)])
    validate_prize_table([PercentBand.top("12.5"), PercentBand(Decimal("12.5"), Decimal(50))])
    assert str(RankRange(1, 3)) == "ranks 1–3"
    assert str(PercentBand.top(10)) == "top 10%"


@given(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 10)), min_size=1, max_size=6))
def test_rank_tables_are_refused_exactly_when_two_lines_overlap(
    lines: list[tuple[int, int]],
) -> None:
    table: list[Places] = [RankRange(first, first + length) for first, length in lines]
    overlap = any(
        a.first <= b.last and b.first <= a.last
        for i, a in enumerate(table)
        for b in table[i + 1 :]
        if isinstance(a, RankRange) and isinstance(b, RankRange)
    )
    if overlap:
        with pytest.raises(RuleViolation, match="overlap"):
            validate_prize_table(table)
    else:
        validate_prize_table(table)


# --- snapshots that are not standings ---------------------------------------------------------


@pytest.mark.parametrize(
    "rows",
    [
        [(1, 10, 1, 0.5), (3, 11, 2, 0.4)],  # a gap in the positions
        [(1, 10, None, 0.5), (2, 11, 1, 0.4)],  # unranked before ranked
        [(1, 10, 1, 0.5), (2, 11, 3, 0.4)],  # rank 3 at position 2
        [(1, 10, 1, 0.4), (2, 11, 2, 0.5)],  # metric rising
        [(1, 10, 1, 0.5), (2, 11, 1, 0.4)],  # tied rank, different metric
        [(1, 10, 1, 0.5), (2, 10, 2, 0.4)],  # one member twice
    ],
)
def test_broken_snapshots_are_refused(rows: list[tuple[int, int, int | None, float]]) -> None:
    with pytest.raises(ValueError):
        Standings.from_rows(rows)


def test_standings_arrays_are_read_only() -> None:
    standings = by_metric(0.1, 0.2)
    with pytest.raises(ValueError):
        standings.ranks[0] = 5
    assert standings.ranks.tolist() == [1, 2] and UNRANKED == 0


# --- team scores ------------------------------------------------------------------------------


@st.composite
def rosters(draw: st.DrawFn) -> tuple[list[float], list[int]]:
    m = draw(st.integers(0, 40))
    metric = draw(
        st.lists(
            st.just(NAN) | st.floats(-1e3, 1e3) | st.sampled_from([0.0, 1.0]),
            min_size=m,
            max_size=m,
        )
    )
    teams = draw(st.lists(st.integers(-3, 6), min_size=m, max_size=m))
    return metric, teams


def reference_team_scores(
    metric: list[float], teams: list[int], how: str, n: int | None
) -> dict[int, tuple[float, int]]:
    scores: dict[int, tuple[float, int]] = {}
    for team in sorted(set(teams)):
        values = [v for v, t in zip(metric, teams, strict=True) if t == team and not math.isnan(v)]
        if how == "top_n":
            assert n is not None
            values = sorted(values, reverse=True)[:n]
        if not values:
            scores[team] = (NAN, 0)
        elif how == "median":
            scores[team] = (statistics.median(values), len(values))
        else:
            scores[team] = (sum(values) / len(values), len(values))
    return scores


@settings(max_examples=200)
@given(rosters(), st.sampled_from(["mean", "median", "top_n"]), st.integers(1, 5))
def test_team_scores_match_a_plain_python_reference(
    roster: tuple[list[float], list[int]], how: str, n: int
) -> None:
    metric, teams = roster
    top = n if how == "top_n" else None
    result = team_scores(np.array(metric), np.array(teams, dtype=np.int64), how=how, n=top)  # type: ignore[arg-type]
    expected = reference_team_scores(metric, teams, how, top)
    assert result.team_ids.tolist() == list(expected)
    for team, score, counted in zip(
        result.team_ids.tolist(), result.score.tolist(), result.counted.tolist(), strict=True
    ):
        want, want_counted = expected[team]
        assert counted == want_counted
        if math.isnan(want):
            assert math.isnan(score)
        else:
            assert score == pytest.approx(want, rel=1e-12, abs=1e-9)


def test_team_scores_examples_and_bad_arguments() -> None:
    metric = np.array([0.1, 0.3, NAN, 0.2, 0.9, 0.5])
    teams = np.array([7, 7, 7, 7, 2, 2])
    assert team_scores(metric, teams).score.tolist() == pytest.approx([0.7, 0.2])
    assert team_scores(metric, teams, how="median").score.tolist() == pytest.approx([0.7, 0.2])
    best = team_scores(metric, teams, how="top_n", n=2)
    assert best.score.tolist() == pytest.approx([0.7, 0.25])
    assert best.counted.tolist() == [2, 2]
    with pytest.raises(ValueError):
        team_scores(metric, teams, how="top_n")
    with pytest.raises(ValueError):
        team_scores(metric, teams, how="mean", n=2)
    with pytest.raises(ValueError):
        team_scores(metric, teams, how="top_n", n=0)
    with pytest.raises(ValueError):
        team_scores(metric, teams[:2])
