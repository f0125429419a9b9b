"""Pure parts of the season simulation: the calendar, the digest, the options, the report."""

from dataclasses import replace
from datetime import UTC, date, timedelta
from pathlib import Path

import pytest

from core.errors import RuleViolation
from engine.market.model import Market
from ledger.model import Balance
from simulation.calendar import SeasonCalendar
from simulation.digest import season_digest
from simulation.model import (
    ContentStats,
    ContestReport,
    DailyEngagement,
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
from simulation.report import NO_CONTESTS, write_report

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
