"""The weekly leagues in the season: on each Monday the week that ended is closed (ranks, tier
moves, rewards paid through the ledger) and the new week's cohorts are formed, as
``paperleague leagues close-week`` and ``open-week`` do it. New members sometimes pick a time
zone other than the default (cohorts are matched by it). The week still running when the season
ends stays open."""

from __future__ import annotations

from datetime import date, datetime

from engine.leagues import model
from engine.leagues import services as leagues
from engine.leagues.services import WeekClosing
from engine.leagues.uow import LeagueUnitOfWork
from simulation.calendar import SeasonDay
from simulation.context import SimulationContext
from simulation.model import LeagueReport, LeagueWeekReport

LEAGUE_HOUR = 9  # local time: after Monday 00:00 UTC wherever the programme runs
ELSEWHERE_SHARE = 0.2  # new members who set a time zone of their own
ZONES = ("Asia/Tokyo", "Asia/Singapore", "Europe/London", "America/New_York")
REWARD_REASON = "league"  # the points-flow log's name for league rewards


class LeaguePhase:
    name = "leagues"

    def setup(self, sim: SimulationContext) -> None:
        self._uow = LeagueUnitOfWork(sim.database.sessions, caches=sim.engine_caches)
        self._rng = sim.rng("leagues")
        self._zoned = 0  # members whose time zone choice has been drawn
        self._week: datetime | None = None
        self._closed: list[tuple[WeekClosing, leagues.Week]] = []
        self._tiers_after: list[tuple[int, ...]] = []

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None:
        for calendar_day in day.calendar_dates:
            moment = sim.calendar.at(calendar_day, LEAGUE_HOUR)
            self._choose_zones(sim, moment)
            starts = model.week_start(moment)
            if starts != self._week:
                self._close_ended(sim, calendar_day, moment)
                leagues.open_week(self._uow, now=moment)
                self._week = starts

    def finish(self, sim: SimulationContext) -> None:
        last = sim.calendar.calendar_dates[-1]
        self._close_ended(sim, last, sim.calendar.at(last, 23, 50))

    def _choose_zones(self, sim: SimulationContext, moment: datetime) -> None:
        chosen: dict[int, str] = {}
        for member in sim.members[self._zoned :]:
            if self._rng.random() < ELSEWHERE_SHARE:
                chosen[member.user_id] = ZONES[int(self._rng.integers(len(ZONES)))]
        if chosen:
            leagues.set_time_zones(self._uow, chosen, now=moment)
        self._zoned = len(sim.members)

    def _close_ended(self, sim: SimulationContext, day: date, moment: datetime) -> None:
        for closing in leagues.close_ended_weeks(self._uow, now=moment):
            sim.points.mint(day, REWARD_REASON, sum(p.points for p in closing.payouts))
            self._closed.append((closing, leagues.get_week(self._uow, closing.week_id)))
            counts = [0] * model.TIER_COUNT
            for profile_tier in self._next_tiers(closing):
                counts[profile_tier - 1] += 1
            self._tiers_after.append(tuple(counts))

    def _next_tiers(self, closing: WeekClosing) -> list[int]:
        """The tier each member of the closed week enters next."""
        tiers: list[int] = []
        for m in closing.movements:
            tiers += [min(m.tier + 1, model.TOP_TIER)] * m.promoted + [m.tier] * m.stayed
            tiers += [max(m.tier - 1, model.BOTTOM_TIER)] * m.demoted
        return tiers

    def report(self, sim: SimulationContext) -> LeagueReport:
        weeks = tuple(
            LeagueWeekReport(
                starts_on=week.starts_at.date(),
                cohorts=week.cohorts,
                members=week.members,
                promoted=sum(m.promoted for m in closing.movements),
                demoted=sum(m.demoted for m in closing.movements),
                rewards=len(closing.payouts),
                reward_points=sum(p.points for p in closing.payouts),
                reward_xp=sum(p.xp for p in closing.payouts),
            )
            for closing, week in self._closed
        )
        moves: dict[int, list[int]] = {}
        for closing, _ in self._closed:
            for m in closing.movements:
                row = moves.setdefault(m.tier, [0, 0, 0])
                row[0], row[1], row[2] = row[0] + m.promoted, row[1] + m.stayed, row[2] + m.demoted
        still_open = [w for w in leagues.list_weeks(self._uow) if w.closed_at is None]
        return LeagueReport(
            weeks=weeks,
            tiers_after=tuple(self._tiers_after),
            moves=tuple((t, moves[t][0], moves[t][1], moves[t][2]) for t in sorted(moves)),
            open_week_members=sum(w.members for w in still_open),
        )
