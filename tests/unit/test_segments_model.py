"""The pure segment domain: definitions evaluate as a naive reading of their JSON says, bad
definitions and answers are refused with the field (a JSON path) and the rule, and the
behavioural tags follow their thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import RuleViolation
from core.rule_codes import Rule
from core.segments import model
from core.segments.model import QUESTIONNAIRE, Activity, Tag, TagThresholds

TAGS = [t.value for t in Tag]
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def _answer_node() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(QUESTIONNAIRE).flatmap(
        lambda q: st.lists(st.sampled_from(q.choices), min_size=1, unique=True).map(
            lambda values: {"answer": q.key, "in": values}
        )
    )


LEAF = st.one_of(_answer_node(), st.sampled_from(TAGS).map(lambda t: {"tag": t}))
DEFINITIONS = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map(lambda c: {"all": c}),
        st.lists(inner, min_size=1, max_size=4).map(lambda c: {"any": c}),
        inner.map(lambda c: {"not": c}),
    ),
    max_leaves=8,
).filter(lambda d: _depth(d) <= model.MAX_DEPTH)


def _depth(node: dict[str, Any]) -> int:
    if "all" in node or "any" in node:
        return 1 + max(_depth(c) for c in node.get("all", node.get("any", [])))
    if "not" in node:
        return 1 + _depth(node["not"])
    return 1


@st.composite
def members(draw: st.DrawFn) -> tuple[dict[str, Any], frozenset[str]]:
    answers: dict[str, Any] = {}
    for q in QUESTIONNAIRE:
        if draw(st.booleans()):
            if q.multiple:
                answers[q.key] = draw(st.lists(st.sampled_from(q.choices), unique=True))
            else:
                answers[q.key] = draw(st.sampled_from(q.choices))
    return answers, frozenset(draw(st.sets(st.sampled_from(TAGS))))


def naive(node: dict[str, Any], answers: dict[str, Any], tags: frozenset[str]) -> bool:
    """The reference: read the JSON as English."""
    if "all" in node:
        return all(naive(c, answers, tags) for c in node["all"])
    if "any" in node:
        return any(naive(c, answers, tags) for c in node["any"])
    if "not" in node:
        return not naive(node["not"], answers, tags)
    if "tag" in node:
        return node["tag"] in tags
    given_answer = answers.get(node["answer"])
    chosen = given_answer if isinstance(given_answer, list) else [given_answer]
    return any(value in node["in"] for value in chosen if value is not None)


@settings(max_examples=150, deadline=None)
@given(DEFINITIONS, members())
def test_evaluation_equals_the_naive_reading(
    definition: dict[str, Any], member: tuple[dict[str, Any], frozenset[str]]
) -> None:
    answers, tags = member
    parsed = model.parse_definition(definition)
    assert model.evaluate(parsed, model.normalise(answers), tags) == naive(
        definition, answers, tags
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["all", "any", "not", "tag", "answer", "in", "x"]), inner, max_size=3
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_any_json_parses_or_is_refused_with_a_path_and_a_known_rule(raw: Any) -> None:
    try:
        model.parse_definition(raw)
    except RuleViolation as exc:
        assert exc.field.startswith("definition")
        assert exc.rule in {r.value for r in Rule}


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        ([], "definition", "type"),
        ({"all": []}, "definition.all", "non_empty"),
        ({"any": {"tag": "new"}}, "definition.any", "type"),
        ({"all": [{"tag": "new"}, {"tag": "rich"}]}, "definition.all[1].tag", "one_of"),
        ({"answer": "shoe_size", "in": ["9"]}, "definition.answer", "one_of"),
        ({"answer": "risk_tolerance", "in": ["reckless"]}, "definition.in", "one_of"),
        ({"answer": "risk_tolerance", "in": []}, "definition.in", "non_empty"),
        ({"answer": "risk_tolerance"}, "definition", "unknown_field"),
        ({"tag": "new", "not": {"tag": "new"}}, "definition", "unknown_field"),
        (
            {"not": {"not": {"not": {"not": {"not": {"not": {"tag": "new"}}}}}}},
            "definition.not.not.not.not.not.not",
            "max_depth",
        ),
        ({"any": [{"tag": "new"}] * (model.MAX_CHILDREN + 1)}, "definition.any", "max_items"),
    ],
)
def test_bad_definitions_name_the_path_and_the_rule(raw: Any, field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        model.parse_definition(raw)
    assert (refused.value.field, refused.value.rule) == (field, rule)


@pytest.mark.parametrize(
    ("raw", "field", "rule"),
    [
        ({"shoe_size": "9"}, "answers.shoe_size", "unknown_field"),
        ({"risk_tolerance": "reckless"}, "answers.risk_tolerance", "one_of"),
        ({"risk_tolerance": ["high"]}, "answers.risk_tolerance", "one_of"),
        ({"interests": "etfs"}, "answers.interests", "type"),
        ({"interests": ["etfs", "etfs"]}, "answers.interests", "unique"),
    ],
)
def test_bad_answers_name_the_question_and_the_rule(raw: Any, field: str, rule: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        model.check_answers(raw)
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_answers_come_back_in_questionnaire_order() -> None:
    checked = model.check_answers({"interests": ["etfs", "a_shares"], "risk_tolerance": "low"})
    assert checked == {"risk_tolerance": ("low",), "interests": ("a_shares", "etfs")}


def _activity(**overrides: Any) -> Activity:
    base: dict[str, Any] = {
        "joined_at": NOW - timedelta(days=30),
        "last_active_at": NOW - timedelta(days=1),
        "orders_last_week": 0,
        "level": 1,
    }
    return Activity(**(base | overrides))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, set()),
        ({"orders_last_week": 5}, {Tag.ACTIVE_TRADER}),
        ({"orders_last_week": 4}, set()),
        ({"last_active_at": NOW - timedelta(days=14)}, {Tag.DORMANT}),
        ({"last_active_at": NOW - timedelta(days=13, hours=23)}, set()),
        ({"last_active_at": None}, {Tag.DORMANT}),  # joined 30 days ago, never active
        (
            {"joined_at": NOW - timedelta(days=6), "last_active_at": None},
            {Tag.NEW},
        ),
        ({"joined_at": NOW - timedelta(days=7), "last_active_at": NOW}, set()),
        ({"level": 5}, {Tag.HIGH_LEVEL}),
    ],
)
def test_tags_follow_their_thresholds(overrides: dict[str, Any], expected: set[Tag]) -> None:
    held = model.tags_for(_activity(**overrides), now=NOW, thresholds=TagThresholds())
    assert held == expected
