"""Quiz competitions at the service layer on both databases: the bank's rules, scheduling,
one timed attempt per member, review, the leaderboard and settlement paying once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from core.db import Database
from core.errors import Conflict, NotFound, RuleViolation
from core.users.model import Role, User
from ledger import engagement
from ledger.quizzes import services as quizzes
from ledger.quizzes.model import QuestionKind, RewardTier, TierBasis
from ledger.quizzes.services import QuestionDraft, QuizSpec
from ledger.quizzes.uow import QuizUnitOfWork
from tests import quiz_builders as build
from tests.quiz_builders import CLOSES, OPENS, SECONDS


@pytest.fixture
def uow(database: Database) -> QuizUnitOfWork:
    return QuizUnitOfWork(database.sessions)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


def _rule(excinfo: pytest.ExceptionInfo[Exception]) -> tuple[str, str]:
    error = excinfo.value
    assert isinstance(error, RuleViolation | Conflict)
    return error.extensions["field"], error.extensions["rule"]


@pytest.mark.parametrize(
    ("kind", "options", "correct", "expected"),
    [
        (QuestionKind.SINGLE, ("only",), (0,), ("options", "min_items")),
        (QuestionKind.SINGLE, ("a", "b", "c"), (0, 1), ("correct", "single_correct")),
        (QuestionKind.MULTIPLE, ("a", "b"), (), ("correct", "min_items")),
        (QuestionKind.MULTIPLE, ("a", "b"), (0, 2), ("correct", "known_option")),
        (QuestionKind.SINGLE, ("a", "a"), (0,), ("options", "unique")),
    ],
)
def test_the_bank_refuses_broken_questions(
    uow: QuizUnitOfWork,
    operator: User,
    kind: QuestionKind,
    options: tuple[str, ...],
    correct: tuple[int, ...],
    expected: tuple[str, str],
) -> None:
    draft = QuestionDraft(kind=kind, text="Q?", options=options, correct=correct)
    with pytest.raises(RuleViolation) as excinfo:
        quizzes.create_question(uow, draft, operator_id=operator.id)
    assert _rule(excinfo) == expected
    assert quizzes.list_questions(uow, after=None, limit=10) == ([], None)


def test_bank_crud_and_pages(uow: QuizUnitOfWork, operator: User) -> None:
    ids = build.bank(uow, operator.id, count=5)
    first, following = quizzes.list_questions(uow, after=None, limit=3)
    assert [q.id for q in first] == ids[:3] and following == ids[2]
    rest, last = quizzes.list_questions(uow, after=following, limit=3)
    assert [q.id for q in rest] == ids[3:] and last is None
    draft = QuestionDraft(QuestionKind.SINGLE, "Edited?", ("x", "y"), (1,), "y it is", ("t",))
    assert quizzes.update_question(uow, ids[0], draft).correct == (1,)
    assert quizzes.get_question(uow, ids[0]).text == "Edited?"
    quizzes.delete_question(uow, ids[0])
    with pytest.raises(NotFound):
        quizzes.get_question(uow, ids[0])


def test_a_quiz_is_edited_until_it_opens_and_keeps_its_copy_of_questions(
    uow: QuizUnitOfWork, operator: User
) -> None:
    ids = build.bank(uow, operator.id)
    quiz_id = build.quiz(uow, operator.id, ids)
    spec = QuizSpec("Renamed", OPENS, CLOSES, SECONDS, tuple(ids[:2]))
    assert quizzes.update_quiz(uow, quiz_id, spec, now=OPENS - timedelta(seconds=1)).title == (
        "Renamed"
    )
    with pytest.raises(Conflict) as excinfo:
        quizzes.update_quiz(uow, quiz_id, spec, now=OPENS)
    assert _rule(excinfo) == ("quiz_id", "quiz_opened")
    quizzes.delete_question(uow, ids[0])  # the bank moves on; the quiz keeps its copy
    assert [q.id for q in quizzes.get_quiz(uow, quiz_id).questions] == ids[:2]


def test_a_quiz_refuses_unknown_questions_and_overlapping_tiers(
    uow: QuizUnitOfWork, operator: User
) -> None:
    ids = build.bank(uow, operator.id)
    with pytest.raises(RuleViolation) as excinfo:
        build.quiz(uow, operator.id, [*ids, 999])
    assert _rule(excinfo) == ("question_ids", "known_question")
    overlapping = (
        RewardTier(TierBasis.RANK, 1, 2, points=5),
        RewardTier(TierBasis.RANK, 2, 3, xp=1),
    )
    with pytest.raises(RuleViolation) as excinfo:
        build.quiz(uow, operator.id, ids, tiers=overlapping)
    assert _rule(excinfo) == ("reward_tiers", "overlapping")
    mixed = (RewardTier(TierBasis.RANK, 1, 1, points=5), RewardTier(TierBasis.SCORE, 3, 3, xp=1))
    with pytest.raises(RuleViolation) as excinfo:
        build.quiz(uow, operator.id, ids, tiers=mixed)
    assert _rule(excinfo) == ("reward_tiers", "mixed_kinds")


def test_one_attempt_per_member_and_only_while_open(
    uow: QuizUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    quiz_id = build.quiz(uow, operator.id, build.bank(uow, operator.id))
    member = make_user()
    with pytest.raises(Conflict) as excinfo:
        quizzes.start_attempt(uow, quiz_id, member.id, now=OPENS - timedelta(seconds=1))
    assert _rule(excinfo) == ("quiz_id", "quiz_not_open")
    quizzes.start_attempt(uow, quiz_id, member.id, now=OPENS)
    with pytest.raises(Conflict) as excinfo:
        quizzes.start_attempt(uow, quiz_id, member.id, now=OPENS)
    assert _rule(excinfo) == ("quiz_id", "one_attempt")
    with pytest.raises(Conflict) as excinfo:
        quizzes.start_attempt(uow, quiz_id, make_user().id, now=CLOSES)
    assert _rule(excinfo) == ("quiz_id", "quiz_closed")


def test_a_draft_is_invisible_to_members(uow: QuizUnitOfWork, operator: User) -> None:
    quiz_id = build.quiz(uow, operator.id, build.bank(uow, operator.id), publish=False)
    with pytest.raises(NotFound):
        quizzes.get_quiz(uow, quiz_id)
    with pytest.raises(NotFound):
        quizzes.start_attempt(uow, quiz_id, operator.id, now=OPENS)
    assert quizzes.get_quiz(uow, quiz_id, operator=True).published_at is None


def test_server_timing_deadline_and_timeouts(
    uow: QuizUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    quiz_id = build.quiz(uow, operator.id, build.bank(uow, operator.id))
    member = make_user()
    quizzes.start_attempt(uow, quiz_id, member.id, now=OPENS)
    with pytest.raises(Conflict) as excinfo:  # nothing served yet
        quizzes.answer(uow, quiz_id, member.id, position=0, selected=[0], now=OPENS)
    assert _rule(excinfo) == ("position", "not_served")
    served = quizzes.current_question(uow, quiz_id, member.id, now=OPENS)
    assert served.deadline == OPENS + timedelta(seconds=SECONDS)
    # fetching again serves the same question with the same clock
    assert quizzes.current_question(uow, quiz_id, member.id, now=OPENS + timedelta(seconds=5)) == (
        served
    )
    with pytest.raises(Conflict) as excinfo:  # the next one is not served before this one
        quizzes.answer(uow, quiz_id, member.id, position=1, selected=[0], now=OPENS)
    assert _rule(excinfo) == ("position", "not_served")
    at_deadline = quizzes.answer(
        uow, quiz_id, member.id, position=0, selected=[0], now=served.deadline
    )
    assert at_deadline.on_time
    with pytest.raises(Conflict) as excinfo:
        quizzes.answer(uow, quiz_id, member.id, position=0, selected=[0], now=served.deadline)
    assert _rule(excinfo) == ("position", "already_answered")
    second = quizzes.current_question(uow, quiz_id, member.id, now=served.deadline)
    late = second.deadline + timedelta(milliseconds=1)
    receipt = quizzes.answer(uow, quiz_id, member.id, position=1, selected=[0, 2], now=late)
    assert not receipt.on_time  # right options, late: wrong
    third = quizzes.current_question(uow, quiz_id, member.id, now=late)
    timed_out = third.deadline + timedelta(seconds=1)
    state = quizzes.attempt_state(uow, quiz_id, member.id, now=timed_out)  # records the timeout
    assert state.finished_at == third.deadline and state.score is not None
    assert [a.correct for a in state.review] == [True, False, False]
    assert [a.answered for a in state.review] == [True, True, False]
    assert state.score.correct == 1 and state.score.time_ms == 3 * SECONDS * 1000
    assert state.review[1].question.correct == (0, 2)
    assert state.review[1].question.explanation == "Because 1."
    with pytest.raises(Conflict) as excinfo:
        quizzes.current_question(uow, quiz_id, member.id, now=timed_out)
    assert _rule(excinfo) == ("quiz_id", "attempt_finished")


def test_review_is_withheld_until_finished_or_closed(
    uow: QuizUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    quiz_id = build.quiz(uow, operator.id, build.bank(uow, operator.id))
    member = make_user()
    quizzes.start_attempt(uow, quiz_id, member.id, now=OPENS)
    quizzes.current_question(uow, quiz_id, member.id, now=OPENS)
    quizzes.answer(uow, quiz_id, member.id, position=0, selected=[0], now=OPENS)
    during = quizzes.attempt_state(uow, quiz_id, member.id, now=OPENS)
    assert during.review == () and during.score is None and during.position == 1
    after_close = quizzes.attempt_state(uow, quiz_id, member.id, now=CLOSES)
    assert [a.position for a in after_close.review] == [0]
    assert after_close.score is not None and after_close.score.correct == 1


def test_leaderboard_orders_by_correct_then_time(
    uow: QuizUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    quiz_id = build.quiz(uow, operator.id, build.bank(uow, operator.id))
    slow, fast, weak = make_user(), make_user(), make_user()
    build.take(uow, quiz_id, slow.id, right=3, seconds_each=5)
    build.take(uow, quiz_id, fast.id, right=3, seconds_each=2)
    build.take(uow, quiz_id, weak.id, right=1, seconds_each=1)
    board = quizzes.leaderboard(uow, quiz_id, now=OPENS + timedelta(minutes=5))
    assert [p.score.member_id for p in board] == [fast.id, slow.id, weak.id]
    assert [p.rank for p in board] == [1, 2, 3]
    assert board[0].score.time_ms == 6000


def test_settlement_pays_the_tiers_once(
    uow: QuizUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    quiz_id = build.quiz(uow, operator.id, build.bank(uow, operator.id))
    members = [make_user() for _ in range(4)]
    for right, member in zip([3, 2, 1, 0], members, strict=True):
        build.take(uow, quiz_id, member.id, right=right)
    with pytest.raises(Conflict) as excinfo:
        quizzes.settle_quiz(uow, quiz_id, now=CLOSES - timedelta(seconds=1))
    assert _rule(excinfo) == ("quiz_id", "quiz_not_closed")
    first = quizzes.settle_quiz(uow, quiz_id, now=CLOSES)
    again = quizzes.settle_quiz(uow, quiz_id, now=CLOSES + timedelta(hours=1))
    assert (first.paid_now, first.already_paid) == (3, 0)
    assert (again.paid_now, again.already_paid) == (0, 3)
    assert first.settled_at == again.settled_at == CLOSES
    points = [engagement.points_summary(uow, m.id).points.posted for m in members]
    xp = [engagement.points_summary(uow, m.id).lifetime_xp for m in members]
    assert points == [100, 30, 30, 0] and xp == [10, 0, 0, 0]


def test_score_band_tiers(
    uow: QuizUnitOfWork, operator: User, make_user: Callable[..., User]
) -> None:
    tiers = (RewardTier(TierBasis.SCORE, 3, 3, points=50), RewardTier(TierBasis.SCORE, 2, 2, xp=5))
    quiz_id = build.quiz(uow, operator.id, build.bank(uow, operator.id), tiers=tiers)
    members = [make_user() for _ in range(3)]
    for right, member in zip([3, 3, 2], members, strict=True):
        build.take(uow, quiz_id, member.id, right=right)
    report = quizzes.settle_quiz(uow, quiz_id, now=CLOSES)
    assert sorted((p.member_id, p.tier) for p in report.prizes) == [
        (members[0].id, 0),
        (members[1].id, 0),
        (members[2].id, 1),
    ]
    assert engagement.points_summary(uow, members[2].id).lifetime_xp == 5
