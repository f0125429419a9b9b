"""Quiz competitions, the pure part: questions and their rules, server-side timing, scoring,
ranking and reward tiers. No database, no clock: callers pass ``now``.

A quiz is an ordered list of questions, each answered within ``seconds_per_question`` of
being served. An answer after its deadline counts as wrong; a question never answered (timed
out, or the quiz closed first) too. Members rank by correct answers (more first), then by total
answer time in milliseconds (less first), then by member id: a total order, so ties are broken
the same way every time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.errors import RuleViolation
from ledger.earning import Award

MAX_OPTIONS = 10
MAX_QUESTIONS = 100
MAX_SECONDS_PER_QUESTION = 600
QuestionId = int


class QuestionKind(StrEnum):
    SINGLE = "single"  # exactly one correct option
    MULTIPLE = "multiple"  # one or more correct options; an answer must name all of them


@dataclass(frozen=True, slots=True)
class Question:
    """A question of the bank; ``correct`` holds indices into ``options`` (0-based, sorted)."""

    id: QuestionId
    kind: QuestionKind
    text: str
    options: tuple[str, ...]
    correct: tuple[int, ...]
    explanation: str
    tags: tuple[str, ...]


def check_question(
    kind: QuestionKind, options: Sequence[str], correct: Iterable[int]
) -> tuple[int, ...]:
    """The sorted correct option set, or ``RuleViolation`` naming the broken field and rule."""
    if len(options) < 2:
        raise RuleViolation(
            "a question needs at least 2 options", field="options", rule="min_items"
        )
    if len(options) > MAX_OPTIONS:
        raise RuleViolation(
            f"a question has at most {MAX_OPTIONS} options", field="options", rule="max_items"
        )
    if len({option.strip() for option in options}) != len(options):
        raise RuleViolation("two options read the same", field="options", rule="unique")
    chosen = list(correct)
    if len(set(chosen)) != len(chosen):
        raise RuleViolation("a correct option is named twice", field="correct", rule="unique")
    if any(not 0 <= index < len(options) for index in chosen):
        raise RuleViolation(
            "a correct option index is outside the options", field="correct", rule="known_option"
        )
    if not chosen:
        raise RuleViolation("a question needs a correct option", field="correct", rule="min_items")
    if kind is QuestionKind.SINGLE and len(chosen) != 1:
        raise RuleViolation(
            "a single-choice question has exactly one correct option",
            field="correct",
            rule="single_correct",
        )
    return tuple(sorted(chosen))


def check_selection(question: Question, selected: Iterable[int]) -> tuple[int, ...]:
    """A member's chosen options, sorted; refuses unknown indices and, for single choice, more
    than one. An empty selection is allowed (it is simply wrong)."""
    chosen = list(selected)
    if len(set(chosen)) != len(chosen):
        raise RuleViolation("an option is chosen twice", field="selected", rule="unique")
    if any(not 0 <= index < len(question.options) for index in chosen):
        raise RuleViolation(
            "a chosen option is outside the options", field="selected", rule="known_option"
        )
    if question.kind is QuestionKind.SINGLE and len(chosen) > 1:
        raise RuleViolation(
            "a single-choice question takes one option", field="selected", rule="single_correct"
        )
    return tuple(sorted(chosen))


# --- timing -----------------------------------------------------------------------------------


def deadline(served_at: datetime, seconds_per_question: int) -> datetime:
    """The last instant an answer to a question served at ``served_at`` is on time."""
    return served_at + timedelta(seconds=seconds_per_question)


def on_time(served_at: datetime, answered_at: datetime, seconds_per_question: int) -> bool:
    """Whether an answer is in time: at the deadline itself still counts, after it does not."""
    return answered_at <= deadline(served_at, seconds_per_question)


def elapsed_ms(served_at: datetime, answered_at: datetime, seconds_per_question: int) -> int:
    """Answer time in milliseconds, capped at the question's limit (a late answer costs the
    whole limit, never more)."""
    limit = seconds_per_question * 1000
    spent = (answered_at - served_at) // timedelta(milliseconds=1)
    return max(0, min(limit, spent))


def is_correct(question: Question, selected: Sequence[int], *, in_time: bool) -> bool:
    """A late answer never scores; otherwise the chosen set must equal the correct set."""
    return in_time and tuple(sorted(selected)) == question.correct


# --- scores and ranking -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Score:
    """One member's result: correct answers and total answer time (milliseconds)."""

    member_id: int
    correct: int
    time_ms: int


@dataclass(frozen=True, slots=True)
class Placed:
    """A score and its place (1-based; every place distinct)."""

    rank: int
    score: Score


def score_of(
    member_id: int,
    outcomes: Sequence[tuple[bool, int]],
    *,
    question_count: int,
    seconds_per_question: int,
) -> Score:
    """A member's score from the recorded (correct, elapsed ms) outcomes; a question with no
    recorded outcome (the quiz closed first) is wrong and costs the whole limit."""
    missing = max(0, question_count - len(outcomes))
    return Score(
        member_id=member_id,
        correct=sum(1 for correct, _ in outcomes if correct),
        time_ms=sum(ms for _, ms in outcomes) + missing * seconds_per_question * 1000,
    )


def rank_scores(scores: Iterable[Score]) -> list[Placed]:
    """Scores in order: most correct, then least time, then lowest member id."""
    ordered = sorted(scores, key=lambda s: (-s.correct, s.time_ms, s.member_id))
    return [Placed(rank=place, score=score) for place, score in enumerate(ordered, start=1)]


# --- reward tiers -----------------------------------------------------------------------------


class TierBasis(StrEnum):
    RANK = "rank"  # places first … last
    SCORE = "score"  # correct answers min_correct … max_correct


@dataclass(frozen=True, slots=True)
class RewardTier:
    """Points, XP and optionally one reward item for the places (``RANK``) or the correct
    answer counts (``SCORE``) ``low`` … ``high``, both inclusive."""

    basis: TierBasis
    low: int
    high: int
    points: int = 0
    xp: int = 0
    item_key: str | None = None

    @property
    def award(self) -> Award:
        return Award(points=self.points, xp=self.xp)

    def covers(self, placed: Placed) -> bool:
        value = placed.rank if self.basis is TierBasis.RANK else placed.score.correct
        return self.low <= value <= self.high


def check_tiers(tiers: Sequence[RewardTier], *, question_count: int) -> None:
    """Refuse tiers that mix bases, overlap, run backwards, pay nothing or lie outside the
    possible ranks (≥ 1) or scores (0 … question count)."""
    if len({tier.basis for tier in tiers}) > 1:
        raise RuleViolation(
            "reward tiers are all by rank or all by score", field="reward_tiers", rule="mixed_kinds"
        )
    for index, tier in enumerate(tiers):
        at = f"reward_tiers[{index}]"
        least = 1 if tier.basis is TierBasis.RANK else 0
        if tier.low < least or (tier.basis is TierBasis.SCORE and tier.high > question_count):
            raise RuleViolation(
                f"{tier.basis} tier outside the possible values", field=at, rule="range"
            )
        if tier.high < tier.low:
            raise RuleViolation(
                "a tier whose end comes before its start", field=at, rule="inverted"
            )
        if tier.points < 0 or tier.xp < 0:
            raise RuleViolation("a tier pays a negative amount", field=at, rule="non_negative")
        if tier.points == 0 and tier.xp == 0 and tier.item_key is None:
            raise RuleViolation("a tier pays nothing", field=at, rule="non_empty")
    spans = sorted((tier.low, tier.high) for tier in tiers)
    if any(later[0] <= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)):
        raise RuleViolation("reward tiers overlap", field="reward_tiers", rule="overlapping")


@dataclass(frozen=True, slots=True)
class Winner:
    """A member paid by one tier (index ``tier`` into the quiz's tiers)."""

    member_id: int
    rank: int
    correct: int
    tier: int


def winners(placed: Sequence[Placed], tiers: Sequence[RewardTier]) -> list[Winner]:
    """Who each tier pays: each member at most once (tiers never overlap)."""
    paid: list[Winner] = []
    for entry in placed:
        for index, tier in enumerate(tiers):
            if tier.covers(entry):
                paid.append(
                    Winner(
                        member_id=entry.score.member_id,
                        rank=entry.rank,
                        correct=entry.score.correct,
                        tier=index,
                    )
                )
                break
    return paid


def quiz_award_id(quiz_id: int, member_id: int, tier: int) -> str:
    """The deterministic ledger id prefix of a quiz prize: paid once however often settled."""
    return f"quizprize:{quiz_id}:{member_id}:{tier}"


def check_schedule(
    opens_at: datetime,
    closes_at: datetime,
    *,
    seconds_per_question: int,
    question_ids: Sequence[int],
) -> None:
    """Refuse a quiz whose window, timing or question list cannot work."""
    if closes_at <= opens_at:
        raise RuleViolation("a quiz closes after it opens", field="closes_at", rule="after_start")
    if not 1 <= seconds_per_question <= MAX_SECONDS_PER_QUESTION:
        raise RuleViolation(
            f"seconds per question is 1 … {MAX_SECONDS_PER_QUESTION}",
            field="seconds_per_question",
            rule="range",
        )
    if not question_ids:
        raise RuleViolation("a quiz needs a question", field="question_ids", rule="min_items")
    if len(question_ids) > MAX_QUESTIONS:
        raise RuleViolation(
            f"a quiz has at most {MAX_QUESTIONS} questions", field="question_ids", rule="max_items"
        )
    if len(set(question_ids)) != len(question_ids):
        raise RuleViolation("a question is listed twice", field="question_ids", rule="unique")
