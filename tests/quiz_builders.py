"""Builders for quiz tests: a small bank and a scheduled, published quiz at a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger.quizzes import services as quizzes
from ledger.quizzes.model import QuestionKind, RewardTier, TierBasis
from ledger.quizzes.services import QuestionDraft, QuizSpec
from ledger.quizzes.uow import QuizUnitOfWork

OPENS = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CLOSES = OPENS + timedelta(hours=1)
SECONDS = 20


def bank(uow: QuizUnitOfWork, operator_id: int, *, count: int = 3) -> list[int]:
    """``count`` questions; question i is single choice with option i % 3 correct, except the
    second, which is multiple choice with options 0 and 2 correct."""
    ids = []
    for i in range(count):
        multiple = i == 1
        draft = QuestionDraft(
            kind=QuestionKind.MULTIPLE if multiple else QuestionKind.SINGLE,
            text=f"Question {i}?",
            options=("alpha", "beta", "gamma"),
            correct=(0, 2) if multiple else (i % 3,),
            explanation=f"Because {i}.",
            tags=("basics",),
        )
        ids.append(quizzes.create_question(uow, draft, operator_id=operator_id, now=OPENS).id)
    return ids


def rank_tiers() -> tuple[RewardTier, ...]:
    return (
        RewardTier(TierBasis.RANK, 1, 1, points=100, xp=10),
        RewardTier(TierBasis.RANK, 2, 3, points=30),
    )


def quiz(
    uow: QuizUnitOfWork,
    operator_id: int,
    question_ids: list[int],
    *,
    tiers: tuple[RewardTier, ...] | None = None,
    publish: bool = True,
) -> int:
    spec = QuizSpec(
        title="Market basics",
        opens_at=OPENS,
        closes_at=CLOSES,
        seconds_per_question=SECONDS,
        question_ids=tuple(question_ids),
        reward_tiers=rank_tiers() if tiers is None else tiers,
    )
    made = quizzes.create_quiz(uow, spec, operator_id=operator_id, now=OPENS - timedelta(days=1))
    if publish:
        quizzes.publish_quiz(uow, made.id, now=OPENS - timedelta(hours=1))
    return made.id


def correct_for(index: int) -> list[int]:
    """The right answer to question ``index`` of ``bank``."""
    return [0, 2] if index == 1 else [index % 3]


def take(
    uow: QuizUnitOfWork,
    quiz_id: int,
    member_id: int,
    *,
    right: int,
    seconds_each: float = 1.0,
    start: datetime = OPENS,
    count: int = 3,
) -> datetime:
    """Answer the first ``right`` questions right and the rest wrong, ``seconds_each`` apart;
    the moment the attempt ended."""
    quizzes.start_attempt(uow, quiz_id, member_id, now=start)
    moment = start
    for index in range(count):
        served = quizzes.current_question(uow, quiz_id, member_id, now=moment)
        moment = moment + timedelta(seconds=seconds_each)
        chosen = correct_for(index) if index < right else [1]
        quizzes.answer(
            uow, quiz_id, member_id, position=served.position, selected=chosen, now=moment
        )
    return moment
