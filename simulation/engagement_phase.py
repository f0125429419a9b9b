"""Engagement through the season, through the ledger's engagement services.

Before the season the operator publishes the level table, the earning rules and the reward
catalog. Then, every calendar day (weekends too): members check in (one ``check_in_many`` batch
a day; each member has a habit, takes the odd break of a few days, and some drift away for
good), a few complete the weekly task when a PK round ends, members who save for a reward
redeem it once they can afford it, and the operator fulfils (or now and then cancels) the
rewards that need shipping. Unspent points expire after ``POINTS_EXPIRY_DAYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from core.errors import DomainError
from ledger import engagement
from ledger import services as ledger_services
from ledger.catalog import RedemptionStatus, RewardItem
from ledger.earning import Award, EarningRules, TaskRule
from ledger.levels import Level, Privileges
from simulation.calendar import SeasonDay
from simulation.context import SimulationContext
from simulation.experiment import CheckInBonusTest
from simulation.model import DailyEngagement, ExperimentReport, ItemFunnel

CHECK_IN_HOUR, REDEEM_HOUR, TASK_HOUR, OPERATOR_HOUR = 8, 12, 21, 18
CHECK_IN_BATCH = 2000  # members per check_in_many call (keeps IN lists short)
POINTS_EXPIRY_DAYS = 90
EXPIRY_EVERY_ROUNDS = 8
WEEKLY_TASK = "weekly-review"

# Member habits by segment: share of members, daily check-in probability (Beta a, b), chance to
# drift away during the season, to save for rewards, to do the weekly task when a round ends.
SEGMENTS = (
    ("engaged", 0.45, (9.0, 1.5), 0.05, 0.6, 0.04),
    ("regular", 0.35, (4.0, 2.0), 0.20, 0.45, 0.015),
    ("casual", 0.20, (1.5, 3.0), 0.50, 0.2, 0.005),
)
BREAK_CHANCE, BREAK_DAYS = 0.015, (2, 7)  # a day's chance to start a break, and its length
REDEEM_URGE = 0.25  # a saver who can afford their wish redeems it on an active day with this
CANCEL_SHARE = 0.08  # fulfilment redemptions the operator cancels (a wrong address …)
FULFIL_AFTER_DAYS = (2, 9)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    key: str
    name: str
    cost_points: int
    stock_per_100_members: int
    min_level: int = 1
    per_member_limit: int | None = None
    needs_fulfilment: bool = False
    appeal: float = 1.0  # relative chance to be a saver's wish


CATALOG = (
    CatalogEntry("coffee-voucher", "Coffee voucher", 300, 30, per_member_limit=3, appeal=3),
    CatalogEntry("research-pass", "One-week research pass", 600, 25, min_level=2, appeal=2.5),
    CatalogEntry(
        "community-tee", "Community T-shirt", 1200, 6, per_member_limit=1, needs_fulfilment=True
    ),
    CatalogEntry(
        "trading-course", "Trading masterclass", 2500, 3, min_level=3, needs_fulfilment=True
    ),
    CatalogEntry("premium-month", "Premium membership month", 4000, 2, min_level=4, appeal=0.8),
)

LEVELS = [
    Level(1, "Newcomer", 0),
    Level(2, "Trader", 100),
    Level(3, "Analyst", 400, Privileges(Decimal("1.1"))),
    Level(4, "Strategist", 1200, Privileges(Decimal("1.25"), frozenset({"expert_qa"}))),
    Level(5, "Master", 4000, Privileges(Decimal("1.5"), frozenset({"expert_qa"}))),
]


def earning_rules(timezone: str) -> EarningRules:
    """The season's earning rules: daily check-in, weekly and monthly streak bonuses, the weekly
    review task, referral rewards and points expiry."""
    return EarningRules(
        timezone=timezone,
        checkin=Award(points=10, xp=5),
        streak_bonuses={7: Award(50, 20), 30: Award(300, 100)},
        repeat_streak_bonuses=True,
        tasks={
            WEEKLY_TASK: TaskRule(
                WEEKLY_TASK, "Write a weekly trade review", Award(30, 15), per_week_cap=1
            )
        },
        referral_inviter=Award(points=100, xp=50),
        referral_invitee=Award(points=100, xp=50),
        points_expiry_days=POINTS_EXPIRY_DAYS,
    )


@dataclass(slots=True)
class _Pending:
    redemption_id: str
    member: int
    cost: int
    due: date


class EngagementPhase:
    """Check-ins, tasks, redemptions, fulfilment and expiry, day by day."""

    name = "engagement"

    def setup(self, sim: SimulationContext) -> None:
        n = sim.config.members
        rng = sim.rng("engagement.habits")
        segment = rng.choice(len(SEGMENTS), size=n, p=[s[1] for s in SEGMENTS])
        self.habit = np.empty(n)
        drifts, saves, tasks = np.empty(n), np.empty(n), np.empty(n)
        for k, (_, _, (a, b), drift, save, task) in enumerate(SEGMENTS):
            mine = segment == k
            self.habit[mine] = rng.beta(a, b, size=int(mine.sum()))
            drifts[mine], saves[mine], tasks[mine] = drift, save, task
        days = len(sim.calendar.calendar_dates)
        # Drifting away happens more early on than late (an exponential with a 6-week scale).
        self.leaves_on = np.where(
            rng.random(n) < drifts,
            np.minimum(rng.exponential(42.0, size=n).astype(np.int64) + 3, days),
            days + 1,
        )
        self.saver = rng.random(n) < saves
        self.task_doer = tasks
        self.break_left = np.zeros(n, dtype=np.int64)
        self.points_estimate = np.zeros(n, dtype=np.int64)
        self.longest_streak = np.zeros(n, dtype=np.int64)
        self.check_ins = np.zeros(days, dtype=np.int64)
        self.redemption_count = np.zeros(n, dtype=np.int64)
        self._rng = sim.rng("engagement.days")
        self._pending: list[_Pending] = []
        self._publish(sim, rng)
        self.ab = CheckInBonusTest()
        self.ab.setup(sim, sim.calendar.pre_season)
        appeal = np.array([entry.appeal for entry in CATALOG])
        self.wish = rng.choice(len(CATALOG), size=n, p=appeal / appeal.sum())

    def _publish(self, sim: SimulationContext, rng: np.random.Generator) -> None:
        """The operator's set-up: level table, earning rules, reward catalog."""
        moment = sim.calendar.at(sim.calendar.pre_season, OPERATOR_HOUR)
        operator = sim.operator_id
        engagement.set_levels(sim.ledger, LEVELS, operator_id=operator, now=moment)
        zone = str(sim.calendar.zone)
        self.rules = engagement.set_earning_rules(
            sim.ledger, earning_rules(zone), operator_id=operator, now=moment
        )
        self.items: list[RewardItem] = []
        self.stock: list[int] = []
        for entry in CATALOG:
            stock = max(1, sim.config.members * entry.stock_per_100_members // 100)
            self.items.append(
                engagement.create_item(
                    sim.ledger,
                    key=entry.key,
                    name=entry.name,
                    cost_points=entry.cost_points,
                    stock=stock,
                    min_level=entry.min_level,
                    per_member_limit=entry.per_member_limit,
                    needs_fulfilment=entry.needs_fulfilment,
                    now=moment,
                )
            )
            self.stock.append(stock)
        self.attempts = [0] * len(CATALOG)
        self.completed = [0] * len(CATALOG)
        self.refused: list[dict[str, int]] = [{} for _ in CATALOG]

    # --- each day ------------------------------------------------------------------------------

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None:
        timed = sim.timings
        for calendar_date in day.calendar_dates:
            with timed("engagement: check-ins"):
                checked_in = self._check_in(sim, calendar_date)
            with timed("engagement: tasks, rewards"):
                if day.pk_round is not None and calendar_date == day.trading_date:
                    self._weekly_task(sim, calendar_date, checked_in, day.pk_round)
                self._redeem(sim, calendar_date, checked_in)
                self._fulfil(sim, calendar_date)
        # Nothing can have lapsed before the season is older than the expiry period.
        season_age = (day.trading_date - sim.calendar.trading_dates[0]).days
        if (
            day.pk_round is not None
            and day.pk_round % EXPIRY_EVERY_ROUNDS == 0
            and season_age > POINTS_EXPIRY_DAYS
            and not day.last  # ``finish`` expires once more anyway
        ):
            self._expire(sim, day.trading_date)

    def _check_in(self, sim: SimulationContext, day: date) -> np.ndarray:
        """Check in today's members; returns their indexes."""
        n, column = sim.config.members, sim.calendar.calendar_index(day)
        rng = self._rng
        # the same draws every day, whoever is signed up; the A/B test's arm shifts the odds
        wants = rng.random(n) < self.habit + self.ab.uplift(column)
        starts_break = rng.random(n) < BREAK_CHANCE
        break_length = rng.integers(BREAK_DAYS[0], BREAK_DAYS[1] + 1, size=n)
        present = np.zeros(n, dtype=np.bool_)
        present[: sim.signed_up] = [m.signed_up < day for m in sim.members]
        present &= (self.leaves_on > column) & (self.break_left == 0)
        with sim.timings("engagement: A/B test"):
            self.ab.expose(sim, day, present)
        who = np.flatnonzero(present & wants)
        self.break_left = np.maximum(self.break_left - 1, 0)
        new_breaks = present & starts_break
        self.break_left[new_breaks] = break_length[new_breaks]
        moment = sim.calendar.at(day, CHECK_IN_HOUR)
        minted = 0
        for start in range(0, len(who), CHECK_IN_BATCH):
            chunk = who[start : start + CHECK_IN_BATCH]
            for made in engagement.check_in_many(sim.ledger, sim.user_ids(chunk), now=moment):
                i = sim.index_of[made.member_id]
                self.points_estimate[i] += made.points
                self.longest_streak[i] = max(self.longest_streak[i], made.streak)
                minted += made.points
        sim.points.mint(day, "checkin", minted)
        with sim.timings("engagement: A/B test"):
            bonus = self.ab.pay(sim, day, who)
        for i, points in bonus.items():
            self.points_estimate[i] += points
        sim.points.mint(day, "campaign", sum(bonus.values()))
        self.check_ins[column] = len(who)
        sim.mark_active(day, who.tolist())
        return who

    def _weekly_task(
        self, sim: SimulationContext, day: date, checked_in: np.ndarray, pk_round: int
    ) -> None:
        rolls = self._rng.random(sim.config.members)
        moment = sim.calendar.at(day, TASK_HOUR)
        for i in checked_in[rolls[checked_in] < self.task_doer[checked_in]]:
            member = sim.members[int(i)]
            try:
                done = engagement.complete_task(
                    sim.ledger,
                    member.user_id,
                    WEEKLY_TASK,
                    completion_id=f"sim:{WEEKLY_TASK}:{member.user_id}:{pk_round}",
                    now=moment,
                )
            except DomainError:
                continue  # the weekly cap: one review a week pays
            self.points_estimate[i] += done.points
            sim.points.mint(day, "task", done.points)

    def _redeem(self, sim: SimulationContext, day: date, checked_in: np.ndarray) -> None:
        rolls = self._rng.random(sim.config.members)
        costs = np.array([item.cost_points for item in self.items])[self.wish]
        ready = checked_in[
            self.saver[checked_in]
            & (self.points_estimate[checked_in] >= costs[checked_in])
            & (rolls[checked_in] < REDEEM_URGE)
        ]
        for i in ready:
            self._attempt(sim, int(i), day)

    def _attempt(self, sim: SimulationContext, i: int, day: date) -> None:
        """One redemption of member ``i``'s wish; on success they may wish for something else."""
        k = int(self.wish[i])
        item, member = self.items[k], sim.members[i]
        self.attempts[k] += 1
        self.redemption_count[i] += 1
        redemption_id = f"sim:{member.user_id}:{self.redemption_count[i]}"
        try:
            done = engagement.redeem(
                sim.ledger,
                member.user_id,
                item.id,
                redemption_id=redemption_id,
                now=sim.calendar.at(day, REDEEM_HOUR),
            )
        except DomainError as refusal:
            rule = str(getattr(refusal, "rule", refusal.slug))
            self.refused[k][rule] = self.refused[k].get(rule, 0) + 1
            self._after_refusal(sim, i, rule)
            return
        self.completed[k] += 1
        self.points_estimate[i] -= item.cost_points
        if done.status is RedemptionStatus.PENDING:
            wait = int(self._rng.integers(FULFIL_AFTER_DAYS[0], FULFIL_AFTER_DAYS[1] + 1))
            self._pending.append(
                _Pending(redemption_id, i, item.cost_points, day + timedelta(days=wait))
            )
        else:
            sim.points.redeem(day, item.cost_points)
        if self._rng.random() < 0.5:
            self.wish[i] = self._rng.integers(len(self.items))

    def _after_refusal(self, sim: SimulationContext, i: int, rule: str) -> None:
        """A refused member learns: the real balance, or to wish for something else."""
        if rule == "enough_points":
            summary = engagement.points_summary(sim.ledger, sim.members[i].user_id)
            self.points_estimate[i] = summary.points.available
        else:
            self.wish[i] = self._rng.integers(len(self.items))

    def _fulfil(self, sim: SimulationContext, day: date, *, everything: bool = False) -> None:
        due = [p for p in self._pending if everything or p.due <= day]
        if not due:
            return
        self._pending = [p for p in self._pending if not (everything or p.due <= day)]
        moment = sim.calendar.at(day, OPERATOR_HOUR)
        for pending in due:
            fulfil = self._rng.random() >= CANCEL_SHARE
            engagement.resolve_redemption(
                sim.ledger, pending.redemption_id, fulfil=fulfil, now=moment
            )
            if fulfil:
                sim.points.redeem(day, pending.cost)
            else:
                self.points_estimate[pending.member] += pending.cost

    def _expire(self, sim: SimulationContext, day: date) -> None:
        moment = sim.calendar.at(day, 23, 30)
        with sim.timings("engagement: expiry"):
            expired = ledger_services.expire_points(sim.ledger, days=POINTS_EXPIRY_DAYS, now=moment)
        for transfer in expired:
            i = sim.index_of[int(transfer.debit.split(":")[1])]
            self.points_estimate[i] = max(0, self.points_estimate[i] - transfer.amount)
        sim.points.expire(day, sum(t.amount for t in expired))

    # --- the end of the season -----------------------------------------------------------------

    def finish(self, sim: SimulationContext) -> None:
        """After settlement: savers spend what they hold (prizes included), the operator clears
        every open fulfilment, points past their age expire."""
        last = sim.calendar.trading_dates[-1]
        for member in sim.members:
            i = member.index
            if not self.saver[i] or self.leaves_on[i] <= len(sim.calendar.calendar_dates) - 1:
                continue
            available = engagement.points_summary(sim.ledger, member.user_id).points.available
            self.points_estimate[i] = available
            if available >= self.items[int(self.wish[i])].cost_points:
                self._attempt(sim, i, last)
        self._fulfil(sim, last, everything=True)
        self._expire(sim, last)
        ledger_services.expire_holds(sim.ledger, now=sim.calendar.at(last, 23, 45))

    # --- what the report needs -----------------------------------------------------------------

    def daily(self, sim: SimulationContext) -> DailyEngagement:
        dates = sim.calendar.calendar_dates
        signups = np.array([m.signed_up for m in sim.members], dtype="datetime64[D]")
        signed_up = tuple(
            int((signups <= np.datetime64(day)).sum()) for day in dates
        )  # members so far, on each day
        longest = self.longest_streak[: sim.signed_up]
        values, counts = np.unique(longest, return_counts=True)
        return DailyEngagement(
            dates=dates,
            signed_up=signed_up,
            check_ins=tuple(int(c) for c in self.check_ins),
            active=tuple(int(a) for a in sim.activity.sum(axis=0)),
            streak_histogram={int(v): int(c) for v, c in zip(values, counts, strict=True)},
            best_streak=int(longest.max()) if longest.size else 0,
        )

    def experiment(self) -> ExperimentReport:
        """The season's A/B test, measured from the database."""
        return self.ab.report()

    def funnels(self) -> tuple[ItemFunnel, ...]:
        return tuple(
            ItemFunnel(
                key=item.key,
                name=item.name,
                cost_points=item.cost_points,
                stock=self.stock[k],
                attempts=self.attempts[k],
                completed=self.completed[k],
                refused=dict(sorted(self.refused[k].items())),
            )
            for k, item in enumerate(self.items)
        )
