"""What the operator publishes per market: the contest (metric, prizes, team score) and the
PK settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.contests.prize_rules import Disclosures
from engine.contests.prize_table import PercentBand, RankRange
from engine.contests.spec import MetricKind, MetricSpec, PkSettings, PrizeLine, TeamScore
from engine.market.model import Market
from ledger.earning import Award

PRIZE_ITEM = "finals-ticket"


@dataclass(frozen=True, slots=True)
class ContestPlan:
    """What the operator publishes for one market's contest."""

    title: str
    starting_cash: Decimal
    metric: MetricSpec
    secondary_metric: str | None
    prizes: tuple[PrizeLine, ...]
    team_score: TeamScore
    top_n: int | None


def contest_plan(market: Market) -> ContestPlan:
    """A-shares: a composite metric and percent-band prizes; US: total return, rank ranges."""
    if market is Market.CN:
        return ContestPlan(
            title="A-share Championship",
            starting_cash=Decimal(1_000_000),
            metric=MetricSpec(
                MetricKind.COMPOSITE,
                weights={
                    "total_return": Decimal("0.7"),
                    "win_rate": Decimal("0.15"),
                    "max_drawdown": Decimal("0.15"),
                },
            ),
            secondary_metric="total_return",
            prizes=(
                PrizeLine(PercentBand.top(1), points=2000, xp=500, item_key=PRIZE_ITEM),
                PrizeLine(PercentBand(Decimal(1), Decimal(10)), points=500, xp=150),
                PrizeLine(PercentBand(Decimal(10), Decimal(25)), points=100, xp=30),
            ),
            team_score="mean",
            top_n=None,
        )
    return ContestPlan(
        title="US Equities Cup",
        starting_cash=Decimal(100_000),
        metric=MetricSpec(MetricKind.TOTAL_RETURN),
        secondary_metric="sharpe",
        prizes=(
            PrizeLine(RankRange(1, 1), points=1500, xp=400, item_key=PRIZE_ITEM),
            PrizeLine(RankRange(2, 3), points=800, xp=200),
            PrizeLine(RankRange(4, 10), points=300, xp=80),
            PrizeLine(RankRange(11, 25), points=100, xp=30),
        ),
        team_score="top_n",
        top_n=3,
    )


def pk_settings(round_bars: int) -> PkSettings:
    return PkSettings(
        round_bars=round_bars,
        draw_band=Decimal("0.002"),
        win=Award(points=30),
        draw=Award(points=10),
        prizes=(
            PrizeLine(RankRange(1, 1), points=300, xp=100),
            PrizeLine(RankRange(2, 3), points=150, xp=50),
        ),
    )


def simulation_disclosures(title: str, *, awarded_on: date) -> Disclosures:
    """What the simulated operator discloses for a contest with prizes (prize rules)."""
    return Disclosures(
        organiser="PaperLeague simulation operator",
        eligibility="Simulated members of the PaperLeague community.",
        prize_description=f"{title}: points, XP and finals tickets by final rank.",
        prize_value="Points and reward items only; no cash prizes.",
        winner_notification="Prizes are credited to the winners' accounts at settlement.",
        award_date=awarded_on,
        terms_text="Simulated contest; no real money is traded or paid.",
    )
