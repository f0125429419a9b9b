"""The season simulation's orchestrator: ``simulate(config, checks=...) -> SimulationResult``.

It installs the synthetic market, then walks the season one trading day at a time and hands
each day to the phases in order: sign-ups, engagement (the calendar days the trading day
closes), contests (trading at the close, PK rounds), authors (articles, weekly anchoring). At the
end it settles, audits the ledger, runs the invariant checks, fingerprints the outcome and
writes the operator report.
Every write goes through the services the HTTP API uses; every timestamp comes from the
season's calendar; every random draw from a stream seeded by ``config.seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contracts.checks import ChainContext
from contracts.verification import ChainReader
from core import migrations
from core.checks import Check
from core.db import Database
from core.errors import Conflict
from core.users.services import list_users
from engine.market.services import MarketUnitOfWork, install_synthetic
from ledger import services as ledger_services
from simulation.audit import LedgerVerification, audit_checks, ledger_audit, with_verification
from simulation.authors import AuthorsPhase
from simulation.calendar import SeasonCalendar
from simulation.contest_outcome import ContestOutcome
from simulation.contest_phase import ContestPhase
from simulation.context import Phase, SimulationContext, Timings
from simulation.digest import season_digest
from simulation.engagement_phase import EngagementPhase
from simulation.intraday_phase import IntradayPhase
from simulation.league_phase import LeaguePhase
from simulation.model import (
    MARKET_TIMEZONE,
    PointsFlow,
    ReportData,
    Retention,
    SimulationConfig,
    SimulationResult,
)
from simulation.population import Population
from simulation.quiz_phase import QuizPhase
from simulation.report import AUDITED, SECTIONS, draw_sections, write_report

REPORT_NAME = "report.html"
DATABASE_NAME = "season.db"


def simulate(
    config: SimulationConfig, *, checks: Sequence[Check[ChainContext]]
) -> SimulationResult:
    """Run one season as ``config`` says; see the module docstring. ``checks``: the invariant
    checks the audit runs (``api.checks.registered_checks()``)."""
    config = config.validate()
    config.output.mkdir(parents=True, exist_ok=True)
    url = config.database_url or _fresh_sqlite(config.output / DATABASE_NAME)
    timings = Timings()
    # Its own SQLite file is the run's scratch space: no syncs to disk (see ``make_engine``).
    database = Database.connect(url, scratch=config.database_url is None)
    try:
        with timings("setup"):
            migrations.upgrade(database.engine)
            sim = _context(config, database, timings)
            _require_empty(sim)
            _install_market(sim)
        outcome, data, verification, chain = _season(sim, url, timings)
        with timings("report"):  # while another process verifies the ledger
            drawn = draw_sections(data, (key for key, _ in SECTIONS if key not in AUDITED))
        with timings("audit"):
            # The checks before the ledger's run while the other process still verifies.
            checked = audit_checks(checks, database, chain, verification)
            verified = with_verification(data.ledger, verification.result())
            data = replace(data, ledger=verified, checks=checked)
        with timings("digest"):
            digest = season_digest(
                standings=outcome.standings,
                team_standings=outcome.team_standings,
                balances=_balances(sim),
                transfers=data.ledger.transfers,
            )
        with timings("report"):
            report = write_report(data, config.output / REPORT_NAME, drawn=drawn)
    finally:
        database.dispose()
    return SimulationResult(config, digest, report, url, data, dict(timings.seconds))


def _context(config: SimulationConfig, database: Database, timings: Timings) -> SimulationContext:
    first_market = config.market.markets[0]
    calendar = SeasonCalendar(
        config.start, config.days, pk_every=config.pk_every, timezone=MARKET_TIMEZONE[first_market]
    )
    return SimulationContext(config, database, calendar, timings)


def _season(
    sim: SimulationContext, url: str, timings: Timings
) -> tuple[ContestOutcome, ReportData, LedgerVerification, ChainReader]:
    population, engagement = Population(), EngagementPhase()
    contests, authors, league = ContestPhase(), AuthorsPhase(), LeaguePhase()
    quiz, intraday = QuizPhase(), IntradayPhase(contests)
    # The minute contest trades its sessions after the daily contests' clocks of the same day.
    daily: list[Phase] = [population, engagement, contests, intraday, authors, quiz, league]
    with _progress(sim.config.progress) as progress:
        task = progress.add_task("setting up the season", total=len(daily))
        for phase in daily:
            with timings(phase.name):
                phase.setup(sim)
            progress.advance(task)
        authors.use_symbols([i.symbol for universe in sim.instruments.values() for i in universe])
        days = sim.calendar.days()
        task = progress.add_task("trading days", total=len(days))
        for day in days:
            for phase in daily:
                with timings(phase.name):
                    phase.on_day(sim, day)
            progress.advance(task)
        # Settlement first, so members can spend their prizes; the last anchors after that.
        # Leagues close the weeks ended by the season's last day before members spend.
        ending: list[Phase] = [contests, league, engagement, authors, population]
        task = progress.add_task("settling the season", total=len(ending) + 1)
        for phase in ending:
            with timings(phase.name):
                phase.finish(sim)
            progress.advance(task)
        with timings("audit"):
            verification = LedgerVerification(url)  # every write is in: verify meanwhile
            outcome = contests.outcome(sim)
            data = ReportData(
                title=_title(sim),
                engagement=engagement.daily(sim),
                points=_points_flow(sim),
                funnels=engagement.funnels(),
                retention=_retention(sim),
                content=authors.stats(sim),
                ledger=ledger_audit(sim.ledger),  # verified after the plots
                members=sim.signed_up,
                referrals=sim.referrals,
                contests=outcome.contests,
                pk=outcome.pk,
                experiment=engagement.experiment(),
                leagues=league.report(sim),
                quiz=quiz.report(),
                intraday=intraday.report(sim),
            )
        progress.advance(task)
    return outcome, data, verification, authors.reader()


# ---------------------------------------------------------------------------------------------
# The contest phase (simulation.contest_phase.ContestPhase) plugs in above, in ``daily``
# and ``ending``: setup before the first trading day, on_day after each close, finish (settlement)
# before the end-of-season redemptions. It reads ``sim.instruments`` installed here.
# ---------------------------------------------------------------------------------------------


def _install_market(sim: SimulationContext) -> None:
    """The season's synthetic universe per market, bars for every trading day."""
    uow = MarketUnitOfWork(sim.database.sessions)
    for market in sim.config.market.markets:
        sim.instruments[market] = install_synthetic(
            uow,
            market,
            count=sim.config.instruments,
            seed=sim.config.seed,
            start=sim.config.start,
            days=sim.config.days,
        )


def _fresh_sqlite(path: Path) -> str:
    """A new, empty SQLite file at ``path`` (one left by an earlier run is removed)."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return f"sqlite:///{path.resolve()}"


def _require_empty(sim: SimulationContext) -> None:
    users, _ = list_users(sim.users, after=None, limit=1)
    if users:
        raise Conflict(
            "the simulation needs an empty database (this one has users); leave out "
            "--database-url for a fresh SQLite file, or point it at a new database",
            rule="empty_database",
        )


def _balances(sim: SimulationContext) -> dict[tuple[str, str], ledger_services.Balance]:
    return ledger_services.trial_balance(sim.ledger).accounts


def _points_flow(sim: SimulationContext) -> PointsFlow:
    dates = sim.calendar.calendar_dates

    def series(per_day: dict[date, int]) -> tuple[int, ...]:
        values = [per_day.get(day, 0) for day in dates]
        values[0] += sum(v for day, v in per_day.items() if day < dates[0])  # set-up day
        return tuple(values)

    log = sim.points
    return PointsFlow(
        dates=dates,
        minted={reason: series(per_day) for reason, per_day in sorted(log.minted.items())},
        redeemed=series(log.redeemed),
        expired=series(log.expired),
    )


def _retention(sim: SimulationContext) -> Retention:
    """Per PK round: the share of members signed up by its end who were active in it, and the
    share of the first round's active members who were active in it."""
    calendar = sim.calendar
    round_of_day = np.array([calendar.round_of(day) for day in calendar.calendar_dates])
    joined = np.array(
        [calendar.round_of(max(m.signed_up, calendar.calendar_dates[0])) for m in sim.members]
    )
    active = sim.activity[: sim.signed_up]
    numbers = tuple(range(1, calendar.rounds + 1))
    in_round = {r: np.asarray(active[:, round_of_day == r].any(axis=1)) for r in numbers}
    cohort = in_round[1] if numbers else np.zeros(0, dtype=np.bool_)
    shares, retained = [], []
    for r in numbers:
        members = joined <= r
        shares.append(float(in_round[r][members].mean()) if members.any() else 0.0)
        retained.append(float(in_round[r][cohort].mean()) if cohort.any() else 0.0)
    return Retention(numbers, tuple(shares), tuple(retained))


def _title(sim: SimulationContext) -> str:
    c = sim.config
    markets = " + ".join(m.value for m in c.market.markets)
    return (
        f"PaperLeague season simulation: {c.members} members, {c.teams} teams, {c.days} trading "
        f"days ({markets}), seed {c.seed}"
    )


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )
