"""YFinanceSource against recorded Yahoo responses, offline: yfinance's own code runs, only
the HTTP layer is replayed (tests/yahoo.py)."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import platformdirs
import pytest
import yfinance.cache

from engine.market.model import (
    Bar,
    Board,
    InvalidBars,
    Market,
    MarketDataUnavailable,
    UnknownSymbol,
)
from tests.yahoo import offline_source, recorded

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

AAPL = recorded("aapl_chart.json")
RATE_LIMITED = recorded("too_many_requests.json")
DELISTED = recorded("delisted_chart.json")
JAN2, JAN5, JAN8 = date(2024, 1, 2), date(2024, 1, 5), date(2024, 1, 8)


def test_daily_bars_parse_yahoos_chart_into_decimal_bars(tmp_path: Path) -> None:
    source, fake = offline_source({"AAPL": [AAPL]}, tmp_path)
    bars = source.daily_bars("AAPL", JAN2, JAN5)
    assert [b.day for b in bars] == [JAN2, date(2024, 1, 3), date(2024, 1, 4), JAN5]
    # Yahoo sends float32 noise (187.14999389648438): via str, rounded to 4 places.
    assert bars[0] == Bar(
        "AAPL",
        JAN2,
        Decimal("187.15"),
        Decimal("188.44"),
        Decimal("183.885"),
        Decimal("185.64"),
        82488700,
    )
    assert bars[2].high == Decimal("183.0872")
    assert all(isinstance(b.volume, int) for b in bars)
    assert source.name == "yfinance"
    apple = source.describe("AAPL")
    assert apple is not None and apple.name == "Apple Inc." and apple.market is Market.US
    # The request asked for the inclusive range: yfinance's end is exclusive, so end + 1 day.
    (history,) = [c for c in fake.chart_calls("AAPL") if "period1" in c.params]
    assert history.params["period2"] - history.params["period1"] == 4 * 86400


def test_auto_adjust_is_explicit_and_names_the_source(tmp_path: Path) -> None:
    adjusted, _ = offline_source({"AAPL": [AAPL]}, tmp_path, auto_adjust=True)
    assert adjusted.name == "yfinance-adjusted"
    bars = adjusted.daily_bars("AAPL", JAN2, JAN2)
    # Adjusted close from Yahoo's adjclose series; OHLC scaled by the same factor.
    assert bars[0].close == Decimal("184.9389")
    assert bars[0].open < Decimal("187.15")


def test_a_range_without_sessions_is_empty_not_an_error(tmp_path: Path) -> None:
    source, _ = offline_source({"AAPL": [AAPL]}, tmp_path)
    assert source.daily_bars("AAPL", date(2024, 1, 6), date(2024, 1, 7)) == []  # a weekend


def test_rate_limit_is_retried_with_exponential_backoff(tmp_path: Path) -> None:
    sleeps: list[float] = []
    # yfinance itself retries a 429 once with its other cookie strategy: two chart calls
    # per attempt. Four 429s fail two attempts; the third succeeds.
    source, fake = offline_source(
        {"AAPL": [RATE_LIMITED] * 4 + [AAPL]}, tmp_path, sleep=sleeps.append, base_delay=1.5
    )
    bars = source.daily_bars("AAPL", JAN2, JAN5)
    assert len(bars) == 4
    assert sleeps == [1.5, 3.0]
    assert fake.served["AAPL"] >= 5


def test_rate_limit_exhausted_is_market_data_unavailable(tmp_path: Path) -> None:
    sleeps: list[float] = []
    source, _ = offline_source(
        {"AAPL": [RATE_LIMITED]}, tmp_path, sleep=sleeps.append, max_attempts=3
    )
    with pytest.raises(MarketDataUnavailable) as caught:
        source.daily_bars("AAPL", JAN2, JAN5)
    assert caught.value.symbol == "AAPL"
    assert "AAPL" in caught.value.detail and "429" in caught.value.detail
    assert sleeps == [2.0, 4.0]  # no sleep after the last attempt


def test_unknown_symbol_is_named(tmp_path: Path) -> None:
    source, _ = offline_source({}, tmp_path)  # every chart answers "No data found"
    with pytest.raises(UnknownSymbol) as caught:
        source.daily_bars("ZZZNOPE", JAN2, JAN5)
    assert caught.value.symbol == "ZZZNOPE"
    assert "ZZZNOPE" in caught.value.detail


def test_delisted_symbol_with_a_known_timezone_reports_yahoos_reason(tmp_path: Path) -> None:
    # A symbol yfinance met before (its timezone is cached) whose prices are now gone.
    source, _ = offline_source({"GONE": [DELISTED]}, tmp_path)
    yfinance.cache.get_tz_cache().store("GONE", "America/New_York")
    with pytest.raises(UnknownSymbol) as caught:
        source.daily_bars("GONE", JAN2, JAN5)
    assert caught.value.detail == "GONE: Yahoo: No data found, symbol may be delisted"


def test_fetch_many_isolates_a_bad_ticker(tmp_path: Path) -> None:
    source, _ = offline_source({"AAPL": [AAPL], "MSFT": [AAPL]}, tmp_path)
    results = source.fetch_many(["AAPL", "ZZZNOPE", "MSFT"], JAN2, JAN8)
    assert list(results) == ["AAPL", "ZZZNOPE", "MSFT"]
    assert isinstance(results["ZZZNOPE"], UnknownSymbol)
    aapl, msft = results["AAPL"], results["MSFT"]
    assert isinstance(aapl, list) and len(aapl) == 5
    assert isinstance(msft, list) and [b.symbol for b in msft] == ["MSFT"] * 5


def test_inconsistent_yahoo_data_is_refused(tmp_path: Path) -> None:
    broken = copy.deepcopy(AAPL)
    quote = broken["body"]["chart"]["result"][0]["indicators"]["quote"][0]
    quote["high"][1] = 100.0  # below that day's low
    source, _ = offline_source({"AAPL": [broken]}, tmp_path)
    with pytest.raises(InvalidBars) as caught:
        source.daily_bars("AAPL", JAN2, JAN5)
    assert caught.value.rule == "high_low" and "AAPL" in caught.value.detail


def test_cn_symbols_are_described_as_a_shares(tmp_path: Path) -> None:
    moutai = copy_with_meta(
        AAPL,
        symbol="600519.SS",
        currency="CNY",
        longName="Kweichow Moutai Co., Ltd.",
        exchangeTimezoneName="Asia/Shanghai",
    )
    source, _ = offline_source({"600519.SS": [moutai]}, tmp_path)
    source.daily_bars("600519.SS", JAN2, JAN5)
    described = source.describe("600519.SS")
    assert described is not None
    assert (described.market, described.board, described.lot_size, described.currency) == (
        Market.CN,
        Board.MAIN,
        100,
        "CNY",
    )


def test_yfinance_caches_live_in_a_private_directory(tmp_path: Path) -> None:
    source, _ = offline_source({"AAPL": [AAPL]}, tmp_path)
    source.daily_bars("AAPL", JAN2, JAN5)
    # The first source of the process chose the directory (yfinance opens its caches once).
    location = Path(yfinance.cache._TzDBManager.get_location())
    assert location == Path(source.cache_dir)
    assert location != Path(platformdirs.user_cache_dir()) / "py-yfinance"
    assert (location / "tkr-tz.db").exists()


def copy_with_meta(recording: dict[str, Any], **meta: object) -> dict[str, Any]:
    changed = copy.deepcopy(recording)
    changed["body"]["chart"]["result"][0]["meta"].update(meta)
    return changed
