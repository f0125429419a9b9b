"""The one_account_per_person rule: of one person's accounts only the best placed ranks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import RuleViolation
from engine.contests.prize_table import PercentBand, RankRange, prize_recipients
from engine.contests.ranking import Standings, rank, second_accounts, without_ranks_of
from engine.contests.spec import Qualification


@st.composite
def boards(draw: st.DrawFn) -> tuple[Standings, dict[int, int], dict[str, np.ndarray]]:
    """Random standings (ties, missing metrics, unqualified entries) and person links."""
    n = draw(st.integers(0, 30))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True))
    values = st.one_of(st.sampled_from([0.0, 0.1, -0.2, math.nan]), st.floats(-1, 1))
    metric = np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.float64)
    secondary = np.array(
        draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)), dtype=np.float64
    )
    qualified = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    reached = np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), np.int64)
    # a few persons, each the least id of its accounts (as PersonLinks stores them)
    group_of = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    groups: dict[int, list[int]] = {}
    for member, group in zip(ids, group_of, strict=True):
        groups.setdefault(group, []).append(member)
    persons = {m: min(members) for members in groups.values() if len(members) > 1 for m in members}
    inputs = {
        "ids": np.array(ids, dtype=np.int64),
        "metric": metric,
        "secondary": secondary,
        "qualified": qualified,
        "reached": reached,
    }
    standings = rank(
        inputs["ids"], metric, secondary=secondary, reached_at=reached, qualified=qualified
    )
    return standings, persons, inputs


@settings(max_examples=300, deadline=None)
@given(boards(), st.integers(1, 5), st.integers(1, 100))
def test_no_two_ranked_or_prized_entries_share_a_person(
    board: tuple[Standings, dict[int, int], dict[str, np.ndarray]], last: int, percent: int
) -> None:
    standings, persons, _ = board
    ruled = without_ranks_of(standings, second_accounts(standings, persons))
    ruled.check_invariants()
    ranked = ruled.member_ids[: ruled.ranked_count].tolist()
    assert len({persons.get(m, m) for m in ranked}) == len(ranked)
    for table in ([RankRange(1, last)], [PercentBand(0, percent)]):
        prized = {award.member_id for award in prize_recipients(ruled, table)}
        assert len({persons.get(m, m) for m in prized}) == len(prized)
    # every person that ranked before still ranks, with its best-placed account
    before = standings.member_ids[: standings.ranked_count].tolist()
    best: dict[int, int] = {}
    for member in before:
        best.setdefault(persons.get(member, member), member)
    assert sorted(ranked) == sorted(best.values())
    # nobody leaves or joins the board
    assert sorted(ruled.member_ids.tolist()) == sorted(standings.member_ids.tolist())


@settings(max_examples=300, deadline=None)
@given(boards())
def test_ranks_equal_ranking_with_the_second_accounts_unqualified(
    board: tuple[Standings, dict[int, int], dict[str, np.ndarray]],
) -> None:
    """What the clock stores (seconds unqualified, ranked again) and what settlement applies to
    stored standings (``without_ranks_of``) agree on every rank."""
    standings, persons, inputs = board
    seconds = second_accounts(standings, persons)
    ruled = without_ranks_of(standings, seconds)
    again = rank(
        inputs["ids"],
        inputs["metric"],
        secondary=inputs["secondary"],
        reached_at=inputs["reached"],
        qualified=inputs["qualified"] & ~np.isin(inputs["ids"], seconds),
    )
    for member in inputs["ids"].tolist():
        assert ruled.rank_of(member) == again.rank_of(member)
    assert ruled.ranked_count == again.ranked_count
    # the rule applied twice changes nothing more
    assert second_accounts(ruled, persons).size == 0


def test_the_best_placed_account_ranks_and_the_ranks_close_up() -> None:
    standings = rank([1, 2, 3, 4], [0.4, 0.3, 0.3, 0.1])
    ruled = without_ranks_of(standings, second_accounts(standings, {1: 1, 3: 1}))
    assert [(p.member_id, p.rank) for p in ruled.to_rows()] == [
        (1, 1),
        (2, 2),
        (4, 3),
        (3, None),
    ]


def test_nobody_linked_changes_nothing() -> None:
    standings = rank([5, 6, 7], [0.1, 0.2, math.nan])
    assert second_accounts(standings, {}).size == 0
    assert without_ranks_of(standings, []) is standings


def test_the_rule_defaults_on_for_prized_contests_only() -> None:
    unset = Qualification.from_json({"min_trades": 1})
    assert unset.applies_one_account_per_person(prized=True)
    assert not unset.applies_one_account_per_person(prized=False)
    off = Qualification.from_json({"one_account_per_person": False})
    assert not off.applies_one_account_per_person(prized=True)
    assert off.to_json()["one_account_per_person"] is False
    assert "one_account_per_person" not in unset.to_json()
    on = Qualification.from_json({"one_account_per_person": True})
    assert on.applies_one_account_per_person(prized=False)


def test_the_rule_setting_is_a_boolean() -> None:
    with pytest.raises(RuleViolation) as refused:
        Qualification.from_json({"one_account_per_person": 1})
    assert refused.value.field == "qualification.one_account_per_person"
    assert refused.value.rule == "type"
