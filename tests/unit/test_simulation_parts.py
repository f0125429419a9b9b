"""Pure parts of the season simulation: the calendar, the digest, the options, the report."""

import html
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import RuleViolation
from engine.market.model import Market
from engine.market.synthetic import synthetic_universe
from engine.trading.rules import rule_pack
from ledger.model import Balance
from simulation.bots.views import MarketHistory
from simulation.calendar import SeasonCalendar
from simulation.digest import season_digest
from simulation.model import (
    ContentStats,
    ContestReport,
    DailyEngagement,
    IntradayReport,
    LeaderRow,
    LedgerAudit,
    PkMatch,
    PkReport,
    PointsFlow,
    ReportData,
    Retention,
    SimulationConfig,
    TeamRow,
)
from simulation.report import FILL_RULE, NO_CONTESTS, write_report

MONDAY = date(2025, 1, 6)


def test_trading_days_close_the_calendar_days_since_the_last_one() -> None:
    calendar = SeasonCalendar(MONDAY, 12, pk_every=5, timezone="Asia/Shanghai")
    days = calendar.days()
    assert [d.trading_date.weekday() for d in days] == [0, 1, 2, 3, 4] * 2 + [0, 1]
    assert days[0].calendar_dates == (MONDAY,)
    assert [d.isoformat() for d in days[5].calendar_dates] == [
        "2025-01-11",
        "2025-01-12",
        "2025-01-13",
    ]
    covered = [c for d in days for c in d.calendar_dates]
    assert covered == list(calendar.calendar_dates)  # every calendar day exactly once
    assert [d.pk_round for d in days if d.pk_round] == [1, 2]
    assert [d.last for d in days].count(True) == 1 and days[-1].last
    assert calendar.rounds == 2
    assert calendar.round_of(date(2025, 1, 12)) == 1  # the weekend belongs to the round before
    assert calendar.round_of(days[-1].trading_date) == 2  # the tail joins the last round


def test_moments_are_local_times_given_in_utc() -> None:
    calendar = SeasonCalendar(MONDAY, 10, pk_every=5, timezone="Asia/Shanghai")
    moment = calendar.at(MONDAY, 8)
    assert moment.tzinfo is UTC
    assert (moment.day, moment.hour) == (6, 0)


def test_the_digest_is_canonical() -> None:
    balances = {
        ("member:1:points", "POINTS"): Balance(0, 10),
        ("system:issuance", "POINTS"): Balance(10, 0),
    }
    reordered = dict(reversed(list(balances.items())))
    standings = [("CN", 1, "ann", "0.12")]
    digest = season_digest(standings=standings, team_standings=[], balances=balances, transfers=1)
    assert digest == season_digest(
        standings=standings, team_standings=[], balances=reordered, transfers=1
    )
    changed = balances | {("member:1:points", "POINTS"): Balance(0, 11)}
    assert digest != season_digest(
        standings=standings, team_standings=[], balances=changed, transfers=1
    )
    assert digest != season_digest(
        standings=[("CN", 1, "bo", "0.12")], team_standings=[], balances=balances, transfers=1
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"members": 5}, "members"),
        ({"members": 20, "teams": 11}, "teams"),
        ({"days": 3}, "days"),
        ({"start": date(2025, 1, 5)}, "start"),
    ],
)
def test_options_no_season_can_run_with_are_refused(changes: dict, field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        SimulationConfig(**changes).validate()
    assert refused.value.field == field


def test_the_report_draws_the_contest_sections_when_they_have_data(tmp_path: Path) -> None:
    days = tuple(date(2025, 1, 6) + timedelta(days=n) for n in range(10))
    contest = ContestReport(
        name="A-share league",
        market=Market.CN,
        dates=days,
        equity_curves={"ann": tuple(100_000 + 500.0 * n for n in range(10))},
        final_returns=(0.05, -0.02, 0.11, 0.0),
        rank_history={"ann": (3, 2, 2, 1, 1, 1, 2, 1, 1, 1)},
        leaderboard=(LeaderRow(1, "ann", "Bulls", "0.1100", 0.11),),
    )
    pk = PkReport(
        contest="A-share league",
        matches=(PkMatch(1, "Bulls", "Bears", 0.02, -0.01, "home"),),
        standings=(TeamRow(1, "Bulls", 3, 1, 0, 0), TeamRow(2, "Bears", 0, 0, 0, 1)),
    )
    data = replace(_empty_season(days), contests=(contest,), pk=(pk,))
    page = write_report(data, tmp_path / "report.html").read_text(encoding="utf-8")
    assert NO_CONTESTS not in page
    for text in ("A-share league", "Bulls", "Bears", "11.00%"):
        assert text in page
    assert page.count("data:image/png;base64,") >= 10


def _empty_season(days: tuple[date, ...]) -> ReportData:
    zeros = tuple(0 for _ in days)
    return ReportData(
        title="test season",
        engagement=DailyEngagement(days, zeros, zeros, zeros, {0: 1}, 0),
        points=PointsFlow(days, {"checkin": zeros}, zeros, zeros),
        funnels=(),
        retention=Retention((1, 2), (1.0, 0.5), (1.0, 0.5)),
        content=ContentStats(0, {}, 0, 0, 0, 0, 0, 0, 0),
        ledger=LedgerAudit(0, (), {"POINTS": 0}, {"POINTS": 0}, 0, 0, 0),
        members=1,
        referrals=0,
    )


def test_the_intraday_section_shows_the_fill_rule_the_invariants_and_the_top_five(
    tmp_path: Path,
) -> None:
    days = tuple(date(2025, 1, 6) + timedelta(days=n) for n in range(10))
    intraday = IntradayReport(
        title="Sprint",
        days=(date(2025, 1, 16),),
        symbols=4,
        entrants=20,
        bars_ticked=240,
        orders_placed=31,
        market_orders=20,
        limit_orders=11,
        orders_refused={"session_closed": 2},
        fills=57,
        orders_filled=25,
        orders_expired=6,
        leaderboard=(LeaderRow(1, "ann", None, "0.700%", 0.007),),
        seconds=4.25,
    )
    page = write_report(
        replace(_empty_season(days), intraday=intraday), tmp_path / "report.html"
    ).read_text(encoding="utf-8")
    section = page.split('<h2 id="intraday">', 1)[1].split("<h2 ", 1)[0]
    for text in (FILL_RULE, "Sprint", "240", "session_closed", "ann", "0.700%", "4.2 s wall"):
        assert html.escape(text, quote=False) in section or text in section, text
    assert "<td>Fills in the lunch break</td><td>0</td>" in section
    empty = write_report(_empty_season(days), tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "No intraday contest ran" in empty


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=12))
def test_a_market_history_takes_minute_bars_only_in_order(steps: list[tuple[int, int]]) -> None:
    """Bars are recorded strictly in (day, minute) order; a bar at or before the last one is
    refused and leaves the history as it was."""
    instrument = synthetic_universe(Market.CN, 1, seed=1)[0]
    history = MarketHistory([instrument], rule_pack(Market.CN))
    last: tuple[date, datetime] | None = None
    recorded = 0
    for day_offset, minute in steps:
        day = MONDAY + timedelta(days=day_offset)
        at = datetime(day.year, day.month, day.day, 1, 30, tzinfo=UTC) + timedelta(minutes=minute)
        key = (day, at)
        if last is None or key > last:
            view = history.record(day, {instrument.symbol: Decimal(10 + recorded)}, at=at)
            recorded += 1
            last = key
            assert view.days == recorded and view.day == day
        else:
            with pytest.raises(ValueError):
                history.record(day, {instrument.symbol: Decimal(1)}, at=at)
            assert history.view().days == recorded
