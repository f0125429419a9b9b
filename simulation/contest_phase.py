"""The contest phase of the season: the place where seasons, contests, teams, bots, PK rounds and
settlement plug into the simulation.

>>> TO BUILD on issue 5's services (engine.contests …, engine.services). Until then this phase does
>>> nothing and ``outcome`` is empty; the report marks the contest sections as not run.

What it is to do, through the same services the HTTP API uses:

``setup(sim)`` (the day before the first trading day, ``sim.calendar.pre_season``)
    The operator (``sim.operator_id``) creates the season and one contest per market in
    ``sim.config.market.markets`` (A-share rules for CN, US rules for US) over
    ``sim.calendar.trading_dates``, with weekly PK rounds (``sim.config.pk_every``) and a prize
    table; ``sim.config.teams`` teams are formed; founding members (``sim.members``) join the
    contests and teams; each member gets a bot style from ``engine.bots`` (buy-and-hold,
    momentum, mean reversion, random, index hugger, over-trader), seeded by
    ``sim.rng("contests.bots")``. Members who sign up later join when ``on_day`` first sees them.

``on_day(sim, day)`` (after the day's close, ``day.trading_date``)
    Bots decide on ``MarketView``s of the revealed closes; orders go through
    ``engine.services.place_order`` (refusals counted by rule: they are part of the show);
    the contest clock advances a bar (``engine.services.advance_clock``); traders are marked
    active with ``sim.mark_active(day.trading_date, indexes)``; referral rewards paid on a first
    trade are logged with ``sim.points.mint(day.trading_date, "referral", points)``; when
    ``day.pk_round`` is set, that PK round is scored.

``finish(sim)`` (runs before the engagement phase's end-of-season redemptions)
    Settlement pays the prizes (``sim.points.mint(last_trading_date, "prize", points)``) exactly
    once; the final standings are read.

``outcome(sim)``
    ``ContestOutcome``: one ``ContestReport`` per contest, the ``PkReport``, and the final
    standings as plain rows for the digest.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulation.calendar import SeasonDay
from simulation.context import SimulationContext
from simulation.model import ContestReport, PkReport

StandingRow = tuple[str, int, str, str]  # contest, rank, member username, metric as text


@dataclass(frozen=True, slots=True)
class ContestOutcome:
    contests: tuple[ContestReport, ...] = ()
    pk: PkReport | None = None
    standings: tuple[StandingRow, ...] = ()  # every contest's final leaderboard, for the digest
    team_standings: tuple[tuple[int, str, str], ...] = ()  # rank, team, points as text


class ContestPhase:
    """Placeholder until the contest services land (see the module docstring)."""

    name = "contests"

    def setup(self, sim: SimulationContext) -> None:
        pass

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None:
        pass

    def finish(self, sim: SimulationContext) -> None:
        pass

    def outcome(self, sim: SimulationContext) -> ContestOutcome:
        return ContestOutcome()
