"""Quiz use cases: the question bank, scheduling, a member's one timed attempt, the leaderboard
and settlement. Each is one transaction (``with uow: … uow.commit()``); ``now`` is the server's
clock (tests pass their own).

Timing is the server's alone: a question is served (``served_at`` stamped) when the member
first fetches it, and its answer is on time until ``served_at + seconds_per_question``. The
attempt row is locked while a question is served or answered, so two answers to one question
(or an answer racing its own time-out) record exactly one outcome.

Settlement mirrors contest settlement: freeze the prize list once (quiz row locked), pay each
unpaid prize through ``ledger.engagement.awards.award`` with the deterministic id
``quizprize:<quiz>:<member>:<tier>`` (a replay posts nothing), mark it paid, then stamp
``settled_at`` once nothing is unpaid. Settling twice, or from two processes at once, pays once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.clock import utc_now
from core.errors import Conflict, DomainError, NotFound, RuleViolation
from core.segments.services import check_target, require_eligible
from ledger.earning import Award
from ledger.engagement.awards import award
from ledger.quizzes import model
from ledger.quizzes.model import (
    Placed,
    Question,
    QuestionKind,
    RewardTier,
    Score,
    TierBasis,
)
from ledger.quizzes.store import (
    DuplicateRow,
    QuizAnswerRow,
    QuizAttemptRow,
    QuizPrizeRow,
    QuizQuestionRow,
    QuizRow,
)
from ledger.quizzes.uow import QuizUnitOfWork

PRIZE_REASON = "quiz_prize"


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionDraft:
    """What an operator writes for a question (``correct``: 0-based option indices)."""

    kind: QuestionKind
    text: str
    options: tuple[str, ...]
    correct: tuple[int, ...]
    explanation: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QuizSpec:
    """What an operator schedules: the window (UTC), the bank's question ids in order, the
    seconds each question may take and the reward tiers."""

    title: str
    opens_at: datetime
    closes_at: datetime
    seconds_per_question: int
    question_ids: tuple[int, ...]
    reward_tiers: tuple[RewardTier, ...] = ()
    target_segment: str | None = None  # only its members may attempt (core.segments)


@dataclass(frozen=True, slots=True)
class Quiz:
    id: int
    title: str
    opens_at: datetime
    closes_at: datetime
    seconds_per_question: int
    questions: tuple[Question, ...]
    reward_tiers: tuple[RewardTier, ...]
    published_at: datetime | None
    settled_at: datetime | None
    target_segment: str | None = None


@dataclass(frozen=True, slots=True)
class ServedQuestion:
    """The question a member is answering: no correct options, no explanation."""

    position: int
    count: int
    question_id: int
    kind: QuestionKind
    text: str
    options: tuple[str, ...]
    served_at: datetime
    deadline: datetime


@dataclass(frozen=True, slots=True)
class AnswerReceipt:
    """An answer recorded; whether it was in time (its correctness is shown at review)."""

    position: int
    on_time: bool
    finished: bool


@dataclass(frozen=True, slots=True)
class ReviewedAnswer:
    """One question after the attempt: what was chosen, what was right, and why."""

    position: int
    question: Question
    selected: tuple[int, ...]
    answered: bool
    on_time: bool
    correct: bool
    elapsed_ms: int


@dataclass(frozen=True, slots=True)
class AttemptState:
    """A member's attempt. ``review`` is empty until the attempt is finished or the quiz has
    closed: before that nothing here names a correct option."""

    quiz_id: int
    member_id: int
    started_at: datetime
    position: int
    count: int
    finished_at: datetime | None
    closed: bool
    score: Score | None
    review: tuple[ReviewedAnswer, ...]


@dataclass(frozen=True, slots=True)
class QuizPrize:
    member_id: int
    rank: int
    correct: int
    tier: int
    points: int
    xp: int
    item_key: str | None
    award_id: str
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuizSettlement:
    """One settlement run: the frozen prizes, how many this run paid, and what was refused."""

    quiz_id: int
    prizes: tuple[QuizPrize, ...]
    paid_now: int
    already_paid: int
    refused: tuple[tuple[str, str], ...]  # (award id, rule)
    settled_at: datetime | None


# --- the bank -----------------------------------------------------------------------------------


def create_question(
    uow: QuizUnitOfWork, draft: QuestionDraft, *, operator_id: int, now: datetime | None = None
) -> Question:
    """Add a question to the bank; ``RuleViolation`` names a broken field."""
    moment = now or utc_now()
    correct = model.check_question(draft.kind, draft.options, draft.correct)
    with uow:
        row = QuizQuestionRow(created_by=operator_id, created_at=moment)
        _write_question(row, replace(draft, correct=correct), moment)
        uow.quizzes.add_question(row)
        uow.commit()
        return _question(row)


def update_question(
    uow: QuizUnitOfWork, question_id: int, draft: QuestionDraft, *, now: datetime | None = None
) -> Question:
    """Replace a question of the bank (quizzes already saved keep their copy)."""
    correct = model.check_question(draft.kind, draft.options, draft.correct)
    with uow:
        row = _require_question(uow, question_id)
        _write_question(row, replace(draft, correct=correct), now or utc_now())
        uow.commit()
        return _question(row)


def delete_question(uow: QuizUnitOfWork, question_id: int) -> None:
    """Remove a question from the bank (quizzes already saved keep their copy)."""
    with uow:
        uow.quizzes.delete_question(_require_question(uow, question_id))
        uow.commit()


def get_question(uow: QuizUnitOfWork, question_id: int) -> Question:
    with uow.reading():
        return _question(_require_question(uow, question_id))


def list_questions(
    uow: QuizUnitOfWork, *, after: int | None, limit: int
) -> tuple[list[Question], int | None]:
    """One page of the bank by id; the key to continue after, or None on the last page."""
    with uow.reading():
        rows, following = uow.quizzes.question_page(after=after, limit=limit)
        return [_question(row) for row in rows], following


# --- scheduling ---------------------------------------------------------------------------------


def create_quiz(
    uow: QuizUnitOfWork, spec: QuizSpec, *, operator_id: int, now: datetime | None = None
) -> Quiz:
    """Schedule a quiz (a draft until published), copying its questions from the bank."""
    moment = now or utc_now()
    with uow:
        row = QuizRow(created_by=operator_id, created_at=moment, published_at=None)
        _write_quiz(uow, row, spec)
        uow.quizzes.add_quiz(row)
        uow.commit()
        return _quiz(row)


def update_quiz(
    uow: QuizUnitOfWork, quiz_id: int, spec: QuizSpec, *, now: datetime | None = None
) -> Quiz:
    """Replace a quiz before it opens (409 ``quiz_opened`` once it has)."""
    moment = now or utc_now()
    with uow:
        row = _require_quiz(uow, quiz_id, lock=True)
        _refuse_if_open(row, moment)
        _write_quiz(uow, row, spec)
        uow.commit()
        return _quiz(row)


def publish_quiz(uow: QuizUnitOfWork, quiz_id: int, *, now: datetime | None = None) -> Quiz:
    """Make a quiz visible to members (idempotent); refused once it has closed."""
    moment = now or utc_now()
    with uow:
        row = _require_quiz(uow, quiz_id, lock=True)
        if row.published_at is None:
            if moment >= row.closes_at:
                raise Conflict("the quiz has closed", field="quiz_id", rule="quiz_closed")
            row.published_at = moment
        uow.commit()
        return _quiz(row)


def get_quiz(uow: QuizUnitOfWork, quiz_id: int, *, operator: bool = False) -> Quiz:
    """A quiz; members see published ones only (a draft is a 404 to them)."""
    with uow.reading():
        return _quiz(_require_quiz(uow, quiz_id, published=not operator))


def list_quizzes(
    uow: QuizUnitOfWork, *, after: int | None, limit: int
) -> tuple[list[Quiz], int | None]:
    """Published quizzes, newest first."""
    with uow.reading():
        rows, following = uow.quizzes.published_page(after=after, limit=limit)
        return [_quiz(row) for row in rows], following


# --- a member's attempt -------------------------------------------------------------------------


def start_attempt(
    uow: QuizUnitOfWork, quiz_id: int, member_id: int, *, now: datetime | None = None
) -> AttemptState:
    """Begin the member's one attempt while the quiz is open (409 ``one_attempt`` again)."""
    moment = now or utc_now()
    with uow:
        quiz = _require_quiz(uow, quiz_id, published=True)
        if moment < quiz.opens_at:
            raise Conflict("the quiz has not opened", field="quiz_id", rule="quiz_not_open")
        _refuse_if_closed(quiz, moment)
        require_eligible(uow.session, member_id, quiz.target_segment, field="quiz_id")
        try:
            attempt = uow.quizzes.add_attempt(
                QuizAttemptRow(
                    quiz_id=quiz_id,
                    member_id=member_id,
                    started_at=moment,
                    position=0,
                    served_at=None,
                    finished_at=None,
                )
            )
        except DuplicateRow:
            raise Conflict(
                "the member has already attempted this quiz", field="quiz_id", rule="one_attempt"
            ) from None
        state = _state(uow, quiz, attempt, moment)
        uow.commit()
        return state


def current_question(
    uow: QuizUnitOfWork, quiz_id: int, member_id: int, *, now: datetime | None = None
) -> ServedQuestion:
    """Serve the member's current question (stamping when it was served), after recording
    any earlier question that timed out. 409 ``attempt_finished`` when none is left."""
    moment = now or utc_now()
    with uow:
        quiz, attempt = _locked_attempt(uow, quiz_id, member_id)
        _record_timeouts(uow, quiz, attempt, moment)
        if attempt.finished_at is not None:
            uow.commit()
            raise Conflict("every question is answered", field="quiz_id", rule="attempt_finished")
        _refuse_if_closed(quiz, moment)
        if attempt.served_at is None:
            attempt.served_at = moment
        served = _served(quiz, attempt)
        uow.commit()
        return served


def answer(
    uow: QuizUnitOfWork,
    quiz_id: int,
    member_id: int,
    *,
    position: int,
    selected: Sequence[int],
    now: datetime | None = None,
) -> AnswerReceipt:
    """Record the answer to the question at ``position`` (the one being served). After its
    deadline it is recorded as wrong; a question already answered or timed out is 409
    ``already_answered``, one not served yet 409 ``not_served``."""
    moment = now or utc_now()
    with uow:
        quiz, attempt = _locked_attempt(uow, quiz_id, member_id)
        if position < attempt.position or attempt.finished_at is not None:
            raise Conflict(
                f"question {position} is already answered or timed out",
                field="position",
                rule="already_answered",
            )
        _refuse_if_closed(quiz, moment)
        if position > attempt.position or attempt.served_at is None:
            raise Conflict(
                f"question {position} has not been served", field="position", rule="not_served"
            )
        question = quiz_questions(quiz)[position]
        chosen = model.check_selection(question, selected)
        in_time = model.on_time(attempt.served_at, moment, quiz.seconds_per_question)
        _record(uow, quiz, attempt, question, chosen, answered_at=moment, in_time=in_time)
        receipt = AnswerReceipt(
            position=position, on_time=in_time, finished=attempt.finished_at is not None
        )
        uow.commit()
        return receipt


def attempt_state(
    uow: QuizUnitOfWork, quiz_id: int, member_id: int, *, now: datetime | None = None
) -> AttemptState:
    """The member's attempt (timed-out questions recorded first); the review with correct
    options and explanations once it is finished or the quiz has closed."""
    moment = now or utc_now()
    with uow:
        quiz, attempt = _locked_attempt(uow, quiz_id, member_id)
        _record_timeouts(uow, quiz, attempt, moment)
        state = _state(uow, quiz, attempt, moment)
        uow.commit()
        return state


def leaderboard(uow: QuizUnitOfWork, quiz_id: int, *, now: datetime | None = None) -> list[Placed]:
    """Finished attempts in rank order; after the quiz closes, every attempt."""
    moment = now or utc_now()
    with uow.reading():
        quiz = _require_quiz(uow, quiz_id, published=True)
        return model.rank_scores(_scores(uow, quiz, closed=moment >= quiz.closes_at))


# --- settlement ---------------------------------------------------------------------------------


def settle_quiz(
    uow: QuizUnitOfWork, quiz_id: int, *, now: datetime | None = None
) -> QuizSettlement:
    """Freeze a closed quiz's prizes and pay the unpaid ones, each exactly once (see the
    module). 409 ``quiz_not_closed`` before ``closes_at``."""
    moment = now or utc_now()
    frozen = _freeze(uow, quiz_id, moment)
    paid_now = already = 0
    refused: list[tuple[str, str]] = []
    for prize in frozen:
        if prize.paid_at is not None:
            already += 1
            continue
        try:
            award(
                uow,
                prize.member_id,
                Award(points=prize.points, xp=prize.xp),
                award_id=prize.award_id,
                reason=PRIZE_REASON,
                reference=f"quiz:{quiz_id}",
                item_key=prize.item_key,
                now=moment,
            )
        except DomainError as error:  # a refused award (out of stock) must not stop the others
            refused.append((prize.award_id, str(error.extensions.get("rule") or error.slug)))
            continue
        with uow:
            marked = uow.quizzes.mark_paid(prize.award_id, moment)
            uow.commit()
        paid_now, already = (paid_now + 1, already) if marked else (paid_now, already + 1)
    with uow:
        row = _require_quiz(uow, quiz_id, lock=True)
        if row.settled_at is None and uow.quizzes.unpaid_count(quiz_id) == 0:
            row.settled_at = moment
        settled_at = row.settled_at
        prizes = tuple(_prize(p) for p in uow.quizzes.prizes(quiz_id))
        uow.commit()
    return QuizSettlement(
        quiz_id=quiz_id,
        prizes=prizes,
        paid_now=paid_now,
        already_paid=already,
        refused=tuple(refused),
        settled_at=settled_at,
    )


def _freeze(uow: QuizUnitOfWork, quiz_id: int, moment: datetime) -> list[QuizPrize]:
    """The prize list, computed and stored by the first run only (quiz row locked)."""
    with uow:
        quiz = _require_quiz(uow, quiz_id, lock=True, published=True)
        if moment < quiz.closes_at:
            raise Conflict(
                f"quiz {quiz_id} closes at {quiz.closes_at.isoformat()}; it is settled after",
                field="quiz_id",
                rule="quiz_not_closed",
            )
        if quiz.settled_at is None and not uow.quizzes.prizes(quiz_id):
            tiers = _tiers(quiz)
            placed = model.rank_scores(_scores(uow, quiz, closed=True))
            uow.quizzes.add_prizes(
                [_prize_row(quiz_id, won, tiers[won.tier]) for won in model.winners(placed, tiers)]
            )
        frozen = [_prize(row) for row in uow.quizzes.prizes(quiz_id)]
        uow.commit()
    return frozen


def _prize_row(quiz_id: int, won: model.Winner, tier: RewardTier) -> QuizPrizeRow:
    return QuizPrizeRow(
        quiz_id=quiz_id,
        member_id=won.member_id,
        tier=won.tier,
        rank=won.rank,
        correct=won.correct,
        points=tier.points,
        xp=tier.xp,
        item_key=tier.item_key,
        award_id=model.quiz_award_id(quiz_id, won.member_id, won.tier),
        paid_at=None,
    )


# --- helpers ------------------------------------------------------------------------------------


def _require_question(uow: QuizUnitOfWork, question_id: int) -> QuizQuestionRow:
    row = uow.quizzes.question(question_id)
    if row is None:
        raise NotFound(f"no question {question_id}", field="question_id")
    return row


def _require_quiz(
    uow: QuizUnitOfWork, quiz_id: int, *, lock: bool = False, published: bool = False
) -> QuizRow:
    row = uow.quizzes.quiz(quiz_id, lock=lock)
    if row is None or (published and row.published_at is None):
        raise NotFound(f"no quiz {quiz_id}", field="quiz_id")
    return row


def _refuse_if_open(row: QuizRow, moment: datetime) -> None:
    if moment >= row.opens_at:
        raise Conflict(
            "a quiz cannot be changed once it has opened", field="quiz_id", rule="quiz_opened"
        )


def _refuse_if_closed(row: QuizRow, moment: datetime) -> None:
    if moment >= row.closes_at:
        raise Conflict("the quiz has closed", field="quiz_id", rule="quiz_closed")


def _locked_attempt(
    uow: QuizUnitOfWork, quiz_id: int, member_id: int
) -> tuple[QuizRow, QuizAttemptRow]:
    quiz = _require_quiz(uow, quiz_id, published=True)
    attempt = uow.quizzes.attempt(quiz_id, member_id, lock=True)
    if attempt is None:
        raise NotFound("the member has not started this quiz", field="quiz_id")
    return quiz, attempt


def _write_question(row: QuizQuestionRow, draft: QuestionDraft, moment: datetime) -> None:
    if not draft.text.strip():
        raise RuleViolation("a question needs text", field="text", rule="non_empty")
    row.kind = draft.kind.value
    row.text = draft.text
    row.options = list(draft.options)
    row.correct = list(draft.correct)
    row.explanation = draft.explanation
    row.tags = list(dict.fromkeys(draft.tags))
    row.updated_at = moment


def _write_quiz(uow: QuizUnitOfWork, row: QuizRow, spec: QuizSpec) -> None:
    """Check ``spec`` and write it into ``row``, copying its questions from the bank."""
    if not spec.title.strip():
        raise RuleViolation("a quiz needs a title", field="title", rule="non_empty")
    model.check_schedule(
        spec.opens_at,
        spec.closes_at,
        seconds_per_question=spec.seconds_per_question,
        question_ids=spec.question_ids,
    )
    model.check_tiers(spec.reward_tiers, question_count=len(spec.question_ids))
    found = uow.quizzes.questions_by_id(spec.question_ids)
    missing = [qid for qid in spec.question_ids if qid not in found]
    if missing:
        raise RuleViolation(
            f"no question {missing[0]} in the bank", field="question_ids", rule="known_question"
        )
    for index, tier in enumerate(spec.reward_tiers):
        if tier.item_key is not None and uow.engagement.item_by_key(tier.item_key) is None:
            raise RuleViolation(
                f"no reward item {tier.item_key!r}",
                field=f"reward_tiers[{index}].item_key",
                rule="known_item",
            )
    row.title = spec.title
    row.opens_at = spec.opens_at
    row.closes_at = spec.closes_at
    row.seconds_per_question = spec.seconds_per_question
    row.questions = [_question_json(_question(found[qid])) for qid in spec.question_ids]
    row.reward_tiers = [_tier_json(tier) for tier in spec.reward_tiers]
    row.target_segment = check_target(uow.session, spec.target_segment)


def _record_timeouts(
    uow: QuizUnitOfWork, quiz: QuizRow, attempt: QuizAttemptRow, moment: datetime
) -> None:
    """Record the served question as timed out when its deadline has passed."""
    served_at = attempt.served_at
    if attempt.finished_at is not None or served_at is None:
        return
    if model.on_time(served_at, moment, quiz.seconds_per_question):
        return
    question = quiz_questions(quiz)[attempt.position]
    _record(uow, quiz, attempt, question, (), answered_at=None, in_time=False)


def _record(
    uow: QuizUnitOfWork,
    quiz: QuizRow,
    attempt: QuizAttemptRow,
    question: Question,
    chosen: tuple[int, ...],
    *,
    answered_at: datetime | None,
    in_time: bool,
) -> None:
    """Store the outcome of the served question and move the attempt to the next one."""
    served_at = attempt.served_at
    assert served_at is not None  # callers check; a served question has a stamp
    limit_end = model.deadline(served_at, quiz.seconds_per_question)
    uow.quizzes.add_answer(
        QuizAnswerRow(
            attempt_id=attempt.id,
            position=attempt.position,
            question_id=question.id,
            selected=list(chosen),
            served_at=served_at,
            answered_at=answered_at,
            elapsed_ms=model.elapsed_ms(
                served_at, answered_at or limit_end, quiz.seconds_per_question
            ),
            on_time=in_time,
            correct=model.is_correct(question, chosen, in_time=in_time),
        )
    )
    attempt.position += 1
    attempt.served_at = None
    if attempt.position >= len(quiz.questions):
        attempt.finished_at = answered_at or limit_end


def _served(quiz: QuizRow, attempt: QuizAttemptRow) -> ServedQuestion:
    question = quiz_questions(quiz)[attempt.position]
    assert attempt.served_at is not None
    return ServedQuestion(
        position=attempt.position,
        count=len(quiz.questions),
        question_id=question.id,
        kind=question.kind,
        text=question.text,
        options=question.options,
        served_at=attempt.served_at,
        deadline=model.deadline(attempt.served_at, quiz.seconds_per_question),
    )


def _state(
    uow: QuizUnitOfWork, quiz: QuizRow, attempt: QuizAttemptRow, moment: datetime
) -> AttemptState:
    closed = moment >= quiz.closes_at
    answers = uow.quizzes.answers(attempt.id)
    done = attempt.finished_at is not None
    questions = quiz_questions(quiz)
    review = tuple(_reviewed(questions[a.position], a) for a in answers) if done or closed else ()
    return AttemptState(
        quiz_id=quiz.id,
        member_id=attempt.member_id,
        started_at=attempt.started_at,
        position=attempt.position,
        count=len(questions),
        finished_at=attempt.finished_at,
        closed=closed,
        score=_score(attempt.member_id, answers, quiz) if done or closed else None,
        review=review,
    )


def _reviewed(question: Question, row: QuizAnswerRow) -> ReviewedAnswer:
    return ReviewedAnswer(
        position=row.position,
        question=question,
        selected=tuple(row.selected),
        answered=row.answered_at is not None,
        on_time=row.on_time,
        correct=row.correct,
        elapsed_ms=row.elapsed_ms,
    )


def _score(member_id: int, answers: Sequence[QuizAnswerRow], quiz: QuizRow) -> Score:
    return model.score_of(
        member_id,
        [(a.correct, a.elapsed_ms) for a in answers],
        question_count=len(quiz.questions),
        seconds_per_question=quiz.seconds_per_question,
    )


def _scores(uow: QuizUnitOfWork, quiz: QuizRow, *, closed: bool) -> list[Score]:
    by_attempt: dict[int, list[QuizAnswerRow]] = {}
    for row in uow.quizzes.answers_of_quiz(quiz.id):
        by_attempt.setdefault(row.attempt_id, []).append(row)
    return [
        _score(attempt.member_id, by_attempt.get(attempt.id, []), quiz)
        for attempt in uow.quizzes.attempts(quiz.id)
        if closed or attempt.finished_at is not None
    ]


def _question(row: QuizQuestionRow) -> Question:
    return Question(
        id=row.id,
        kind=QuestionKind(row.kind),
        text=row.text,
        options=tuple(row.options),
        correct=tuple(row.correct),
        explanation=row.explanation,
        tags=tuple(row.tags),
    )


def _question_json(question: Question) -> dict[str, Any]:
    return {
        "id": question.id,
        "kind": question.kind.value,
        "text": question.text,
        "options": list(question.options),
        "correct": list(question.correct),
        "explanation": question.explanation,
        "tags": list(question.tags),
    }


def quiz_questions(quiz: QuizRow) -> list[Question]:
    """The quiz's copy of its questions, in order."""
    return [
        Question(
            id=int(q["id"]),
            kind=QuestionKind(q["kind"]),
            text=str(q["text"]),
            options=tuple(q["options"]),
            correct=tuple(q["correct"]),
            explanation=str(q["explanation"]),
            tags=tuple(q["tags"]),
        )
        for q in quiz.questions
    ]


def _tier_json(tier: RewardTier) -> dict[str, Any]:
    return {
        "basis": tier.basis.value,
        "low": tier.low,
        "high": tier.high,
        "points": tier.points,
        "xp": tier.xp,
        "item_key": tier.item_key,
    }


def _tiers(quiz: QuizRow) -> list[RewardTier]:
    return [
        RewardTier(
            basis=TierBasis(t["basis"]),
            low=int(t["low"]),
            high=int(t["high"]),
            points=int(t["points"]),
            xp=int(t["xp"]),
            item_key=t["item_key"],
        )
        for t in quiz.reward_tiers
    ]


def _quiz(row: QuizRow) -> Quiz:
    return Quiz(
        id=row.id,
        title=row.title,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        seconds_per_question=row.seconds_per_question,
        questions=tuple(quiz_questions(row)),
        reward_tiers=tuple(_tiers(row)),
        published_at=row.published_at,
        settled_at=row.settled_at,
        target_segment=row.target_segment,
    )


def _prize(row: QuizPrizeRow) -> QuizPrize:
    return QuizPrize(
        member_id=row.member_id,
        rank=row.rank,
        correct=row.correct,
        tier=row.tier,
        points=row.points,
        xp=row.xp,
        item_key=row.item_key,
        award_id=row.award_id,
        paid_at=row.paid_at,
    )
