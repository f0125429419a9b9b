"""Properties of quiz scoring and ranking (ledger.quizzes.model): order by correct answers
(more first), then total time (less first), ties broken the same way whatever the input order;
a late answer never scores; reward tiers pay each member at most once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleViolation
from ledger.quizzes.model import (
    Question,
    QuestionKind,
    RewardTier,
    Score,
    TierBasis,
    check_question,
    check_tiers,
    elapsed_ms,
    is_correct,
    on_time,
    rank_scores,
    score_of,
    winners,
)

T0 = datetime(2026, 6, 1, tzinfo=UTC)

scores = st.lists(
    st.builds(
        Score,
        member_id=st.integers(1, 50),
        correct=st.integers(0, 5),
        time_ms=st.integers(0, 5000).map(lambda ms: ms - ms % 500),  # coarse: many ties
    ),
    max_size=25,
    unique_by=lambda s: s.member_id,
)


@given(scores, st.randoms())
def test_ranking_orders_by_correct_then_time_and_ignores_input_order(
    found: list[Score], rnd: object
) -> None:
    placed = rank_scores(found)
    assert [p.rank for p in placed] == list(range(1, len(found) + 1))
    for higher, lower in zip(placed, placed[1:], strict=False):
        a, b = higher.score, lower.score
        assert (a.correct > b.correct) or (
            a.correct == b.correct and (a.time_ms, a.member_id) < (b.time_ms, b.member_id)
        )
    shuffled = list(found)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert rank_scores(shuffled) == placed


questions = st.integers(2, 6).flatmap(
    lambda n: st.builds(
        lambda kind, correct: Question(
            1, kind, "Q", tuple(f"o{i}" for i in range(n)), correct, "", ()
        ),
        st.sampled_from(QuestionKind),
        st.sets(st.integers(0, n - 1), min_size=1, max_size=n).map(lambda s: tuple(sorted(s))),
    ).filter(lambda q: q.kind is QuestionKind.MULTIPLE or len(q.correct) == 1)
)


@given(questions, st.integers(1, 60), st.integers(-5_000, 120_000), st.data())
def test_a_late_answer_never_scores_and_time_is_capped(
    question: Question, seconds: int, offset_ms: int, data: st.DataObject
) -> None:
    answered = T0 + timedelta(milliseconds=offset_ms)
    selected = data.draw(st.sets(st.integers(0, len(question.options) - 1)).map(sorted))
    in_time = on_time(T0, answered, seconds)
    assert in_time == (offset_ms <= seconds * 1000)
    right = is_correct(question, selected, in_time=in_time)
    if not in_time:
        assert not right
        assert not is_correct(question, list(question.correct), in_time=in_time)
    else:
        assert right == (tuple(selected) == question.correct)
    assert 0 <= elapsed_ms(T0, answered, seconds) <= seconds * 1000


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 20_000)), max_size=8), st.integers(0, 4))
def test_a_missing_answer_is_wrong_and_costs_the_whole_limit(
    outcomes: list[tuple[bool, int]], missing: int
) -> None:
    count = len(outcomes) + missing
    score = score_of(7, outcomes, question_count=count, seconds_per_question=20)
    assert score.correct == sum(c for c, _ in outcomes)
    assert score.time_ms == sum(ms for _, ms in outcomes) + missing * 20_000


tier_spans = st.lists(st.integers(1, 30), min_size=0, max_size=8, unique=True).map(sorted)


@given(scores, tier_spans, st.sampled_from(TierBasis))
def test_tiers_pay_each_member_at_most_once_and_only_when_covered(
    found: list[Score], cuts: list[int], basis: TierBasis
) -> None:
    bounds = [c if basis is TierBasis.RANK else c % 6 for c in cuts]
    bounds = sorted(set(bounds))
    tiers = [
        RewardTier(basis, low, high, points=10)
        for low, high in zip(bounds[::2], bounds[1::2], strict=False)
    ]
    check_tiers(tiers, question_count=5)
    placed = rank_scores(found)
    paid = winners(placed, tiers)
    assert len({w.member_id for w in paid}) == len(paid)
    by_member = {p.score.member_id: p for p in placed}
    for won in paid:
        assert tiers[won.tier].covers(by_member[won.member_id])
    unpaid = set(by_member) - {w.member_id for w in paid}
    assert not any(t.covers(by_member[m]) for m in unpaid for t in tiers)


def test_single_choice_needs_exactly_one_correct_option() -> None:
    with pytest.raises(RuleViolation) as excinfo:
        check_question(QuestionKind.SINGLE, ["a", "b"], [0, 1])
    assert excinfo.value.rule == "single_correct"
    assert check_question(QuestionKind.MULTIPLE, ["a", "b", "c"], [2, 0]) == (0, 2)
