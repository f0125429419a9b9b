"""Pure segment domain: the onboarding questionnaire, behavioural tags and segment definitions.

A definition is a small predicate over a member's answers and tags, written as JSON::

    {"all": [{"answer": "risk_tolerance", "in": ["high"]}, {"tag": "active_trader"}]}

Nodes: ``{"all": [...]}`` / ``{"any": [...]}`` (1..MAX_CHILDREN children), ``{"not": node}``,
``{"answer": <question>, "in": [<allowed values>]}`` (true when the member's answer, or one of
their answers to a multiple-choice question, is listed; an unanswered question is false) and
``{"tag": <tag>}``. ``parse_definition`` refuses anything else with a ``RuleViolation`` naming
the JSON path (``definition.all[1].in``) and the rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from core.errors import RuleViolation

QUESTIONNAIRE_VERSION = 1
MAX_CHILDREN = 16
MAX_DEPTH = 6
SEGMENT_KEY = re.compile(r"[a-z][a-z0-9_]{1,63}")


class Tag(StrEnum):
    """Behavioural tags the engine computes (``engine.segments_tags``)."""

    ACTIVE_TRADER = "active_trader"
    DORMANT = "dormant"
    NEW = "new"
    HIGH_LEVEL = "high_level"


@dataclass(frozen=True, slots=True)
class Question:
    """One onboarding question: its key, its allowed values (in display order) and whether a
    member may pick several."""

    key: str
    choices: tuple[str, ...]
    multiple: bool = False


QUESTIONNAIRE: tuple[Question, ...] = (
    Question("risk_tolerance", ("low", "medium", "high")),
    Question("asset_band", ("under_10k", "10k_100k", "100k_1m", "over_1m")),
    Question("experience", ("none", "under_1y", "1_3y", "over_3y")),
    Question(
        "interests",
        ("a_shares", "hk_stocks", "us_stocks", "etfs", "bonds", "options", "crypto"),
        multiple=True,
    ),
)
QUESTIONS: Mapping[str, Question] = {q.key: q for q in QUESTIONNAIRE}

# A member's answers, normalised: each question answered → the chosen values.
Answers = Mapping[str, frozenset[str]]


def check_answers(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Validate a questionnaire submission; every question may be skipped (left out).

    Returns the answers in questionnaire order (multiple choices sorted by choice order)."""
    for key in raw:
        if key not in QUESTIONS:
            raise RuleViolation(
                f"the questionnaire has no question {key!r}",
                field=f"answers.{key}",
                rule="unknown_field",
            )
    checked: dict[str, tuple[str, ...]] = {}
    for question in QUESTIONNAIRE:
        if question.key not in raw:
            continue
        value = raw[question.key]
        where = f"answers.{question.key}"
        picked: list[Any] = value if question.multiple else [value]
        if question.multiple and not isinstance(value, list):
            raise RuleViolation(f"{question.key} is a list of choices", field=where, rule="type")
        for choice in picked:
            if not isinstance(choice, str) or choice not in question.choices:
                raise RuleViolation(
                    f"{question.key} must be one of {', '.join(question.choices)}",
                    field=where,
                    rule="one_of",
                )
        if len(set(picked)) != len(picked):
            raise RuleViolation(f"{question.key} names a choice twice", field=where, rule="unique")
        checked[question.key] = tuple(c for c in question.choices if c in picked)
    return checked


def normalise(stored: Mapping[str, Any]) -> Answers:
    """Stored answers (a string or a list per question) as sets of chosen values."""
    out: dict[str, frozenset[str]] = {}
    for key, value in stored.items():
        out[key] = frozenset(value) if isinstance(value, list | tuple) else frozenset([value])
    return out


# --- definitions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NotNode:
    child: Node


@dataclass(frozen=True, slots=True)
class AnswerIn:
    question: str
    values: frozenset[str]


@dataclass(frozen=True, slots=True)
class HasTag:
    tag: Tag


Node = AllOf | AnyOf | NotNode | AnswerIn | HasTag


def _refuse(detail: str, where: str, rule: str) -> RuleViolation:
    return RuleViolation(detail, field=where, rule=rule)


def parse_definition(raw: Any, *, where: str = "definition", depth: int = 1) -> Node:
    """Parse and validate a definition (see the module docstring)."""
    if depth > MAX_DEPTH:
        raise _refuse(f"definitions nest at most {MAX_DEPTH} deep", where, "max_depth")
    if not isinstance(raw, dict):
        raise _refuse("a definition node is an object", where, "type")
    keys = set(raw)
    if keys in ({"all"}, {"any"}):
        (op,) = keys
        children = raw[op]
        at = f"{where}.{op}"
        if not isinstance(children, list):
            raise _refuse(f"{op!r} takes a list of nodes", at, "type")
        if not children:
            raise _refuse(f"{op!r} needs at least one node", at, "non_empty")
        if len(children) > MAX_CHILDREN:
            raise _refuse(f"{op!r} takes at most {MAX_CHILDREN} nodes", at, "max_items")
        parsed = tuple(
            parse_definition(c, where=f"{at}[{i}]", depth=depth + 1) for i, c in enumerate(children)
        )
        return AllOf(parsed) if op == "all" else AnyOf(parsed)
    if keys == {"not"}:
        return NotNode(parse_definition(raw["not"], where=f"{where}.not", depth=depth + 1))
    if keys == {"tag"}:
        tag = raw["tag"]
        if not isinstance(tag, str) or tag not in Tag.__members__.values():
            allowed = ", ".join(t.value for t in Tag)
            raise _refuse(f"a tag is one of {allowed}", f"{where}.tag", "one_of")
        return HasTag(Tag(tag))
    if keys == {"answer", "in"}:
        return _parse_answer(raw, where)
    raise _refuse("a node is one of all, any, not, tag, or answer with in", where, "unknown_field")


def _parse_answer(raw: Mapping[str, Any], where: str) -> AnswerIn:
    question = QUESTIONS.get(raw["answer"]) if isinstance(raw["answer"], str) else None
    if question is None:
        allowed = ", ".join(QUESTIONS)
        raise _refuse(f"answer names a question: one of {allowed}", f"{where}.answer", "one_of")
    values = raw["in"]
    at = f"{where}.in"
    if not isinstance(values, list):
        raise _refuse("in takes a list of choices", at, "type")
    if not values:
        raise _refuse("in needs at least one choice", at, "non_empty")
    for value in values:
        if not isinstance(value, str) or value not in question.choices:
            allowed = ", ".join(question.choices)
            raise _refuse(f"{question.key} choices are {allowed}", at, "one_of")
    return AnswerIn(question.key, frozenset(values))


def evaluate(node: Node, answers: Answers, tags: frozenset[str]) -> bool:
    """Whether a member with these answers and tags is in the segment."""
    match node:
        case AllOf(children):
            return all(evaluate(c, answers, tags) for c in children)
        case AnyOf(children):
            return any(evaluate(c, answers, tags) for c in children)
        case NotNode(child):
            return not evaluate(child, answers, tags)
        case AnswerIn(question, values):
            return bool(answers.get(question, frozenset()) & values)
        case HasTag(tag):
            return tag.value in tags
    raise TypeError(f"not a definition node: {node!r}")  # pragma: no cover


def check_key(key: str) -> str:
    """A segment key: 2-64 of a-z, 0-9 and _, starting with a letter."""
    if not SEGMENT_KEY.fullmatch(key):
        raise RuleViolation(
            "a segment key is 2-64 of a-z, 0-9 and _, starting with a letter",
            field="key",
            rule="key_format",
        )
    return key


# --- behavioural tags -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activity:
    """What the tags are derived from, for one member (all UTC)."""

    joined_at: datetime
    last_active_at: datetime | None  # latest check-in or order; None: never
    orders_last_week: int
    level: int


@dataclass(frozen=True, slots=True)
class TagThresholds:
    active_trader_orders: int = 5  # orders in the last 7 days
    dormant_days: int = 14
    new_days: int = 7
    high_level: int = 5


def tags_for(activity: Activity, *, now: datetime, thresholds: TagThresholds) -> frozenset[Tag]:
    """The behavioural tags a member holds at ``now`` (pure; the engine gathers ``activity``)."""
    held: set[Tag] = set()
    if activity.orders_last_week >= thresholds.active_trader_orders:
        held.add(Tag.ACTIVE_TRADER)
    since = activity.last_active_at or activity.joined_at
    if now - since >= timedelta(days=thresholds.dormant_days):
        held.add(Tag.DORMANT)
    if now - activity.joined_at < timedelta(days=thresholds.new_days):
        held.add(Tag.NEW)
    if activity.level >= thresholds.high_level:
        held.add(Tag.HIGH_LEVEL)
    return frozenset(held)
