"""The season simulation on both databases: a small season runs clean, its ledger verifies and
balances, every point minted is accounted for, the contests trade, judge their PK rounds and pay
every prize exactly once, the report has its sections with contest data, and the digest depends
on the seed alone."""

import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.checks import registered_checks
from api.cli.main import cli
from core.db import Database
from core.users.model import User
from engine.contests import settlement
from engine.contests.pk_rounds import pk_overview
from engine.contests.services import list_contests
from engine.market.model import Market
from engine.market.sessions import sessions_for
from engine.market.store_intraday import MinuteBarRow
from engine.trading.store import ContestRow, FillRow, OrderRow
from engine.uow import EngineUnitOfWork
from simulation import SimulationConfig, SimulationResult, simulate
from simulation.report import NO_CONTESTS, SECTIONS
from tests.conftest import BACKENDS

SMALL = SimulationConfig(members=30, teams=5, days=20, instruments=8, seed=11, progress=False)


@pytest.fixture(scope="module", params=BACKENDS)
def small_season(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimulationResult]:
    """The SMALL season, run once per backend (a run takes most of a minute): the clean-run test
    checks it, the digest test runs it again on a fresh database and compares."""
    databases = request.getfixturevalue(_databases_fixture(str(request.param)))
    url = databases.migrated()
    try:
        yield run(url, tmp_path_factory.mktemp("season"))
    finally:
        databases.drop(url)


def _databases_fixture(backend: str) -> str:
    return "sqlite_databases" if backend == "sqlite" else "postgres_databases"


@pytest.fixture
def fresh_db_url(
    request: pytest.FixtureRequest, small_season: SimulationResult
) -> Iterator[Callable[[], str]]:
    """Migrated, empty databases of the small season's backend, as many as the test asks for."""
    backend = "sqlite" if small_season.database_url.startswith("sqlite") else "postgresql"
    databases = request.getfixturevalue(_databases_fixture(backend))
    made: list[str] = []

    def make() -> str:
        made.append(databases.migrated())
        return made[-1]

    yield make
    for url in made:
        databases.drop(url)


def run(url: str, output: Path, **changes: object) -> SimulationResult:
    config = replace(SMALL, database_url=url, output=output, **changes)  # type: ignore[arg-type]
    return simulate(config, checks=registered_checks())


def test_a_small_season_runs_clean(small_season: SimulationResult) -> None:
    result = small_season
    data = result.data
    assert data.members == SMALL.members
    assert data.ledger.verify_errors == ()
    # Every registered invariant check ran in the audit and holds.
    assert [r.name for r in data.checks.results] == [c.name for c in registered_checks()]
    assert data.checks.ok, data.checks.failed
    assert data.ledger.trial_balance and not any(data.ledger.trial_balance.values())
    assert not any(data.ledger.pending_totals.values())  # every fulfilment hold resolved
    assert sum(data.engagement.check_ins) > SMALL.members * 10
    # Every point the ledger minted is one the simulation logged, by reason.
    assert sum(sum(series) for series in data.points.minted.values()) == data.ledger.minted
    assert sum(data.points.redeemed) == data.ledger.redeemed
    assert sum(data.points.expired) == data.ledger.expired
    assert data.content.certificates == data.content.registered > 0
    # The season's A/B test: members exposed on their first day (one who never came is not),
    # each in one arm, and the bonus charged to the campaign's budget.
    ab = data.experiment
    assert ab is not None and 0 < sum(v.members for v in ab.results.variants) <= data.members
    assert ab.campaign.spent == sum(data.points.minted.get("campaign", ())) > 0
    assert ab.campaign.spent + ab.campaign.remaining == ab.campaign.spec.budget
    # Weekly leagues closed every ended week and paid; the quiz ran and paid its tiers.
    assert data.leagues.weeks and all(w.rewards > 0 for w in data.leagues.weeks)
    assert data.points.minted.get("league") and data.points.minted.get("quiz")
    assert data.quiz.takers > 0 and data.quiz.prizes > 0
    assert data.content.final == data.content.certificates
    assert len(result.digest) == 64
    page = result.report_path.read_text(encoding="utf-8")
    for key, title in SECTIONS:
        assert f'<h2 id="{key}">{title}</h2>' in page
    assert NO_CONTESTS not in page  # every contest section has data
    assert page.count("data:image/png;base64,") >= 12
    assert_contests_played(result)
    assert_intraday_played(result)
    assert "Fills in the lunch break" in page and "no look-ahead" in page


def assert_contests_played(result: SimulationResult) -> None:
    """Both contests traded (refusals among the orders), their teams played every PK round,
    and settlement paid every prize exactly once: one ledger transfer per asset of each
    prize, under the prize's own award id, and a second settlement pays nothing."""
    data = result.data
    assert [c.name for c in data.contests] == ["A-share Championship", "US Equities Cup"]
    for contest in data.contests:
        assert contest.entrants > 0 and contest.orders_accepted > 0 and contest.fills > 0
        assert len(contest.final_returns) == contest.entrants
        assert contest.leaderboard and contest.equity_curves and contest.rank_history
    assert sum(sum(c.orders_rejected.values()) for c in data.contests) > 0
    assert len(data.pk) == 2 and all(pk.matches and pk.standings for pk in data.pk)
    assert data.points.minted.get("pk") and data.points.minted.get("prize")
    database = Database.connect(result.database_url)
    try:
        uow = EngineUnitOfWork(database.sessions)
        contests, _ = list_contests(uow, operator=True, limit=10)
        assert sorted(c.bar_interval for c in contests) == ["daily", "daily", "minute"]
        expected_transfers, award_ids = 0, set()
        for contest in contests:
            if contest.bar_interval == "daily":  # the minute contest has no PK rounds
                rounds = pk_overview(uow, contest.id).rounds
                assert len(rounds) == math.ceil(SMALL.days / SMALL.pk_every)
                assert all(r.judged for r in rounds)
            prizes = settlement.prize_list(uow, contest.id, operator=True).prizes
            assert prizes and all(p.paid_at is not None for p in prizes)
            expected_transfers += sum(
                (p.points > 0) + (p.xp > 0) + (p.item_key is not None) for p in prizes
            )
            award_ids |= {p.award_id for p in prizes}
            again = settlement.settle_contest(uow, contest.id)
            assert again.paid_now == 0 and again.already_paid == len(prizes)
        with uow.reading():
            paid = [
                t.id for t in uow.ledger.all_transfers() if t.id.startswith(("prize:", "pkprize:"))
            ]
        assert len(paid) == len(set(paid)) == expected_transfers
        assert {transfer_id.rsplit(":", 1)[0] for transfer_id in paid} == award_ids
    finally:
        database.dispose()


def assert_intraday_played(result: SimulationResult) -> None:
    """The minute contest ticked every minute of its session, its bots traded, and, read back
    from the database rather than from the phase's own counts: every order was accepted at
    the simulated time (not the wall clock), none accepted in the lunch break is a market
    order, and every fill's price lies within a bar of its symbol that started after the
    order was accepted (no fill at the bar current at submission, none at a price no later
    bar printed)."""
    day = result.data.intraday
    assert day.ran and len(day.days) == 1  # a small season trades one session
    assert day.bars_ticked == 240 and day.entrants > 0
    assert day.orders_placed > 0 and day.fills > 0 and day.orders_filled > 0
    assert (day.fills_in_break, day.fills_outside_bar, day.fills_before_acceptance) == (0, 0, 0)
    assert 0 < len(day.leaderboard) <= 5 and day.prizes_paid > 0
    database = Database.connect(result.database_url)
    try:
        with database.sessions() as session:
            contest = session.scalars(
                select(ContestRow).where(ContestRow.bar_interval == "minute")
            ).one()
            orders = {
                o.id: o
                for o in session.scalars(select(OrderRow).where(OrderRow.contest_id == contest.id))
            }
            fills = session.scalars(select(FillRow).where(FillRow.contest_id == contest.id)).all()
            stored = session.scalars(
                select(MinuteBarRow).where(MinuteBarRow.symbol.in_(contest.universe))
            ).all()
    finally:
        database.dispose()
    calendar = sessions_for(Market.CN)
    last = calendar.session(day.days[-1])
    assert last is not None and contest.intraday_bar == last.minutes()[-1]
    assert len(orders) == day.orders_placed and len(fills) == day.fills
    bars = defaultdict(list)
    for bar in stored:
        bars[bar.symbol].append(bar)
    for order in orders.values():
        accepted = order.created_at.astimezone(UTC)
        session_of = calendar.session(calendar.local_day(accepted))
        assert session_of is not None and session_of.day in day.days  # simulated time
        if session_of.in_break(accepted):
            assert order.type == "limit"  # a market order is refused in the lunch break
    for fill in fills:
        accepted = orders[fill.order_id].created_at.astimezone(UTC)
        later = [b for b in bars[fill.symbol] if b.day == fill.day and b.start > accepted]
        assert any(b.low <= fill.price <= b.high for b in later), fill


def test_the_digest_depends_on_the_seed_alone(
    small_season: SimulationResult, fresh_db_url: Callable[[], str], tmp_path: Path
) -> None:
    first = small_season
    again = run(fresh_db_url(), tmp_path / "b")
    other = run(fresh_db_url(), tmp_path / "c", seed=SMALL.seed + 1)
    assert first.digest == again.digest
    assert other.digest != first.digest
    assert first.data.points == again.data.points
    for mine, theirs in zip(first.data.contests, again.data.contests, strict=True):
        assert mine.leaderboard == theirs.leaderboard
        assert mine.final_returns == theirs.final_returns
        assert mine.orders_rejected == theirs.orders_rejected
    assert first.data.pk == again.data.pk


def test_a_database_in_use_is_refused(
    db_url: str, make_user: Callable[..., User], tmp_path: Path
) -> None:
    make_user()
    second = CliRunner().invoke(
        cli,
        ["simulate", "--database-url", db_url, "--output", str(tmp_path), "--no-progress"],
    )
    assert second.exit_code == 1
    assert "needs an empty database" in second.output


def test_the_command_prints_the_summary_and_the_digest(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            *("--members", "12", "--teams", "3", "--days", "10", "--market", "cn"),
            *("--seed", "3", "--output", str(tmp_path), "--no-progress"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "season.db").exists() and (tmp_path / "report.html").exists()
    lines = result.output.splitlines()
    assert any(line.startswith("ledger: trial balance") and "verify ok" in line for line in lines)
    assert f"invariant checks: all {len(registered_checks())} hold" in lines
    assert lines[-1].startswith("digest: ") and len(lines[-1]) == len("digest: ") + 64
