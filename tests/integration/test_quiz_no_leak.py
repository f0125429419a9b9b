"""Property: whatever a member does, and whenever, no member response before the attempt is
finished (or the quiz closed) carries a correct option or an explanation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from api.http.schemas.quizzes import (
    AnswerReceiptOut,
    AttemptOut,
    LeaderboardOut,
    PlacedOut,
    QuizOut,
    ServedQuestionOut,
)
from core.db import Database
from core.errors import DomainError
from core.users.model import Role, User
from ledger.quizzes import services as quizzes
from ledger.quizzes.uow import QuizUnitOfWork
from tests import quiz_builders as build
from tests.quiz_builders import OPENS

SECRET_KEYS = {"correct_options", "explanation", "is_correct"}
actions = st.lists(
    st.tuples(
        st.sampled_from(["fetch", "answer", "state", "board", "quiz"]),
        st.integers(0, 25),  # seconds the clock moves first
        st.lists(st.integers(0, 2), max_size=2, unique=True),
        st.integers(0, 3),  # the position answered
    ),
    max_size=12,
)


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _call(uow: QuizUnitOfWork, quiz_id: int, member: int, action: tuple[Any, ...], now: Any) -> Any:
    kind, _, selected, position = action
    if kind == "fetch":
        return ServedQuestionOut.of(quizzes.current_question(uow, quiz_id, member, now=now))
    if kind == "answer":
        receipt = quizzes.answer(
            uow, quiz_id, member, position=position, selected=selected, now=now
        )
        return AnswerReceiptOut.of(receipt)
    if kind == "state":
        return AttemptOut.of(quizzes.attempt_state(uow, quiz_id, member, now=now))
    if kind == "board":
        placed = quizzes.leaderboard(uow, quiz_id, now=now)
        return LeaderboardOut(quiz_id=quiz_id, items=[PlacedOut.placed(p) for p in placed])
    return QuizOut.of(quizzes.get_quiz(uow, quiz_id))


def test_no_member_response_reveals_answers_early(
    database: Database, make_user: Callable[..., User]
) -> None:
    uow = QuizUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    ids = build.bank(uow, operator.id)

    @settings(
        max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(actions)
    def run(steps: list[tuple[Any, ...]]) -> None:
        quiz_id = build.quiz(uow, operator.id, ids)
        member = make_user().id
        quizzes.start_attempt(uow, quiz_id, member, now=OPENS)
        now = OPENS
        for step in steps:
            now += timedelta(seconds=step[1])
            try:
                out: BaseModel = _call(uow, quiz_id, member, step, now)
            except DomainError as refused:
                assert "Because" not in refused.detail
                continue
            body = out.model_dump(mode="json")
            revealed = isinstance(out, AttemptOut) and (body["finished"] or body["closed"])
            if not revealed:
                assert not _keys(body) & SECRET_KEYS, body
                assert "Because" not in json.dumps(body), body

    run()
