"""``paperleague quiz settle``: pays a closed quiz's tiers once; refuses an open or unknown one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from click.testing import Result
from typer.testing import CliRunner

from api.cli.main import cli
from core.clock import utc_now
from core.db import Database
from core.users.model import Role, User
from ledger import engagement
from ledger.quizzes import services as quizzes
from ledger.quizzes.services import QuizSpec
from ledger.quizzes.uow import QuizUnitOfWork
from tests import quiz_builders as build


def test_settle_pays_once_and_refuses_an_open_quiz(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    uow = QuizUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    ids = build.bank(uow, operator.id)
    closed = build.quiz(uow, operator.id, ids)  # closed long before the real clock
    winner = make_user()
    build.take(uow, closed, winner.id, right=3)
    now = utc_now()
    spec = QuizSpec("Later", now, now + timedelta(days=1), 20, tuple(ids))
    still_open = quizzes.create_quiz(uow, spec, operator_id=operator.id).id
    quizzes.publish_quiz(uow, still_open)
    runner = CliRunner()

    def settle(quiz_id: int) -> Result:
        return runner.invoke(cli, ["quiz", "settle", str(quiz_id), "--database-url", db_url])

    early = settle(still_open)
    assert early.exit_code == 1 and "it is settled after" in early.output
    missing = settle(999)
    assert missing.exit_code == 1 and "no quiz 999" in missing.output
    first = settle(closed)
    assert first.exit_code == 0 and "paid now 1, already paid 0" in first.output
    again = settle(closed)
    assert "paid now 0, already paid 1" in again.output
    assert engagement.points_summary(uow, winner.id).points.posted == 100
