"""HTTP shapes of campaigns and experiments (operators only: members see only the effects,
points or items in their ledger)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.common import Moment
from core.clock import as_utc
from ledger.campaigns.model import (
    DEFAULT_ZONE,
    MAX_BUDGET,
    MAX_VARIANTS,
    MAX_WEIGHT,
    BudgetKind,
    CampaignSpec,
    CapPeriod,
    FrequencyCap,
    Lift,
    Rate,
    Variant,
    VariantResult,
)
from ledger.campaigns.services import (
    CampaignStatus,
    Experiment,
    ExperimentResults,
    ExperimentSpec,
    Grant,
)

KEY = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Key = Annotated[str, Field(pattern=KEY)]
Units = Annotated[int, Field(strict=True, ge=1, le=MAX_BUDGET)]


class CapIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(strict=True, ge=1, le=1000)
    period: CapPeriod


class CampaignIn(BaseModel):
    """A campaign: its budget and per-grant reward in points or units of ``item_key``, its
    window (UTC), an optional per-member cap counted in the member's zone (else ``timezone``)
    and an optional experiment whose variants set the reward."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    title: str = Field(min_length=1, max_length=200)
    kind: BudgetKind
    budget: Units
    reward: Units
    starts_at: Moment
    ends_at: Moment
    item_key: Key | None = None
    cap: CapIO | None = None
    timezone: str = Field(default=DEFAULT_ZONE, min_length=1, max_length=64)
    experiment_key: Key | None = None

    def to_spec(self) -> CampaignSpec:
        return CampaignSpec(
            key=self.key,
            title=self.title,
            kind=self.kind,
            budget=self.budget,
            reward=self.reward,
            starts_at=as_utc(self.starts_at),
            ends_at=as_utc(self.ends_at),
            item_key=self.item_key,
            cap=None if self.cap is None else FrequencyCap(self.cap.count, self.cap.period),
            timezone=self.timezone,
            experiment_key=self.experiment_key,
        )


class CampaignOut(BaseModel):
    key: str
    title: str
    kind: BudgetKind
    item_key: str | None
    budget: int
    spent: int
    remaining: int
    grants: int
    reward: int
    starts_at: datetime
    ends_at: datetime
    cap: CapIO | None
    timezone: str
    experiment_key: str | None

    @classmethod
    def of(cls, c: CampaignStatus) -> CampaignOut:
        spec = c.spec
        return cls(
            key=spec.key,
            title=spec.title,
            kind=spec.kind,
            item_key=spec.item_key,
            budget=spec.budget,
            spent=c.spent,
            remaining=c.remaining,
            grants=c.grants,
            reward=spec.reward,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
            cap=None if spec.cap is None else CapIO(count=spec.cap.count, period=spec.cap.period),
            timezone=spec.timezone,
            experiment_key=spec.experiment_key,
        )


class GrantIn(BaseModel):
    """Pay ``member_id`` one grant; ``operation`` names it (the same one again is a replay)."""

    model_config = ConfigDict(extra="forbid")

    member_id: int = Field(strict=True, ge=1, le=2_147_483_647)
    operation: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9:_-]+$")


class GrantOut(BaseModel):
    id: str
    campaign_key: str
    member_id: int
    kind: BudgetKind
    amount: int
    item_key: str | None
    variant: str | None
    local_period: str | None
    created_at: datetime

    @classmethod
    def of(cls, g: Grant) -> GrantOut:
        return cls(
            id=g.id,
            campaign_key=g.campaign_key,
            member_id=g.member_id,
            kind=g.kind,
            amount=g.amount,
            item_key=g.item_key,
            variant=g.variant,
            local_period=g.local_period,
            created_at=g.created_at,
        )


class VariantIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Key
    weight: int = Field(strict=True, ge=1, le=MAX_WEIGHT)
    reward: Units | None = None


class ExperimentIn(BaseModel):
    """An A/B test: 2 … 8 weighted variants, the first the control."""

    model_config = ConfigDict(extra="forbid")

    key: Key
    title: str = Field(min_length=1, max_length=200)
    variants: list[VariantIO] = Field(min_length=2, max_length=MAX_VARIANTS)

    def to_spec(self) -> ExperimentSpec:
        return ExperimentSpec(
            key=self.key,
            title=self.title,
            variants=tuple(Variant(v.name, v.weight, v.reward) for v in self.variants),
        )


class ExperimentOut(BaseModel):
    key: str
    title: str
    variants: list[VariantIO]
    created_at: datetime

    @classmethod
    def of(cls, e: Experiment) -> ExperimentOut:
        return cls(
            key=e.key,
            title=e.title,
            variants=[VariantIO(name=v.name, weight=v.weight, reward=v.reward) for v in e.variants],
            created_at=e.created_at,
        )


class RateOut(BaseModel):
    successes: int
    trials: int
    rate: float

    @classmethod
    def of(cls, r: Rate) -> RateOut:
        return cls(successes=r.successes, trials=r.trials, rate=r.value)


class LiftOut(BaseModel):
    """Variant minus control, its 95 % interval [low, high], z and the two-sided p-value."""

    difference: float
    low: float
    high: float
    z: float
    p_value: float

    @classmethod
    def of(cls, lift: Lift | None) -> LiftOut | None:
        if lift is None:
            return None
        return cls(
            difference=lift.difference, low=lift.low, high=lift.high, z=lift.z, p_value=lift.p_value
        )


class VariantResultOut(BaseModel):
    name: str
    members: int
    participation: RateOut
    d1_retention: RateOut
    d7_retention: RateOut
    participation_lift: LiftOut | None
    d1_lift: LiftOut | None
    d7_lift: LiftOut | None

    @classmethod
    def of(cls, v: VariantResult) -> VariantResultOut:
        return cls(
            name=v.name,
            members=v.members,
            participation=RateOut.of(v.participation),
            d1_retention=RateOut.of(v.d1),
            d7_retention=RateOut.of(v.d7),
            participation_lift=LiftOut.of(v.participation_lift),
            d1_lift=LiftOut.of(v.d1_lift),
            d7_lift=LiftOut.of(v.d7_lift),
        )


class ExperimentResultsOut(BaseModel):
    experiment: ExperimentOut
    variants: list[VariantResultOut]

    @classmethod
    def of(cls, r: ExperimentResults) -> ExperimentResultsOut:
        return cls(
            experiment=ExperimentOut.of(r.experiment),
            variants=[VariantResultOut.of(v) for v in r.variants],
        )
