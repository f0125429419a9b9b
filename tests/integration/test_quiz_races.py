"""Quiz races on PostgreSQL with real threads: an answer at the very deadline against its own
time-out, many answers to one question, many starts of one attempt, and settlements at once:
each records (or pays) exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.errors import Conflict
from core.users.model import Role, User
from ledger import engagement
from ledger.quizzes import services as quizzes
from ledger.quizzes.store import QuizAnswerRow, QuizAttemptRow
from ledger.quizzes.uow import QuizUnitOfWork
from ledger.store.transfers import TransferRow
from tests import quiz_builders as build
from tests.concurrency import race
from tests.quiz_builders import CLOSES, OPENS

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only (overrides the two-backend fixture, so make_user uses it too)."""
    database = Database.connect(pg_url)
    yield database
    database.dispose()


@pytest.fixture
def quiz_id(database: Database, make_user: Callable[..., User]) -> int:
    uow = QuizUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    return build.quiz(uow, operator.id, build.bank(uow, operator.id))


def _answers(database: Database, member_id: int) -> list[QuizAnswerRow]:
    with database.sessions() as session:
        stmt = (
            select(QuizAnswerRow)
            .join(QuizAttemptRow, QuizAttemptRow.id == QuizAnswerRow.attempt_id)
            .where(QuizAttemptRow.member_id == member_id)
        )
        return list(session.scalars(stmt))


def _rules(outcomes: list[object]) -> list[str]:
    return [o.extensions["rule"] for o in outcomes if isinstance(o, Conflict)]


@pytest.mark.parametrize("round_", range(4))
def test_an_answer_at_the_deadline_races_its_time_out(
    database: Database, make_user: Callable[..., User], quiz_id: int, round_: int
) -> None:
    member = make_user().id
    uow = QuizUnitOfWork(database.sessions)
    quizzes.start_attempt(uow, quiz_id, member, now=OPENS)
    deadline = quizzes.current_question(uow, quiz_id, member, now=OPENS).deadline

    def act(i: int) -> object:
        mine = QuizUnitOfWork(database.sessions)
        if i == 0:  # right, and exactly at the deadline: on time
            return quizzes.answer(mine, quiz_id, member, position=0, selected=[0], now=deadline)
        after = deadline + timedelta(milliseconds=1)
        return quizzes.attempt_state(mine, quiz_id, member, now=after)  # records the time-out

    answered, _ = race(2, act)
    rows = _answers(database, member)
    assert [row.position for row in rows] == [0]
    if isinstance(answered, Exception):
        assert _rules([answered]) == ["already_answered"]
        assert rows[0].answered_at is None and not rows[0].correct
    else:
        assert answered.on_time and rows[0].correct and rows[0].answered_at == deadline


def test_concurrent_answers_to_one_question_record_one(
    database: Database, make_user: Callable[..., User], quiz_id: int
) -> None:
    member = make_user().id
    uow = QuizUnitOfWork(database.sessions)
    quizzes.start_attempt(uow, quiz_id, member, now=OPENS)
    quizzes.current_question(uow, quiz_id, member, now=OPENS)
    outcomes = race(
        6,
        lambda i: quizzes.answer(
            QuizUnitOfWork(database.sessions),
            quiz_id,
            member,
            position=0,
            selected=[i % 3],
            now=OPENS + timedelta(seconds=1),
        ),
    )
    recorded = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(recorded) == 1 and _rules(outcomes) == ["already_answered"] * 5, outcomes
    assert len(_answers(database, member)) == 1


def test_concurrent_starts_make_one_attempt(
    database: Database, make_user: Callable[..., User], quiz_id: int
) -> None:
    member = make_user().id
    outcomes = race(
        6,
        lambda i: quizzes.start_attempt(
            QuizUnitOfWork(database.sessions), quiz_id, member, now=OPENS
        ),
    )
    assert _rules(outcomes) == ["one_attempt"] * 5, outcomes
    with database.sessions() as session:
        count = session.scalar(select(func.count()).where(QuizAttemptRow.member_id == member))
    assert count == 1


def test_concurrent_settlements_pay_once(
    database: Database, make_user: Callable[..., User], quiz_id: int
) -> None:
    uow = QuizUnitOfWork(database.sessions)
    members = [make_user() for _ in range(4)]
    for right, member in zip([3, 2, 1, 0], members, strict=True):
        build.take(uow, quiz_id, member.id, right=right)
    outcomes = race(
        4, lambda i: quizzes.settle_quiz(QuizUnitOfWork(database.sessions), quiz_id, now=CLOSES)
    )
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(o.paid_now for o in outcomes) == 3
    assert all(o.settled_at == CLOSES for o in outcomes)
    points = [engagement.points_summary(uow, m.id).points.posted for m in members]
    assert points == [100, 30, 30, 0]
    with database.sessions() as session:
        paid = session.scalar(
            select(func.count()).where(TransferRow.reason == quizzes.PRIZE_REASON)
        )
    assert paid == 4  # first place: points and XP; second and third: points
