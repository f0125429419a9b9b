"""Builders for campaign tests: a points campaign (optionally capped or under an experiment)
and an item campaign, running over a fixed window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger import engagement
from ledger.campaigns import services as campaigns
from ledger.campaigns.model import BudgetKind, CampaignSpec, FrequencyCap, Variant
from ledger.campaigns.services import CampaignStatus, ExperimentSpec
from ledger.campaigns.uow import CampaignUnitOfWork

STARTS = datetime(2026, 6, 1, tzinfo=UTC)
ENDS = STARTS + timedelta(days=30)
DURING = STARTS + timedelta(days=1, hours=3)


def points_campaign(
    uow: CampaignUnitOfWork,
    operator_id: int,
    *,
    key: str = "spring",
    budget: int = 100,
    reward: int = 10,
    cap: FrequencyCap | None = None,
    timezone: str = "Asia/Shanghai",
    experiment_key: str | None = None,
) -> CampaignStatus:
    spec = CampaignSpec(
        key=key,
        title=f"Campaign {key}",
        kind=BudgetKind.POINTS,
        budget=budget,
        reward=reward,
        starts_at=STARTS,
        ends_at=ENDS,
        cap=cap,
        timezone=timezone,
        experiment_key=experiment_key,
    )
    return campaigns.create_campaign(uow, spec, operator_id=operator_id, now=STARTS)


def item_campaign(
    uow: CampaignUnitOfWork, operator_id: int, *, budget: int, stock: int, key: str = "mugs"
) -> CampaignStatus:
    engagement.create_item(uow, key="mug", name="Mug", cost_points=50, stock=stock, now=STARTS)
    spec = CampaignSpec(
        key=key,
        title="Mugs",
        kind=BudgetKind.ITEM,
        budget=budget,
        reward=1,
        starts_at=STARTS,
        ends_at=ENDS,
        item_key="mug",
    )
    return campaigns.create_campaign(uow, spec, operator_id=operator_id, now=STARTS)


def ab_experiment(uow: CampaignUnitOfWork, operator_id: int, *, key: str = "bonus") -> None:
    spec = ExperimentSpec(
        key=key,
        title="Check-in bonus",
        variants=(Variant("a", 1, reward=5), Variant("b", 1, reward=20)),
    )
    campaigns.create_experiment(uow, spec, operator_id=operator_id, now=STARTS)
