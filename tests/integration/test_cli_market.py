"""``paperleague market``: import, fetch (offline Yahoo) and synth through the real CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import market as cli_market
from api.cli.main import cli
from core.db import Database
from engine.market.model import Board, Market, PriceSource
from engine.market.services import MarketUnitOfWork
from tests.yahoo import offline_source, recorded

runner = CliRunner()

CSV = """date,open,high,low,close,volume
2024-01-02,1688.00,1700.00,1660.10,1685.01,3215800
2024-01-03,1681.00,1681.00,1646.00,1647.00,3863700
"""


def market_uow(db_url: str) -> tuple[Database, MarketUnitOfWork]:
    database = Database.connect(db_url)
    return database, MarketUnitOfWork(database.sessions)


def test_import_stores_bars_and_infers_the_a_share_instrument(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "moutai.csv"
    path.write_text(CSV)
    args = ["market", "import", str(path), "--symbol", "600519.SS", "--name", "Kweichow Moutai"]
    result = runner.invoke(cli, [*args, "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert "stored 2 new bars for 600519.SS (CN, main)" in result.output
    again = runner.invoke(cli, [*args, "--database-url", db_url])
    assert "stored 0 new bars" in again.output
    database, uow = market_uow(db_url)
    with uow.reading():
        moutai = uow.market.require_instrument("600519.SS")
        assert (moutai.market, moutai.board, moutai.lot_size) == (Market.CN, Board.MAIN, 100)
    database.dispose()


def test_import_of_an_invalid_file_stores_nothing_and_exits_2(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(CSV + "2024-01-03,1650,1660,1640,1655,100\n")
    result = runner.invoke(
        cli,
        ["market", "import", str(path), "--symbol", "STAR1", "--market", "US"]
        + ["--database-url", db_url],
    )
    assert result.exit_code == 2
    assert "row 4" in result.output and "monotonic_dates" in result.output
    assert "nothing stored" in result.output
    database, uow = market_uow(db_url)
    with uow.reading():
        assert uow.market.instrument("STAR1") is None
    database.dispose()


def test_import_refuses_a_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.csv")
    result = runner.invoke(cli, ["market", "import", missing, "--symbol", "X"])
    assert result.exit_code == 2


def test_synth_installs_a_seeded_market(db_url: str) -> None:
    args = ["market", "synth", "--market", "CN", "--count", "8", "--seed", "3"]
    args += ["--start", "2024-01-01", "--days", "20", "--database-url", db_url]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "installed 8 CN instruments" in result.output and "160 bars" in result.output
    database, uow = market_uow(db_url)
    with uow.reading():
        instruments = uow.market.instruments(market=Market.CN)
        assert len(instruments) == 8 and all(i.symbol.startswith("SIM-") for i in instruments)
        days = uow.market.trading_days(
            [i.symbol for i in instruments], date(2024, 1, 1), date(2024, 12, 31)
        )
        assert len(days) == 20
    database.dispose()


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_fetch_reports_each_symbol_and_caches(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, fake = offline_source({"AAPL": [recorded("aapl_chart.json")]}, tmp_path)

    def offline(*, auto_adjust: bool) -> PriceSource:
        assert auto_adjust is False
        return source

    monkeypatch.setattr(cli_market, "make_source", offline)
    args = ["market", "fetch", "AAPL", "ZZZNOPE", "--start", "2024-01-01", "--end", "2024-01-07"]
    result = runner.invoke(cli, [*args, "--database-url", db_url])
    assert result.exit_code == 1, result.output  # one symbol failed
    assert "AAPL: 4 new bars (2024-01-01 .. 2024-01-07)" in result.output
    assert "ZZZNOPE: error: ZZZNOPE: Yahoo:" in result.output
    assert "yfinance: 4 bars stored, 1 of 2 failed" in result.output

    history_calls = len([c for c in fake.chart_calls("AAPL") if "period1" in c.params])
    cached = runner.invoke(cli, ["market", "fetch", "AAPL", *args[4:], "--database-url", db_url])
    assert cached.exit_code == 0, cached.output
    assert "AAPL: cached, nothing to fetch" in cached.output
    assert len([c for c in fake.chart_calls("AAPL") if "period1" in c.params]) == history_calls

    database, uow = market_uow(db_url)
    with uow.reading():
        apple = uow.market.require_instrument("AAPL")
        assert apple.name == "Apple Inc." and apple.source == "yfinance"
        assert len(uow.market.bars("AAPL", date(2024, 1, 1), date(2024, 1, 7))) == 4
    database.dispose()


def test_fetch_refuses_an_inverted_range(db_url: str) -> None:
    args = ["market", "fetch", "AAPL", "--start", "2024-02-01", "--end", "2024-01-01"]
    result = runner.invoke(cli, [*args, "--database-url", db_url])
    assert result.exit_code == 2
