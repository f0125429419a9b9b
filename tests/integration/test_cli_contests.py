"""``paperleague contest clock``, ``tick``, ``settle`` and ``rules`` on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from typer.testing import CliRunner

from api.cli.main import cli
from core.clock import utc_now
from core.db import Database
from core.users.model import Role, User
from engine.contests import entries
from engine.contests import services as contests
from engine.contests.prize_table import RankRange
from engine.contests.spec import PrizeLine
from engine.uow import EngineUnitOfWork
from tests import contest_builders as build


def test_clock_and_tick_advance_due_contests(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    today = utc_now().date()
    season = build.season(uow, operator, starts_on=today, ends_on=today + timedelta(days=90))
    manual = build.contest(uow, season)  # no closing time: only an operator's call starts it
    closed = build.contest(uow, season, registration_closes_at=utc_now() - timedelta(hours=1))
    runner = CliRunner()

    result = runner.invoke(cli, ["contest", "tick", "--bars", "2", "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert f"contest {closed.id}: 2 bar(s)" in result.output
    assert f"contest {manual.id}" not in result.output

    result = runner.invoke(cli, ["contest", "clock", str(manual.id), "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert contests.get_contest(uow, manual.id).clock_ticks == 1
    assert contests.get_contest(uow, closed.id).clock_ticks == 2

    missing = runner.invoke(cli, ["contest", "clock", "999", "--database-url", db_url])
    assert missing.exit_code == 1
    assert "no contest 999" in missing.output


def test_settle_pays_once_and_refuses_an_unfinished_contest(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    today = utc_now().date()
    season = build.season(
        uow, operator, days=8, starts_on=today, ends_on=today + timedelta(days=90)
    )
    contest = build.contest(uow, season, prizes=[PrizeLine(RankRange(1, 1), points=100, xp=10)])
    member = make_user()
    entries.join_contest(uow, contest.id, member.id)
    runner = CliRunner()
    early = runner.invoke(cli, ["contest", "settle", str(contest.id), "--database-url", db_url])
    assert early.exit_code == 1 and "last trading day" in early.output
    runner.invoke(
        cli, ["contest", "clock", str(contest.id), "--bars", "50", "--database-url", db_url]
    )
    first = runner.invoke(cli, ["contest", "settle", str(contest.id), "--database-url", db_url])
    assert first.exit_code == 0, first.output
    assert "paid now 1" in first.output
    again = runner.invoke(cli, ["contest", "settle", str(contest.id), "--database-url", db_url])
    assert "paid now 0, already paid 1" in again.output


def test_rules_prints_the_official_rules_in_either_language(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    uow = EngineUnitOfWork(database.sessions)
    operator = make_user(Role.OPERATOR)
    today = utc_now().date()
    season = build.season(uow, operator, starts_on=today, ends_on=today + timedelta(days=90))
    contest = build.contest(uow, season, prizes=[PrizeLine(RankRange(1, 1), points=100)])
    runner = CliRunner()
    url = ["--database-url", db_url]
    zh = runner.invoke(cli, ["contest", "rules", str(contest.id), *url])
    assert zh.exit_code == 0, zh.output
    assert (
        zh.output.startswith(f"# {contest.title} 官方规则")
        and build.DISCLOSURES.organiser in zh.output
    )
    en = runner.invoke(cli, ["contest", "rules", str(contest.id), "--lang", "en", *url])
    assert "## Prizes" in en.output and "rank 1: 100 points" in en.output
    bad = runner.invoke(cli, ["contest", "rules", str(contest.id), "--lang", "fr", *url])
    assert bad.exit_code == 2
