"""Quiz competitions: operators keep the question bank and schedule quizzes; members take one
timed attempt each, then see their review and the leaderboard."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from api.http import audit_states as states
from api.http.audit import audited
from api.http.deps import CurrentUser, IdPath, OperatorUser, PageParams, QuizUow
from api.http.problems import problem_doc
from api.http.schemas.common import Page
from api.http.schemas.quizzes import (
    AnswerIn,
    AnswerReceiptOut,
    AttemptOut,
    LeaderboardOut,
    PlacedOut,
    QuestionIn,
    QuestionOut,
    QuizAdminOut,
    QuizIn,
    QuizOut,
    QuizSettlementOut,
    ServedQuestionOut,
)
from core.pagination import decode_cursor, encode_cursor
from ledger.quizzes import services as quizzes

router = APIRouter(
    prefix="/quizzes",
    tags=["quizzes"],
    responses={
        401: problem_doc("Not authenticated"),
        403: problem_doc("Accept the terms in force first (consent_required)"),
        404: problem_doc("No such quiz"),
    },
)
admin_router = APIRouter(
    prefix="/admin/quiz",
    tags=["admin: quizzes"],
    responses={401: problem_doc("Not authenticated"), 403: problem_doc("Operators only")},
)
NO_QUESTION: dict[int | str, dict[str, Any]] = {404: problem_doc("No such question")}
NO_QUIZ: dict[int | str, dict[str, Any]] = {404: problem_doc("No such quiz")}


def _next(following: int | None) -> str | None:
    return None if following is None else encode_cursor(following)


# --- operators: the bank ---------------------------------------------------------------------


@admin_router.post("/questions", status_code=status.HTTP_201_CREATED, response_model=QuestionOut)
@audited("quiz_question.create", subject="quiz_question:{result.id}", state=states.quiz_question)
def create_question(body: QuestionIn, operator: OperatorUser, uow: QuizUow) -> QuestionOut:
    """Add a single- or multiple-choice question to the bank."""
    return QuestionOut.of(quizzes.create_question(uow, body.to_draft(), operator_id=operator.id))


@admin_router.get("/questions", response_model=Page[QuestionOut])
def list_questions(_: OperatorUser, uow: QuizUow, page: PageParams) -> Page[QuestionOut]:
    """The bank by id, oldest first."""
    found, following = quizzes.list_questions(
        uow, after=decode_cursor(page.cursor), limit=page.limit
    )
    return Page(items=[QuestionOut.of(q) for q in found], next_cursor=_next(following))


@admin_router.get("/questions/{question_id}", response_model=QuestionOut, responses=NO_QUESTION)
def get_question(question_id: IdPath, _: OperatorUser, uow: QuizUow) -> QuestionOut:
    """One question of the bank with its answer."""
    return QuestionOut.of(quizzes.get_question(uow, question_id))


@admin_router.put("/questions/{question_id}", response_model=QuestionOut, responses=NO_QUESTION)
@audited("quiz_question.update", subject="quiz_question:{question_id}", state=states.quiz_question)
def put_question(
    question_id: IdPath, body: QuestionIn, _: OperatorUser, uow: QuizUow
) -> QuestionOut:
    """Replace a question (saved quizzes keep their copy)."""
    return QuestionOut.of(quizzes.update_question(uow, question_id, body.to_draft()))


@admin_router.delete(
    "/questions/{question_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NO_QUESTION
)
@audited("quiz_question.delete", subject="quiz_question:{question_id}", state=states.quiz_question)
def delete_question(question_id: IdPath, _: OperatorUser, uow: QuizUow) -> Response:
    """Remove a question from the bank (saved quizzes keep their copy)."""
    quizzes.delete_question(uow, question_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- operators: quizzes ----------------------------------------------------------------------


@admin_router.post("/quizzes", status_code=status.HTTP_201_CREATED, response_model=QuizAdminOut)
@audited("quiz.create", subject="quiz:{result.id}", state=states.quiz)
def create_quiz(body: QuizIn, operator: OperatorUser, uow: QuizUow) -> QuizAdminOut:
    """Schedule a quiz (a draft until published) from questions of the bank."""
    return QuizAdminOut.of(quizzes.create_quiz(uow, body.to_spec(), operator_id=operator.id))


@admin_router.get("/quizzes/{quiz_id}", response_model=QuizAdminOut, responses=NO_QUIZ)
def get_quiz_admin(quiz_id: IdPath, _: OperatorUser, uow: QuizUow) -> QuizAdminOut:
    """A quiz with its questions and answers (drafts too)."""
    return QuizAdminOut.of(quizzes.get_quiz(uow, quiz_id, operator=True))


@admin_router.put(
    "/quizzes/{quiz_id}",
    response_model=QuizAdminOut,
    responses={**NO_QUIZ, 409: problem_doc("The quiz has opened (`quiz_opened`)")},
)
@audited("quiz.update", subject="quiz:{quiz_id}", state=states.quiz)
def put_quiz(quiz_id: IdPath, body: QuizIn, _: OperatorUser, uow: QuizUow) -> QuizAdminOut:
    """Replace a quiz before it opens."""
    return QuizAdminOut.of(quizzes.update_quiz(uow, quiz_id, body.to_spec()))


@admin_router.post(
    "/quizzes/{quiz_id}/publish",
    response_model=QuizAdminOut,
    responses={**NO_QUIZ, 409: problem_doc("The quiz has closed (`quiz_closed`)")},
)
@audited("quiz.publish", subject="quiz:{quiz_id}", state=states.quiz)
def publish_quiz(quiz_id: IdPath, _: OperatorUser, uow: QuizUow) -> QuizAdminOut:
    """Show the quiz to members; safe to repeat."""
    return QuizAdminOut.of(quizzes.publish_quiz(uow, quiz_id))


@admin_router.post(
    "/quizzes/{quiz_id}/settlement",
    response_model=QuizSettlementOut,
    responses={**NO_QUIZ, 409: problem_doc("The quiz has not closed (`quiz_not_closed`)")},
)
@audited("quiz.settle", subject="quiz:{quiz_id}", state=states.quiz)
def settle_quiz(quiz_id: IdPath, _: OperatorUser, uow: QuizUow) -> QuizSettlementOut:
    """Freeze a closed quiz's prizes and pay the unpaid ones; safe to repeat (pays once)."""
    return QuizSettlementOut.of(quizzes.settle_quiz(uow, quiz_id))


# --- members ---------------------------------------------------------------------------------


@router.get("", response_model=Page[QuizOut])
def list_quizzes(_: CurrentUser, uow: QuizUow, page: PageParams) -> Page[QuizOut]:
    """Published quizzes, newest first."""
    found, following = quizzes.list_quizzes(uow, after=decode_cursor(page.cursor), limit=page.limit)
    return Page(items=[QuizOut.of(q) for q in found], next_cursor=_next(following))


@router.get("/{quiz_id}", response_model=QuizOut)
def get_quiz(quiz_id: IdPath, _: CurrentUser, uow: QuizUow) -> QuizOut:
    """A published quiz: window, timing, question count and reward tiers."""
    return QuizOut.of(quizzes.get_quiz(uow, quiz_id))


@router.post(
    "/{quiz_id}/attempt",
    status_code=status.HTTP_201_CREATED,
    response_model=AttemptOut,
    responses={409: problem_doc("Already attempted, not open yet or closed")},
)
def start_attempt(quiz_id: IdPath, user: CurrentUser, uow: QuizUow) -> AttemptOut:
    """Start the member's one attempt."""
    return AttemptOut.of(quizzes.start_attempt(uow, quiz_id, user.id))


@router.get("/{quiz_id}/attempt", response_model=AttemptOut)
def get_attempt(quiz_id: IdPath, user: CurrentUser, uow: QuizUow) -> AttemptOut:
    """The member's attempt; answers, correct options and explanations once finished."""
    return AttemptOut.of(quizzes.attempt_state(uow, quiz_id, user.id))


@router.get(
    "/{quiz_id}/attempt/question",
    response_model=ServedQuestionOut,
    responses={409: problem_doc("Every question answered, or the quiz closed")},
)
def current_question(quiz_id: IdPath, user: CurrentUser, uow: QuizUow) -> ServedQuestionOut:
    """The current question (options only); its clock starts when first served."""
    return ServedQuestionOut.of(quizzes.current_question(uow, quiz_id, user.id))


@router.post(
    "/{quiz_id}/attempt/answers",
    response_model=AnswerReceiptOut,
    responses={409: problem_doc("Not the served question, already answered, or closed")},
)
def answer(quiz_id: IdPath, body: AnswerIn, user: CurrentUser, uow: QuizUow) -> AnswerReceiptOut:
    """Answer the served question; after its deadline the answer counts as wrong."""
    return AnswerReceiptOut.of(
        quizzes.answer(uow, quiz_id, user.id, position=body.position, selected=body.selected)
    )


@router.get("/{quiz_id}/leaderboard", response_model=LeaderboardOut)
def leaderboard(quiz_id: IdPath, _: CurrentUser, uow: QuizUow) -> LeaderboardOut:
    """Finished attempts by correct answers, then total time (every attempt once closed)."""
    placed = quizzes.leaderboard(uow, quiz_id)
    return LeaderboardOut(quiz_id=quiz_id, items=[PlacedOut.placed(p) for p in placed])
