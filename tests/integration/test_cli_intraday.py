"""``paperleague market intraday``: synthetic sessions and a recorded tape through the real CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from api.cli.main import cli
from core.db import Database
from engine.market.model import Market
from engine.market.services import MarketUnitOfWork

runner = CliRunner()

# Two minutes of Apple on the Thanksgiving half day (14:30 UTC is 09:30 in New York).
TAPE = """symbol,start,open,high,low,close,volume
AAPL,2024-11-29T14:30:00+00:00,234.81,235.10,234.50,235.00,120000
AAPL,2024-11-29T14:31:00+00:00,235.00,235.40,234.90,235.30,80000
"""


def test_intraday_stores_sessions_and_their_daily_bars(db_url: str) -> None:
    args = ["market", "intraday", "--market", "CN", "--count", "2", "--seed", "4"]
    args += ["--start", "2024-09-30", "--sessions", "2", "--database-url", db_url]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    # 30 September, then National Day week: the next session is 8 October.
    assert "960 new minute bars, 4 new daily bars (2024-09-30 .. 2024-10-08)" in result.output
    database = Database.connect(db_url)
    uow = MarketUnitOfWork(database.sessions)
    with uow.reading():
        symbols = [i.symbol for i in uow.market.instruments(market=Market.CN)]
        days = uow.market.trading_days(symbols, date(2024, 9, 1), date(2024, 10, 31))
    database.dispose()
    assert days == [date(2024, 9, 30), date(2024, 10, 8)]


def test_intraday_stores_a_tape_and_refuses_a_broken_one(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "aapl.csv"
    path.write_text(TAPE)
    result = runner.invoke(
        cli, ["market", "intraday", "--tape", str(path), "--database-url", db_url]
    )
    assert result.exit_code == 0, result.output
    assert "2 new minute bars, 1 new daily bars (2024-11-29 .. 2024-11-29)" in result.output
    database = Database.connect(db_url)
    uow = MarketUnitOfWork(database.sessions)
    with uow.reading():
        (bar,) = uow.market.bars("AAPL", date(2024, 11, 29), date(2024, 11, 29))
    database.dispose()
    assert (str(bar.open), str(bar.high), str(bar.close), bar.volume) == (
        "234.81",
        "235.40",
        "235.30",
        200000,
    )
    night = tmp_path / "night.csv"
    night.write_text(TAPE.replace("T14:31", "T23:31"))
    refused = runner.invoke(
        cli, ["market", "intraday", "--tape", str(night), "--database-url", db_url]
    )
    assert refused.exit_code == 1 and "closed" in refused.output
