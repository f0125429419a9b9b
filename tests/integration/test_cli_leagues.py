"""``paperleague leagues``: opens this week once, closes an ended week paying once, and refuses
an unknown week or one that has not ended."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from api.cli.main import cli
from core.clock import utc_now
from core.db import Database
from core.users.model import User
from engine.leagues import model
from engine.leagues import services as leagues
from engine.leagues.uow import LeagueUnitOfWork
from ledger import engagement
from tests.league_builders import earn


def test_open_and_close_weeks(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    uow = LeagueUnitOfWork(database.sessions)
    winner = make_user()
    past = leagues.open_week(uow, now=utc_now() - 2 * model.WEEK)
    earn(uow, winner.id, 10, at=past.starts_at + model.WEEK / 2)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["leagues", *args, "--database-url", db_url])
        return f"{result.exit_code} {result.output}"

    assert run("close-week", "999").startswith("1 ") and "no league week 999" in run(
        "close-week", "999"
    )
    first = run("close-week")
    assert first.startswith("0 ") and "paid now 1, already paid 0" in first, first
    assert "tier 1: +1 =0 -0" in first
    opened = run("open-week")
    assert opened.startswith("0 ") and "1 members in 1 cohorts" in opened, opened
    assert "already paid 1" in run("close-week", str(past.id))
    this_week = leagues.list_weeks(uow)[-1].id
    early = run("close-week", str(this_week))
    assert early.startswith("1 ") and "the week ends at" in early
    assert engagement.points_summary(uow, winner.id).points.posted == 30  # Bronze rank 1
    assert run("close-week") == "0 no ended week is left to close\n"
