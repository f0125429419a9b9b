"""HTTP shapes of quiz competitions. Member shapes carry no correct option and no explanation
until the attempt is finished or the quiz has closed (``review`` stays empty before)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.common import Moment
from core.clock import as_utc
from ledger.model import MAX_AMOUNT
from ledger.quizzes.model import (
    MAX_QUESTIONS,
    Placed,
    Question,
    QuestionKind,
    RewardTier,
    Score,
    TierBasis,
)
from ledger.quizzes.services import (
    AnswerReceipt,
    AttemptState,
    QuestionDraft,
    Quiz,
    QuizPrize,
    QuizSettlement,
    QuizSpec,
    ReviewedAnswer,
    ServedQuestion,
)

OptionIndex = Annotated[int, Field(strict=True, ge=0, le=99)]
Amount = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]
Bound = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
QuestionIdIn = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)]


class QuestionIn(BaseModel):
    """A question of the bank; ``correct`` lists 0-based indices into ``options``."""

    model_config = ConfigDict(extra="forbid")

    kind: QuestionKind
    text: str = Field(min_length=1, max_length=2000)
    options: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(max_length=50)
    correct: list[OptionIndex] = Field(max_length=50)
    explanation: str = Field(default="", max_length=4000)
    tags: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=20
    )

    def to_draft(self) -> QuestionDraft:
        return QuestionDraft(
            kind=self.kind,
            text=self.text,
            options=tuple(self.options),
            correct=tuple(self.correct),
            explanation=self.explanation,
            tags=tuple(self.tags),
        )


class QuestionOut(BaseModel):
    id: int
    kind: QuestionKind
    text: str
    options: list[str]
    correct_options: list[int]
    explanation: str
    tags: list[str]

    @classmethod
    def of(cls, q: Question) -> QuestionOut:
        return cls(
            id=q.id,
            kind=q.kind,
            text=q.text,
            options=list(q.options),
            correct_options=list(q.correct),
            explanation=q.explanation,
            tags=list(q.tags),
        )


class TierIO(BaseModel):
    """A reward tier: places (``rank``) or correct-answer counts (``score``) low … high."""

    model_config = ConfigDict(extra="forbid")

    basis: TierBasis
    low: Bound
    high: Bound
    points: Amount = 0
    xp: Amount = 0
    item_key: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")

    def to_tier(self) -> RewardTier:
        return RewardTier(
            self.basis, self.low, self.high, points=self.points, xp=self.xp, item_key=self.item_key
        )

    @classmethod
    def of(cls, t: RewardTier) -> TierIO:
        return cls(
            basis=t.basis, low=t.low, high=t.high, points=t.points, xp=t.xp, item_key=t.item_key
        )


class QuizIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    opens_at: Moment
    closes_at: Moment
    seconds_per_question: int = Field(strict=True, ge=1, le=600)
    question_ids: list[QuestionIdIn] = Field(max_length=MAX_QUESTIONS)
    reward_tiers: list[TierIO] = Field(default_factory=list, max_length=20)
    target_segment: str | None = Field(
        default=None, max_length=64, description="Only members of this segment may attempt"
    )

    def to_spec(self) -> QuizSpec:
        return QuizSpec(
            title=self.title,
            opens_at=as_utc(self.opens_at),
            closes_at=as_utc(self.closes_at),
            seconds_per_question=self.seconds_per_question,
            question_ids=tuple(self.question_ids),
            reward_tiers=tuple(t.to_tier() for t in self.reward_tiers),
            target_segment=self.target_segment,
        )


class QuizOut(BaseModel):
    """A quiz as members see it: no questions, only how many."""

    id: int
    title: str
    opens_at: datetime
    closes_at: datetime
    seconds_per_question: int
    question_count: int
    reward_tiers: list[TierIO]
    published_at: datetime | None
    settled_at: datetime | None
    target_segment: str | None = Field(description="Only members of this segment may attempt")

    @classmethod
    def of(cls, q: Quiz) -> QuizOut:
        return cls(
            id=q.id,
            title=q.title,
            opens_at=q.opens_at,
            closes_at=q.closes_at,
            seconds_per_question=q.seconds_per_question,
            question_count=len(q.questions),
            reward_tiers=[TierIO.of(t) for t in q.reward_tiers],
            published_at=q.published_at,
            settled_at=q.settled_at,
            target_segment=q.target_segment,
        )


class QuizAdminOut(QuizOut):
    """A quiz as operators see it, with its copy of the questions and their answers."""

    questions: list[QuestionOut]

    @classmethod
    def of(cls, q: Quiz) -> QuizAdminOut:
        return cls(**QuizOut.of(q).model_dump(), questions=[QuestionOut.of(x) for x in q.questions])


class ServedQuestionOut(BaseModel):
    """The question being answered; answer before ``deadline`` (server clock)."""

    position: int = Field(description="0-based place of the question in the quiz")
    count: int = Field(description="Questions in the quiz")
    question_id: int
    kind: QuestionKind
    text: str
    options: list[str]
    served_at: datetime
    deadline: datetime

    @classmethod
    def of(cls, s: ServedQuestion) -> ServedQuestionOut:
        return cls(
            position=s.position,
            count=s.count,
            question_id=s.question_id,
            kind=s.kind,
            text=s.text,
            options=list(s.options),
            served_at=s.served_at,
            deadline=s.deadline,
        )


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(strict=True, ge=0, le=MAX_QUESTIONS, description="The served question")
    selected: list[OptionIndex] = Field(max_length=50, description="Chosen option indices")


class AnswerReceiptOut(BaseModel):
    position: int
    on_time: bool = Field(description="False: after the deadline, recorded as wrong")
    finished: bool

    @classmethod
    def of(cls, r: AnswerReceipt) -> AnswerReceiptOut:
        return cls(position=r.position, on_time=r.on_time, finished=r.finished)


class ScoreOut(BaseModel):
    member_id: int
    correct_answers: int
    time_ms: int = Field(description="Total answer time, each question capped at its limit")

    @classmethod
    def of(cls, s: Score) -> ScoreOut:
        return cls(member_id=s.member_id, correct_answers=s.correct, time_ms=s.time_ms)


class ReviewedOut(BaseModel):
    position: int
    question_id: int
    text: str
    options: list[str]
    selected: list[int]
    correct_options: list[int]
    explanation: str
    answered: bool = Field(description="False: timed out")
    on_time: bool
    is_correct: bool
    elapsed_ms: int

    @classmethod
    def of(cls, r: ReviewedAnswer) -> ReviewedOut:
        return cls(
            position=r.position,
            question_id=r.question.id,
            text=r.question.text,
            options=list(r.question.options),
            selected=list(r.selected),
            correct_options=list(r.question.correct),
            explanation=r.question.explanation,
            answered=r.answered,
            on_time=r.on_time,
            is_correct=r.correct,
            elapsed_ms=r.elapsed_ms,
        )


class AttemptOut(BaseModel):
    quiz_id: int
    started_at: datetime
    position: int = Field(description="The question being answered next (= count when done)")
    count: int
    finished: bool
    finished_at: datetime | None
    closed: bool
    score: ScoreOut | None = Field(description="Once finished or closed")
    review: list[ReviewedOut] = Field(description="Empty until finished or closed")

    @classmethod
    def of(cls, a: AttemptState) -> AttemptOut:
        return cls(
            quiz_id=a.quiz_id,
            started_at=a.started_at,
            position=a.position,
            count=a.count,
            finished=a.finished_at is not None,
            finished_at=a.finished_at,
            closed=a.closed,
            score=None if a.score is None else ScoreOut.of(a.score),
            review=[ReviewedOut.of(r) for r in a.review],
        )


class PlacedOut(ScoreOut):
    rank: int

    @classmethod
    def placed(cls, p: Placed) -> PlacedOut:
        return cls(rank=p.rank, **ScoreOut.of(p.score).model_dump())


class LeaderboardOut(BaseModel):
    quiz_id: int
    items: list[PlacedOut]


class QuizPrizeOut(BaseModel):
    member_id: int
    rank: int
    correct_answers: int
    tier: int
    points: int
    xp: int
    item_key: str | None
    award_id: str
    paid_at: datetime | None

    @classmethod
    def of(cls, p: QuizPrize) -> QuizPrizeOut:
        return cls(
            member_id=p.member_id,
            rank=p.rank,
            correct_answers=p.correct,
            tier=p.tier,
            points=p.points,
            xp=p.xp,
            item_key=p.item_key,
            award_id=p.award_id,
            paid_at=p.paid_at,
        )


class RefusedQuizPrizeOut(BaseModel):
    award_id: str
    rule: str


class QuizSettlementOut(BaseModel):
    quiz_id: int
    settled: bool
    settled_at: datetime | None
    paid_now: int
    already_paid: int
    refused: list[RefusedQuizPrizeOut]
    prizes: list[QuizPrizeOut]

    @classmethod
    def of(cls, r: QuizSettlement) -> QuizSettlementOut:
        return cls(
            quiz_id=r.quiz_id,
            settled=r.settled_at is not None,
            settled_at=r.settled_at,
            paid_now=r.paid_now,
            already_paid=r.already_paid,
            refused=[RefusedQuizPrizeOut(award_id=a, rule=rule) for a, rule in r.refused],
            prizes=[QuizPrizeOut.of(p) for p in r.prizes],
        )
