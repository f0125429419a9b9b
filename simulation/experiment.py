"""The season's A/B test: a weekly check-in bonus, paid through a budgeted campaign, whose
size is the experiment's variant (``control`` a small bonus, ``boost`` a large one).

Each member is exposed (assigned a sticky variant, recorded) on their first day in the
season; for their first ``ONBOARDING_DAYS`` the first check-in of each local week earns the
variant's bonus, through ``ledger.campaigns.services.grant`` (budget charged with the ledger
transfer; cap one a week). The bots' response is modelled, not measured: a member in the
``boost`` arm is ``ASSUMED_UPLIFT`` likelier to check in on any day while the bonus runs.
What the report shows is what the operator analytics measure from the database: participation,
D1 / D7 retention and the lift with its 95 % interval, so a reader sees whether a test of this
size detects an effect of that size.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from core.errors import DomainError
from ledger.campaigns import services as campaigns
from ledger.campaigns.model import BudgetKind, CampaignSpec, CapPeriod, FrequencyCap, Variant
from ledger.campaigns.services import ExperimentSpec
from ledger.campaigns.uow import CampaignUnitOfWork
from simulation.context import SimulationContext
from simulation.model import ExperimentReport

KEY = "checkin-bonus"
VARIANTS = (Variant("control", 1, reward=10), Variant("boost", 1, reward=40))
ONBOARDING_DAYS = 28
ASSUMED_UPLIFT = 0.06  # added daily check-in probability in the boost arm while the bonus runs
BONUS_HOUR = 9


class CheckInBonusTest:
    """Exposure, the behavioural response and the bonus grants of the season's A/B test."""

    def setup(self, sim: SimulationContext, moment_day: date) -> None:
        n = sim.config.members
        self.uow = CampaignUnitOfWork(sim.database.sessions)
        calendar = sim.calendar
        moment = calendar.at(moment_day, 18)
        campaigns.create_experiment(
            self.uow,
            ExperimentSpec(KEY, "Weekly check-in bonus: 10 or 40 points", VARIANTS),
            operator_id=sim.operator_id,
            now=moment,
        )
        weeks = ONBOARDING_DAYS // 7
        campaigns.create_campaign(
            self.uow,
            CampaignSpec(
                key=KEY,
                title="Weekly check-in bonus",
                kind=BudgetKind.POINTS,
                # a budget for about 70 % of the bonuses every member could earn in either arm
                budget=max(1, n * weeks * sum(v.reward or 0 for v in VARIANTS) * 7 // 20),
                reward=VARIANTS[0].reward or 1,
                starts_at=moment,
                ends_at=calendar.at(calendar.calendar_dates[-1] + timedelta(days=1), 0),
                cap=FrequencyCap(1, CapPeriod.WEEK),
                timezone=str(calendar.zone),
                experiment_key=KEY,
            ),
            operator_id=sim.operator_id,
            now=moment,
        )
        self.arm = np.full(n, -1, dtype=np.int64)  # variant index, -1: not exposed yet
        self.exposed_at = np.full(n, -1, dtype=np.int64)  # calendar column of the exposure
        self.bonus_week = np.full(n, -1, dtype=np.int64)  # calendar column of the week's Monday
        self.refused: dict[str, int] = {}
        self.spent = False  # the budget ran out: the operator's campaign has ended early

    def uplift(self, column: int) -> npt.NDArray[np.float64]:
        """Each member's added check-in probability on the calendar day ``column`` (none once
        the budget is spent: no bonus, no response)."""
        running = (self.exposed_at >= 0) & (column - self.exposed_at < ONBOARDING_DAYS)
        running &= not self.spent
        return np.where(running & (self.arm == 1), ASSUMED_UPLIFT, 0.0)

    def expose(self, sim: SimulationContext, day: date, present: npt.NDArray[np.bool_]) -> None:
        """Assign (and record, in one transaction) the variant of members present for the
        first time today."""
        new = np.flatnonzero(present & (self.arm < 0))
        if not len(new):
            return
        chosen = campaigns.expose_many(
            self.uow,
            KEY,
            sim.user_ids(new),
            timezone=str(sim.calendar.zone),
            now=sim.calendar.at(day, 0, 5),
        )
        names = [v.name for v in VARIANTS]
        column = sim.calendar.calendar_index(day)
        for i in new:
            self.arm[i] = names.index(chosen[sim.members[int(i)].user_id])
            self.exposed_at[i] = column

    def pay(self, sim: SimulationContext, day: date, who: npt.NDArray[np.int64]) -> dict[int, int]:
        """The week's bonus for members checking in today; member index → points paid.
        Once a grant is refused for the spent budget, the simulation stops asking."""
        if self.spent:
            return {}
        column = sim.calendar.calendar_index(day)
        monday = column - day.weekday()
        running = (self.exposed_at >= 0) & (column - self.exposed_at < ONBOARDING_DAYS)
        due = who[running[who] & (self.bonus_week[who] != monday)]
        paid: dict[int, int] = {}
        moment = sim.calendar.at(day, BONUS_HOUR)
        for i in due:
            member = sim.members[int(i)]
            try:
                made = campaigns.grant(
                    self.uow, KEY, member.user_id, operation=f"{member.user_id}:{day}", now=moment
                )
            except DomainError as refusal:
                rule = str(refusal.extensions.get("rule") or refusal.slug)
                self.refused[rule] = self.refused.get(rule, 0) + 1
                if rule == "campaign_budget_exhausted":
                    self.spent = True
                    break
                continue
            self.bonus_week[i] = monday
            paid[int(i)] = made.amount
        return paid

    def report(self) -> ExperimentReport:
        return ExperimentReport(
            results=campaigns.experiment_results(self.uow, KEY),
            campaign=campaigns.get_campaign(self.uow, KEY),
            assumed_uplift=ASSUMED_UPLIFT,
            refused=dict(sorted(self.refused.items())),
        )
