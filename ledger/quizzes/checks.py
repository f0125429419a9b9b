"""The quizzes' invariant: what an attempt stores (its position, whether it is finished, each
answer's on-time and correct flags) is what its recorded answers and the quiz's questions give."""

from __future__ import annotations

from ledger.quizzes import model
from ledger.quizzes.services import quiz_questions
from ledger.quizzes.store import QuizAnswerRow, QuizAttemptRow, QuizRow
from ledger.quizzes.uow import QuizUnitOfWork


def attempt_problems(uow: QuizUnitOfWork) -> list[str]:
    """One sentence per attempt or answer whose stored state its derivation contradicts."""
    problems: list[str] = []
    with uow.reading(snapshot=True):
        quizzes: dict[int, QuizRow] = {}
        for attempt in uow.quizzes.all_attempts():
            quiz = quizzes.get(attempt.quiz_id) or uow.quizzes.quiz(attempt.quiz_id)
            if quiz is None:
                continue  # the foreign key makes this impossible
            quizzes[quiz.id] = quiz
            problems += _attempt_problems(quiz, attempt, uow.quizzes.answers(attempt.id))
    return problems


def _attempt_problems(
    quiz: QuizRow, attempt: QuizAttemptRow, answers: list[QuizAnswerRow]
) -> list[str]:
    name = f"attempt {attempt.id} (quiz {quiz.id}, member {attempt.member_id})"
    problems: list[str] = []
    positions = [a.position for a in answers]
    if positions != list(range(len(answers))) or attempt.position != len(answers):
        problems.append(f"{name}: at position {attempt.position}, answers recorded {positions}")
    done = attempt.position >= len(quiz.questions)
    if done != (attempt.finished_at is not None):
        problems.append(f"{name}: finished_at {attempt.finished_at}, position {attempt.position}")
    questions = quiz_questions(quiz)
    for a in answers:
        if a.position >= len(questions):
            continue  # reported above
        in_time = a.answered_at is not None and model.on_time(
            a.served_at, a.answered_at, quiz.seconds_per_question
        )
        right = model.is_correct(questions[a.position], a.selected, in_time=in_time)
        if (a.on_time, a.correct) != (in_time, right):
            problems.append(
                f"{name} question {a.position}: stored on_time {a.on_time} correct {a.correct}, "
                f"its answer gives on_time {in_time} correct {right}"
            )
    return problems
