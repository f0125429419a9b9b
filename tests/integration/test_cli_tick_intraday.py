"""``paperleague contest tick-intraday``: a replay minute contest ticked by hand through the
same service as the worker's ``contest.intraday`` job; a daily contest is refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from typer.testing import CliRunner

from api.cli.main import cli
from core.db import Database
from core.users.model import Role, User
from engine.contests import seasons
from engine.contests import services as contests
from engine.contests.model import DataSource
from engine.contests.seasons import SeasonDraft
from engine.contests.services import ContestDraft
from engine.market.intraday_services import install_synthetic_intraday
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.uow import EngineUnitOfWork
from tests.contest_builders import DISCLOSURES

runner = CliRunner()


def replay_minute_contest(
    database: Database, operator: User, *, sessions: int = 2, interval: str = "minute"
) -> tuple[int, list[date]]:
    """A minute contest of a replay season over ``sessions`` stored synthetic sessions."""
    uow = EngineUnitOfWork(database.sessions)
    done = install_synthetic_intraday(
        uow, Market.CN, count=2, seed=9, start=date(2024, 3, 4), sessions=sessions
    )
    days = list(done.days)
    today = date.today()
    season = seasons.create_season(
        uow,
        SeasonDraft(
            name="Replay minutes",
            timezone="Asia/Shanghai",
            starts_on=today - timedelta(days=1),
            ends_on=today + timedelta(days=60),
            market=Market.CN,
            universe=[i.symbol for i in done.instruments],
            data_source=DataSource.REPLAY,
            replay_start=days[0],
            replay_end=days[-1],
        ),
        operator_id=operator.id,
    )
    contest = contests.create_contest(
        uow,
        ContestDraft(
            season_id=season.id,
            title="Replay minute cup",
            trading_start=days[0],
            trading_end=days[-1],
            starting_cash=Decimal(1_000_000),
            disclosures=DISCLOSURES,
            bar_interval=interval,
        ),
    )
    return contest.id, days


def test_tick_intraday_walks_a_replay_minute_contest_and_refuses_a_daily_one(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    operator = make_user(Role.OPERATOR)
    contest, days = replay_minute_contest(database, operator)
    session = sessions_for(Market.CN).session(days[0])
    assert session is not None
    base = ["contest", "tick-intraday", str(contest), "--database-url", db_url]

    first = runner.invoke(cli, [*base, "--bars", "3"])
    assert first.exit_code == 0, first.output
    start = session.open.isoformat()
    assert f"3 minute bar(s) ({start}…" in first.output
    last = session.close - timedelta(minutes=1)
    through = runner.invoke(cli, [*base, "--bars", "390", "--through", last.isoformat()])
    assert through.exit_code == 0, through.output
    assert "237 minute bar(s)" in through.output and "1 session(s) closed" in through.output
    uow = EngineUnitOfWork(database.sessions)
    with uow.reading():
        row = uow.trading.contest(contest)
        assert row is not None and (row.intraday_bar, row.closed_day) == (last, days[0])
    again = runner.invoke(cli, [*base, "--through", last.isoformat()])
    assert "0 minute bar(s) (no bar due)" in again.output

    daily, _ = replay_minute_contest(database, operator, sessions=1, interval="daily")
    refused = runner.invoke(cli, ["contest", "tick-intraday", str(daily), "--database-url", db_url])
    assert refused.exit_code == 1
    assert "only a minute contest ticks intraday" in refused.output


def test_a_naive_through_is_read_as_utc(
    database: Database, db_url: str, make_user: Callable[..., User]
) -> None:
    contest, days = replay_minute_contest(database, make_user(Role.OPERATOR), sessions=1)
    session = sessions_for(Market.CN).session(days[0])
    assert session is not None
    naive = (session.open + timedelta(minutes=1)).replace(tzinfo=None)
    args = ["contest", "tick-intraday", str(contest), "--bars", "10", "--through"]
    result = runner.invoke(cli, [*args, naive.isoformat(), "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert "2 minute bar(s)" in result.output
