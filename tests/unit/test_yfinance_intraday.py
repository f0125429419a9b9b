"""The yfinance one-minute feed against recorded Yahoo responses, offline (tests/yahoo.py):
UTC minute starts, Decimal prices, no minute in progress, one bad ticker isolated, backoff."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from yfinance.data import YfData

from engine.market.feeds import MinuteBar, QuoteFeed
from engine.market.model import Market
from engine.market.yfinance_intraday import YFinanceIntradayFeed
from tests.yahoo import FakeYahoo, recorded

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")

AAPL = recorded("aapl_1m_chart.json")  # 2024-01-08 09:30–09:35 New York; 09:34 has no trades
MOUTAI = recorded("moutai_1m_chart.json")  # 2024-01-08 09:30–09:32 Shanghai
RATE_LIMITED = recorded("too_many_requests.json")
DAY = datetime(2024, 1, 8, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def feed_on(
    charts: dict[str, list[dict[str, Any]]], clock: Clock, tmp_path: Path, **options: Any
) -> tuple[YFinanceIntradayFeed, FakeYahoo]:
    YfData.cache_get.cache_clear()  # yfinance's process-wide response cache
    fake = FakeYahoo(charts)
    feed = YFinanceIntradayFeed(
        session=fake, cache_dir=tmp_path, clock=clock, jitter=lambda: 0.0, **options
    )
    return feed, fake


def test_bars_start_on_utc_minutes_with_decimal_prices(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 1, 8, 14, 35, 30, tzinfo=UTC))
    feed, _ = feed_on({"AAPL": [AAPL], "600519.SS": [MOUTAI]}, clock, tmp_path)
    interface: QuoteFeed = feed  # mypy checks the protocol
    assert interface.name == "yfinance-1m"
    batch = feed.poll(["AAPL", "600519.SS"], DAY, DAY + timedelta(days=1))
    assert batch.errors == {}
    moutai = [b for b in batch.bars if b.symbol == "600519.SS"]
    # 09:30 in Shanghai is 01:30 UTC; in New York (EST) 14:30 UTC.
    assert [b.start for b in moutai] == [
        datetime(2024, 1, 8, 1, m, tzinfo=UTC) for m in (30, 31, 32)
    ]
    apple = [b for b in batch.bars if b.symbol == "AAPL"]
    assert apple[0] == MinuteBar(
        "AAPL",
        datetime(2024, 1, 8, 14, 30, tzinfo=UTC),
        Decimal("182.0850"),  # float32 noise (182.08500671386719) rounded away via str
        Decimal("182.50"),
        Decimal("181.92"),
        Decimal("182.37"),
        2311560,
    )
    # 09:34 had no trades (NaN): left out; 09:35 is the minute in progress: not a bar yet.
    assert [b.start.minute for b in apple] == [30, 31, 32, 33]
    assert [b.start for b in batch.bars] == sorted(b.start for b in batch.bars)
    assert feed.delay == timedelta(minutes=30)  # Yahoo: Shanghai and Shenzhen 30 minutes
    assert feed.delay_of("AAPL") == timedelta(0) and feed.delay_of("600519.SS") == feed.delay


def test_a_second_poll_asks_only_for_the_minutes_after_the_last_bar(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 1, 8, 14, 33, 10, tzinfo=UTC))
    feed, fake = feed_on({"AAPL": [AAPL]}, clock, tmp_path, markets=[Market.US])
    first = feed.poll(["AAPL"], DAY, DAY + timedelta(days=1))
    assert [b.start.minute for b in first.bars] == [30, 31, 32]
    assert feed.delay == timedelta(0)
    clock.now = datetime(2024, 1, 8, 14, 36, 5, tzinfo=UTC)
    second = feed.poll(["AAPL"], DAY, DAY + timedelta(days=1))
    assert [b.start.minute for b in second.bars] == [33, 35]
    last = [c for c in fake.chart_calls("AAPL") if c.params.get("interval") == "1m"][-1]
    assert last.params["period1"] == int(datetime(2024, 1, 8, 14, 33, tzinfo=UTC).timestamp())
    assert last.params["period2"] == int(datetime(2024, 1, 8, 14, 36, tzinfo=UTC).timestamp())


def test_one_bad_ticker_backs_off_with_jitter_and_never_breaks_the_others(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 1, 8, 14, 36, tzinfo=UTC))
    jitters = iter([0.0, 1.0, 0.5])
    YfData.cache_get.cache_clear()
    fake = FakeYahoo({"AAPL": [AAPL], "BAD": [RATE_LIMITED]})  # the last repeats
    feed = YFinanceIntradayFeed(
        session=fake,
        cache_dir=tmp_path,
        clock=clock,
        jitter=lambda: next(jitters),
        base_backoff=timedelta(seconds=10),
    )
    window = (DAY, DAY + timedelta(days=1))
    batch = feed.poll(["BAD", "AAPL"], *window)
    assert "Yahoo rate limit (HTTP 429)" in batch.errors["BAD"]
    assert {b.symbol for b in batch.bars} == {"AAPL"} and len(batch.bars) == 5
    assert feed.retry_at("BAD") == clock.now + timedelta(seconds=5)  # 10 s × (0.5 + 0/2)
    calls = len(fake.chart_calls("BAD"))
    skipped = feed.poll(["BAD", "AAPL"], *window)  # within the wait: not asked at all
    assert "backing off after 1 failures" in skipped.errors["BAD"]
    assert len(fake.chart_calls("BAD")) == calls and skipped.bars == ()
    clock.now += timedelta(seconds=5)
    again = feed.poll(["BAD"], *window)
    assert "HTTP 429" in again.errors["BAD"]
    assert feed.retry_at("BAD") == clock.now + timedelta(seconds=20)  # 20 s × (0.5 + 1/2)
    clock.now += timedelta(minutes=5)
    fake.charts["BAD"], fake.served["BAD"] = [AAPL], 0  # Yahoo answers again
    recovered = feed.poll(["BAD"], *window)
    assert recovered.errors == {} and feed.retry_at("BAD") is None


def test_an_unknown_symbol_is_reported_not_raised(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 1, 8, 14, 36, tzinfo=UTC))
    feed, _ = feed_on({"AAPL": [AAPL]}, clock, tmp_path)  # anything else: Yahoo's delisted
    batch = feed.poll(["ZZZNOPE", "AAPL"], DAY, DAY + timedelta(days=1))
    assert set(batch.errors) == {"ZZZNOPE"} and len(batch.bars) == 5
    with pytest.raises(ValueError, match="timezone-aware"):
        feed.poll(["AAPL"], datetime(2024, 1, 8), DAY)


def test_no_session_in_the_window_is_no_bars_and_no_error(tmp_path: Path) -> None:
    clock = Clock(datetime(2024, 1, 8, 14, 36, tzinfo=UTC))
    empty = copy.deepcopy(AAPL)
    feed, _ = feed_on({"AAPL": [empty]}, clock, tmp_path)
    batch = feed.poll(["AAPL"], DAY, datetime(2024, 1, 8, 14, 0, tzinfo=UTC))  # before the open
    assert batch.bars == () and batch.errors == {}
