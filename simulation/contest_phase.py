"""The contest phase of the season: seasons, contests, teams, bots, PK rounds and settlement,
through the services the HTTP API uses.

``setup(sim)`` (the day before the first trading day, ``sim.calendar.pre_season``)
    The operator publishes a prize item (a finals ticket) and, per market in
    ``sim.config.market.markets``, a replay season over the installed synthetic bars with one
    contest (A-share rules and a composite metric for CN, US rules and total return for US),
    trading on every day of ``sim.calendar.trading_dates``, with teams, PK rounds every
    ``sim.config.pk_every`` bars and prize tables (percent bands for CN, rank ranges for US).
    Founding members join the contests (most enter both), captains create the
    ``sim.config.teams`` teams and the others join them with the invite code; some stay solo.
    Every member gets a bot style (``simulation.contest_bots``), seeded by
    ``sim.rng("contests.members")``.

``on_day(sim, day)`` (after the day's close)
    Each contest's clock reveals the day (``advance_contest_clock``: fills, marks, leaderboards,
    PK rounds, referral and PK awards). The phase follows the revealed closes in a
    ``MarketHistory`` and each entrant's books in memory from the day's fills
    (the clock's report), and logs the referral and PK award points the ledger
    paid (looked up by their transfer ids). Members who signed up today join (registration
    runs through trading; teams are fixed at the first bar, so they stay solo). Then the bots of
    the members who show up decide on the day's view, and all their orders go in with one
    ``place_orders`` call per contest (refusals counted by rule); traders are marked active.

``finish(sim)``
    Settlement pays the prizes once (``settle_contest``); the points paid are logged.

``outcome(sim)``
    One ``ContestReport`` and ``PkReport`` per contest, and the final standings as plain rows for
    the digest, read through the leaderboard, history and PK services
    (``simulation.contest_outcome``).

Bots trade rarely, as members do: buy-and-hold once, momentum and mean reversion on signals
over a small watchlist, random traders now and then, index huggers on a rebalance, and a few
over-traders (whose deliberate mistakes the rules refuse). Only members who show up on a day
(checked in, or now and then trade without checking in) let their bot decide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np

from core.errors import DomainError
from engine.clock import ClockReport, advance_contest_clock
from engine.contests import settlement
from engine.contests.entries import join_contest
from engine.contests.model import DataSource
from engine.contests.seasons import SeasonDraft, create_season
from engine.contests.services import ContestDraft, create_contest
from engine.contests.spec import Qualification, TeamSettings
from engine.contests.teams import create_team, join_team
from engine.market.model import Market
from engine.trading.admission import OrderRefused
from engine.trading.order_desk import place_orders
from engine.trading.orders import Fill, Order, OrderRequest
from engine.trading.portfolio import Portfolio
from engine.trading.services import venue
from engine.uow import EngineUnitOfWork
from ledger import engagement
from ledger.model import POINTS, Transfer
from simulation.bots.views import MarketHistory
from simulation.calendar import SeasonDay
from simulation.contest_arena import Arena, Entrant
from simulation.contest_bots import STYLES, member_bot
from simulation.contest_outcome import ContestOutcome, read_outcome
from simulation.contest_plan import (
    PRIZE_ITEM,
    contest_plan,
    pk_settings,
    simulation_disclosures,
)
from simulation.context import SimulationContext
from simulation.model import MARKET_TIMEZONE

# Local hours in the programme's calendar (sim.calendar.at): the operator sets up the evening
# before the season; each day the clocks run after the close, late sign-ups (20:00) join after.
SETUP_HOUR, TEAMS_HOUR, JOIN_HOUR, SETTLE_HOUR = 18, 19, 20, 17
CLOCK_TIME = {Market.CN: (16, 0), Market.US: (16, 30)}

SOLO_SHARE = 0.12  # founders who play without a team
# Each contest's chance that a member enters it: most members follow one market, a good third
# play both (everyone enters at least one).
ENTRY_CHANCE = 0.6
TRADE_WITHOUT_CHECK_IN = 0.08  # a day's chance to trade without checking in first
INDEX_SIZE = 10  # index huggers track the first symbols of the universe
TEAM_SLACK = 2  # team size limit above members / teams

TEAM_WORDS = (
    ("Red", "Blue", "Golden", "Silver", "Iron", "Jade", "Swift", "Quiet", "Bold", "Lucky"),
    ("Dragons", "Bulls", "Bears", "Tigers", "Cranes", "Foxes", "Hawks", "Pandas", "Wolves", "Owls"),
)


class ContestPhase:
    """Seasons, contests, teams, bots, PK and settlement (see the module docstring)."""

    name = "contests"

    def setup(self, sim: SimulationContext) -> None:
        with sim.timings("contests: setup"):
            self.uow = EngineUnitOfWork(sim.database.sessions, caches=sim.engine_caches)
            self._plan_members(sim)
            moment = sim.calendar.at(sim.calendar.pre_season, SETUP_HOUR)
            engagement.create_item(
                sim.ledger,
                key=PRIZE_ITEM,
                name="Season finals ticket",
                cost_points=10_000,
                stock=max(50, sim.config.members // 5),  # more than the prize lines can pay
                per_member_limit=1,
                now=moment,
            )
            self.arenas = [self._open(sim, market) for market in sim.config.market.markets]
            self._seen = 0
            self._join_new(sim, sim.calendar.pre_season)
            self._form_teams(sim)
        self._referral_paid: set[int] = set()
        self._days = sim.rng("contests.days")
        self._outcome: ContestOutcome | None = None

    def _plan_members(self, sim: SimulationContext) -> None:
        """Every member's style, contests and team are drawn up front (whenever they sign up),
        so the draws never depend on who has signed up by when."""
        n, markets = sim.config.members, len(sim.config.market.markets)
        rng = sim.rng("contests.members")
        shares = np.array([share for _, share, _ in STYLES])
        self.style = rng.choice(len(STYLES), size=n, p=shares / shares.sum())
        habits = np.array([habit for _, _, habit in STYLES])[self.style]
        self.habit = np.clip(rng.normal(habits, 0.1), 0.05, 1.0)
        enters = rng.random((n, markets)) < ENTRY_CHANCE
        enters[~enters.any(axis=1), int(rng.integers(markets))] = True
        self.enters = enters
        self.solo = rng.random(n) < SOLO_SHARE
        self.bot_seeds = rng.integers(2**31, size=(n, markets))
        self._rng = rng

    def _open(self, sim: SimulationContext, market: Market) -> Arena:
        """The operator's season and contest for ``market``."""
        calendar, plan = sim.calendar, contest_plan(market)
        first, last = calendar.trading_dates[0], calendar.trading_dates[-1]
        instruments = sim.instruments[market]
        universe = [i.symbol for i in instruments]
        moment = calendar.at(calendar.pre_season, SETUP_HOUR)
        season = create_season(
            self.uow,
            SeasonDraft(
                name=f"Season {first.year} {market.value}",
                timezone=MARKET_TIMEZONE[market],
                starts_on=first,
                ends_on=last,
                market=market,
                universe=universe,
                data_source=DataSource.REPLAY,
                replay_start=first,
                replay_end=last,
                description=f"{sim.config.days} trading days from {first.isoformat()}",
            ),
            operator_id=sim.operator_id,
            now=moment,
        )
        max_size = math.ceil(sim.config.members / sim.config.teams) + TEAM_SLACK
        contest = create_contest(
            self.uow,
            ContestDraft(
                season_id=season.id,
                title=plan.title,
                trading_start=first,
                trading_end=last,
                starting_cash=plan.starting_cash,
                registration_opens_at=moment,
                # Late sign-ups may join while trading runs, until the last day.
                registration_closes_at=calendar.at(last, 0),
                metric=plan.metric,
                secondary_metric=plan.secondary_metric,
                qualification=Qualification(min_trades=3),
                prizes=plan.prizes,
                teams=TeamSettings(max_size=max_size, score=plan.team_score, top_n=plan.top_n),
                pk=pk_settings(sim.config.pk_every),
                disclosures=simulation_disclosures(plan.title, awarded_on=last),
            ),
            now=moment,
        )
        rules = venue(self.uow, contest.id).rules
        return Arena(
            market=market,
            contest_id=contest.id,
            title=plan.title,
            history=MarketHistory(instruments, rules),
            index_history=MarketHistory(instruments[:INDEX_SIZE], rules),
            symbols=tuple(universe),
        )

    def _join_new(self, sim: SimulationContext, day: date) -> None:
        """Members who signed up since the last call join the contests they chose."""
        hour = SETUP_HOUR if day == sim.calendar.pre_season else JOIN_HOUR
        moment = sim.calendar.at(day, hour, 30)
        for member in sim.members[self._seen :]:
            for k, arena in enumerate(self.arenas):
                if not self.enters[member.index, k]:
                    continue
                entry = join_contest(self.uow, arena.contest_id, member.user_id, now=moment)
                style = STYLES[int(self.style[member.index])][0]
                seed = int(self.bot_seeds[member.index, k])
                arena.enter(
                    Entrant(
                        member=member.index,
                        user_id=member.user_id,
                        account_id=entry.account_id,
                        style=style,
                        bot=member_bot(style, seed, arena.symbols),
                        portfolio=Portfolio.opened(entry.account_id, entry.starting_cash),
                    )
                )
        self._seen = sim.signed_up

    def _form_teams(self, sim: SimulationContext) -> None:
        """Founders who play in a team are dealt round the teams; in each contest the first
        entrant of a team creates it (captain) and the others join with its invite code."""
        founders = [m.index for m in sim.members if not self.solo[m.index]]
        order = self._rng.permutation(len(founders))
        dealt: list[list[int]] = [[] for _ in range(sim.config.teams)]
        for position, k in enumerate(order.tolist()):
            dealt[position % sim.config.teams].append(founders[k])
        names = _team_names(sim.config.teams, self._rng)
        moment = sim.calendar.at(sim.calendar.pre_season, TEAMS_HOUR)
        for arena in self.arenas:
            for name, members in zip(names, dealt, strict=True):
                entrants = [arena.entrants[i] for i in members if i in arena.entrants]
                if not entrants:
                    continue
                captain, *others = entrants
                team = create_team(self.uow, arena.contest_id, captain.user_id, name, now=moment)
                assert team.invite_code is not None  # the captain sees it
                for entrant in others:
                    join_team(self.uow, team.id, entrant.user_id, team.invite_code, now=moment)
                arena.team_names[team.id] = name
                arena.team_members[team.id] = [e.user_id for e in entrants]
                arena.team_of.update({e.user_id: team.id for e in entrants})

    # --- each day -----------------------------------------------------------------------------

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None:
        for arena in self.arenas:
            with sim.timings("contests: clock"):
                hour, minute = CLOCK_TIME[arena.market]
                moment = sim.calendar.at(day.trading_date, hour, minute)
                report = advance_contest_clock(self.uow, arena.contest_id, bars=1, now=moment)
            with sim.timings("contests: books"):
                self._follow(sim, arena, day, report)
        shows_up = self._shows_up(sim, day)
        if day.last:
            return
        with sim.timings("contests: setup"):
            if sim.signed_up > self._seen:
                self._join_new(sim, day.trading_date)
        with sim.timings("contests: orders"):
            traders: set[int] = set()
            pk_round = sim.calendar.round_of(day.trading_date)
            for arena in self.arenas:
                traders |= self._trade(arena, shows_up, pk_round)
            sim.mark_active(day.trading_date, sorted(traders))

    def _follow(
        self, sim: SimulationContext, arena: Arena, day: SeasonDay, report: ClockReport
    ) -> None:
        """Record what the clock revealed: closes, fills on the books, awards the ledger paid."""
        if report.days != [day.trading_date]:
            raise RuntimeError(f"{arena.title}: the clock did not reveal {day.trading_date}")
        arena.history.record(day.trading_date, report.closes)
        arena.index_history.record(day.trading_date, report.closes)
        self._book(arena, report.booked)
        traded = {arena.by_account[f.account_id].member for f in report.booked}
        self._log_referrals(sim, day.trading_date, traded)
        if day.pk_round is not None or day.last:
            self._log_pk_awards(sim, arena, day)

    @staticmethod
    def _book(arena: Arena, fills: Sequence[Fill]) -> None:
        """MetricState the day's fills on the entrants' portfolios, as the engine booked them."""
        arena.fills += len(fills)
        for fill in fills:
            entrant = arena.by_account[fill.account_id]
            entrant.portfolio.apply(fill)
            entrant.holdings = None

    def _log_referrals(self, sim: SimulationContext, day: date, traded: set[int]) -> None:
        """Referral rewards the clock paid on first trades, as the ledger recorded them."""
        candidates = [
            sim.members[i].user_id
            for i in sorted(traded)
            if sim.members[i].referred_by is not None
            and sim.members[i].user_id not in self._referral_paid
        ]
        if not candidates:
            return
        ids = {
            f"referral:{user}:{side}:points": user
            for user in candidates
            for side in ("inviter", "invitee")
        }
        found = _transfers(self.uow, ids)
        sim.points.mint(day, "referral", sum(t.amount for t in found.values()))
        self._referral_paid.update(ids[transfer_id] for transfer_id in found)

    def _log_pk_awards(self, sim: SimulationContext, arena: Arena, day: SeasonDay) -> None:
        """Round awards the clock paid for the PK round judged today, as the ledger recorded
        them (every team member's award id is looked up: the ledger holds the winners')."""
        if len(arena.team_names) < 2:
            return
        round_no = day.pk_round or sim.calendar.rounds + 1  # the last day judges a short round
        ids = [
            f"pk:{arena.contest_id}:{round_no}:{team}:{member}:points"
            for team, members in arena.team_members.items()
            for member in members
        ]
        found = _transfers(self.uow, dict.fromkeys(ids, 0))
        sim.points.mint(day.trading_date, "pk", sum(t.amount for t in found.values()))

    def _shows_up(self, sim: SimulationContext, day: SeasonDay) -> np.ndarray:
        """Who opens the trading app after today's close: of those who checked in today, as
        often as their habit says, and now and then one who did not check in."""
        column = sim.calendar.calendar_index(day.trading_date)
        n = sim.config.members
        opens = self._days.random(n) < self.habit
        extra = self._days.random(n) < TRADE_WITHOUT_CHECK_IN * self.habit
        return (sim.activity[:, column] & opens) | extra

    def _trade(self, arena: Arena, shows_up: np.ndarray, pk_round: int) -> set[int]:
        """Today's decisions of the entrants who show up, placed as one batch; returns the
        indexes of the members who sent orders (``pk_round``: the round orders count in)."""
        market = arena.history.view()
        index = arena.index_history.view()
        batch: list[tuple[int, OrderRequest]] = []
        senders: list[Entrant] = []
        for i in sorted(arena.entrants):
            if not shows_up[i]:
                continue
            entrant = arena.entrants[i]
            view = index if entrant.style == "index_hugger" else market
            for request in entrant.bot.decide(view, entrant.holdings_now()):
                batch.append((entrant.user_id, request))
                senders.append(entrant)
        if not batch:
            return set()
        outcomes = place_orders(self.uow, arena.contest_id, batch)
        for outcome in outcomes:
            if isinstance(outcome, Order):
                arena.accepted += 1
            else:
                arena.refused[rule_of(outcome)] += 1
        arena.by_style.update(entrant.style for entrant in senders)
        members = {entrant.member for entrant in senders}
        team_traders = {e.user_id for e in senders if e.user_id in arena.team_of}
        arena.traded_by_round[pk_round] |= team_traders
        return members

    # --- the end ------------------------------------------------------------------------------

    def finish(self, sim: SimulationContext) -> None:
        last = sim.calendar.trading_dates[-1]
        with sim.timings("contests: settlement"):
            self.prize_points: dict[int, int] = {}
            self.prizes_paid: dict[int, int] = {}
            for arena in self.arenas:
                report = settlement.settle_contest(
                    self.uow, arena.contest_id, now=sim.calendar.at(last, SETTLE_HOUR, 30)
                )
                if report.refused:
                    first = report.refused[0]
                    raise RuntimeError(f"{arena.title}: a prize was refused ({first.rule})")
                prizes = settlement.prize_list(self.uow, arena.contest_id, operator=True).prizes
                paid = [p for p in prizes if p.paid_at is not None]
                self.prizes_paid[arena.contest_id] = len(paid)
                self.prize_points[arena.contest_id] = sum(p.points for p in paid)
                sim.points.mint(last, "prize", self.prize_points[arena.contest_id])

    def outcome(self, sim: SimulationContext) -> ContestOutcome:
        if self._outcome is None:
            with sim.timings("contests: outcome"):
                self._outcome = read_outcome(
                    self.uow,
                    sim,
                    self.arenas,
                    prizes_paid=self.prizes_paid,
                    prize_points=self.prize_points,
                )
        return self._outcome


# --- helpers ----------------------------------------------------------------------------------


def _team_names(count: int, rng: np.random.Generator) -> list[str]:
    first, second = TEAM_WORDS
    pairs = [f"{a} {b}" for a in first for b in second]
    picked = [pairs[int(k)] for k in rng.permutation(len(pairs))[:count]]
    return picked + [f"Team {n}" for n in range(len(picked) + 1, count + 1)]


def _transfers(uow: EngineUnitOfWork, ids: dict[str, int]) -> dict[str, Transfer]:
    """The ledger's transfers among ``ids`` (points only)."""
    if not ids:
        return {}
    with uow.reading():
        found = uow.ledger.transfers_by_id(ids)
    return {tid: t for tid, t in found.items() if t.asset == POINTS}


def rule_of(refusal: DomainError) -> str:
    """The rule a refused order broke (an ``engine.trading.orders.Reason`` value for admission)."""
    if isinstance(refusal, OrderRefused):
        return refusal.reason.value
    return str(refusal.extensions.get("rule") or refusal.slug)
