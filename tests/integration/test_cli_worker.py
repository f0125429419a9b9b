"""``paperleague worker --once`` on SQLite and PostgreSQL: it advances a due contest by a day
and expires old points, through the same services as the CLI; a second worker run skips what
ran, a restart does not expire twice, a replay contest walks at its pace and a live one catches
up every ended day."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from api.cli.main import cli
from core.clock import utc_now
from core.db import Database
from core.jobs.store import JobRunRow
from core.users.model import Role, User
from engine.contests import services as contests
from engine.contests.model import DataSource
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger import services as ledger_services
from ledger.earning import EarningRules
from ledger.model import ISSUANCE, POINTS, TransferRequest
from ledger.services import LedgerUnitOfWork
from tests import contest_builders as build


def test_worker_once_advances_a_contest_day_and_expires_points(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    engine_uow = EngineUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    today = utc_now().date()
    season = build.season(engine_uow, operator, starts_on=today, ends_on=today + timedelta(days=90))
    closed = build.contest(
        engine_uow, season, registration_closes_at=utc_now() - timedelta(hours=1)
    )
    manual = build.contest(engine_uow, season)  # no closing time: not the scheduler's
    ledger_uow = LedgerUnitOfWork(database.sessions)
    account = f"member:{make_user().id}:points"
    old = datetime.now(UTC) - timedelta(days=40)
    grant = TransferRequest("grant-old", ISSUANCE, account, POINTS, 100, "grant")
    ledger_services.transfer(ledger_uow, grant, now=old)
    engagement.set_earning_rules(
        ledger_uow, EarningRules(points_expiry_days=30), operator_id=operator.id
    )
    runner = CliRunner()
    args = ["worker", "--once", "--jobs", "contest.day,ledger.expire", "--database-url", db_url]

    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert f"contest.day contest:{closed.id}@" in first.output
    assert "expired 100 points from 1 members" in first.output
    assert "2 ran, 0 skipped, 0 failed" in first.output
    assert contests.get_contest(engine_uow, closed.id).clock_ticks == 1
    assert contests.get_contest(engine_uow, manual.id).clock_ticks == 0
    assert ledger_services.balance(ledger_uow, account, POINTS).available == 0

    # a restart the same day: the replay contest waits for its pace, the expiry is not rerun
    second = runner.invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert "0 ran, 0 skipped, 0 failed" in second.output
    assert contests.get_contest(engine_uow, closed.id).clock_ticks == 1
    third = runner.invoke(cli, [*args, "--replay-pace", "0"])
    assert third.exit_code == 0, third.output
    assert contests.get_contest(engine_uow, closed.id).clock_ticks == 2
    with database.sessions() as session:
        runs = session.scalars(select(JobRunRow).order_by(JobRunRow.id)).all()
    assert [(r.job, r.status) for r in runs] == [
        ("contest.day", "done"),
        ("ledger.expire", "done"),
        ("contest.day", "done"),
    ]
    assert ledger_services.verify(ledger_uow).ok


def test_worker_catches_up_every_ended_day_of_a_live_contest(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    engine_uow = EngineUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    today = utc_now().date()
    season = build.season(
        engine_uow,
        operator,
        days=5,
        data_source=DataSource.LIVE,
        replay_start=None,
        replay_end=None,
        starts_on=today,
        ends_on=today + timedelta(days=90),
    )
    days = build.uow_trading_days(engine_uow, list(season.universe))
    contest = build.contest(
        engine_uow,
        replace(season, replay_start=days[0], replay_end=days[-1]),
        registration_closes_at=utc_now() - timedelta(hours=1),
    )
    args = ["worker", "--once", "--jobs", "contest.day", "--database-url", db_url]
    # the worker was away for every stored day: each is its own window, run in order
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert f"{len(days)} ran, 0 skipped, 0 failed" in first.output
    state = contests.get_contest(engine_uow, contest.id)
    assert state.clock_ticks == len(days)
    again = CliRunner().invoke(cli, args)
    assert "0 ran, 0 skipped, 0 failed" in again.output
    with database.sessions() as session:
        bars = session.scalars(select(JobRunRow.bar).order_by(JobRunRow.id)).all()
    assert bars == [day.isoformat() for day in days]


def test_worker_refuses_an_unknown_job(db_url: str) -> None:
    result = CliRunner().invoke(
        cli, ["worker", "--once", "--jobs", "contest.day,nope", "--database-url", db_url]
    )
    assert result.exit_code == 2
    assert "nope" in result.output


def test_worker_once_seals_a_ledger_root_when_a_shard_head_moved(
    database: Database, db_url: str
) -> None:
    ledger_uow = LedgerUnitOfWork(database.sessions)
    grant = TransferRequest("grant-root", ISSUANCE, "member:1:points", POINTS, 5, "grant")
    ledger_services.transfer(ledger_uow, grant)
    args = ["worker", "--once", "--jobs", "ledger.root", "--database-url", db_url]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "root 1 sealed" in first.output and "1 ran" in first.output
    report = ledger_services.verify(ledger_uow)
    assert report.ok and report.roots == 1, report.errors
