"""Campaigns and experiments, the pure part: budgets, frequency caps counted in a member's
local calendar, sticky A/B assignment and the lift of one variant over the control.
No database, no clock: callers pass ``now``.

A campaign pays a reward (points, or units of one reward item) from a global budget in the
same unit; the budget is never overspent (``remaining`` never goes below 0, ``spent`` never
exceeds ``budget``). A per-member cap allows at most ``cap_count`` grants per local day or
ISO week, counted in the member's IANA time zone when known, else the campaign's zone.

An experiment splits members into weighted variants by a hash of (experiment key, member id):
the same member gets the same variant in every process, on every machine, and the first
exposure is recorded so a later change of weights never moves a member.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import Conflict, RuleViolation

DEFAULT_ZONE = "Asia/Shanghai"
KEY_SYNTAX = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_BUDGET = 10**12
MAX_VARIANTS = 8
MAX_WEIGHT = 10_000
Z_95 = 1.959963984540054  # the two-sided 95 % normal quantile


class BudgetKind(StrEnum):
    POINTS = "points"
    ITEM = "item"


class CapPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"


class CampaignBudgetExhausted(Conflict):
    slug = "campaign-budget-exhausted"


class FrequencyCapReached(Conflict):
    slug = "frequency-cap-reached"


# --- campaigns ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrequencyCap:
    """At most ``count`` grants per member per local ``period``."""

    count: int
    period: CapPeriod


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """What an operator sets up. ``reward`` is what one grant pays, in the budget's unit
    (points, or units of ``item_key``); an attached experiment's variants may override it."""

    key: str
    title: str
    kind: BudgetKind
    budget: int
    reward: int
    starts_at: datetime
    ends_at: datetime
    item_key: str | None = None
    cap: FrequencyCap | None = None
    timezone: str = DEFAULT_ZONE
    experiment_key: str | None = None


def check_key(key: str, *, field: str) -> str:
    if not KEY_SYNTAX.fullmatch(key):
        raise RuleViolation(
            "a key is 1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit",
            field=field,
            rule="key_format",
        )
    return key


def zone(name: str, *, field: str = "timezone") -> ZoneInfo:
    """The IANA zone named ``name``; ``RuleViolation`` for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleViolation(
            f"unknown time zone {name!r}", field=field, rule="iana_time_zone"
        ) from exc


def check_campaign(spec: CampaignSpec) -> None:
    """Refuse a campaign whose key, budget, reward, window, cap or zone cannot work."""
    check_key(spec.key, field="key")
    if not 1 <= spec.budget <= MAX_BUDGET:
        raise RuleViolation(f"a budget is 1 … {MAX_BUDGET}", field="budget", rule="range")
    if not 1 <= spec.reward <= spec.budget:
        raise RuleViolation(
            "a grant pays at least 1 and at most the budget", field="reward", rule="range"
        )
    if spec.ends_at <= spec.starts_at:
        raise RuleViolation("a campaign ends after it starts", field="ends_at", rule="after_start")
    if spec.kind is BudgetKind.ITEM and spec.item_key is None:
        raise RuleViolation(
            "an item budget names its reward item", field="item_key", rule="required"
        )
    if spec.kind is BudgetKind.POINTS and spec.item_key is not None:
        raise RuleViolation("a points budget names no item", field="item_key", rule="one_of")
    if spec.cap is not None and spec.cap.count < 1:
        raise RuleViolation("a cap allows at least one grant", field="cap.count", rule="positive")
    zone(spec.timezone)
    if spec.experiment_key is not None:
        check_key(spec.experiment_key, field="experiment_key")


def open_at(spec: CampaignSpec, moment: datetime) -> bool:
    """Whether the campaign pays at ``moment`` (start inclusive, end exclusive)."""
    return spec.starts_at <= moment < spec.ends_at


def member_zone(member_timezone: str | None, campaign_timezone: str) -> ZoneInfo:
    """The zone a member's caps count in: their own when known, else the campaign's."""
    return ZoneInfo(member_timezone or campaign_timezone)


def local_period(moment: datetime, tz: ZoneInfo, period: CapPeriod) -> str:
    """The member's local calendar day (``2026-03-08``) or ISO week (``2026-W10``) at
    ``moment``; zoneinfo applies the zone's offset at that instant (DST included)."""
    day = moment.astimezone(tz).date()
    if period is CapPeriod.DAY:
        return day.isoformat()
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def period_bounds(moment: datetime, tz: ZoneInfo, period: CapPeriod) -> tuple[datetime, datetime]:
    """The UTC-comparable [start, end) of the local day or ISO week holding ``moment``: local
    midnights resolved in the zone, so a DST day lasts 23 or 25 hours."""
    day = moment.astimezone(tz).date()
    first = day if period is CapPeriod.DAY else day - timedelta(days=day.weekday())
    last = first + timedelta(days=1 if period is CapPeriod.DAY else 7)
    return _midnight(first, tz), _midnight(last, tz)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def check_cap(cap: FrequencyCap | None, granted_in_period: int) -> None:
    """Refuse a grant beyond the member's cap for the period (409 ``frequency_cap_reached``)."""
    if cap is not None and granted_in_period >= cap.count:
        raise FrequencyCapReached(
            f"at most {cap.count} grant(s) per member per local {cap.period}",
            field="member_id",
            rule="frequency_cap_reached",
        )


def budget_exhausted(remaining: int, amount: int) -> CampaignBudgetExhausted:
    """The refusal of a grant of ``amount`` when only ``remaining`` is left (409)."""
    return CampaignBudgetExhausted(
        f"the campaign has {remaining} left, the grant needs {amount}",
        field="campaign",
        rule="campaign_budget_exhausted",
        remaining=remaining,
    )


def grant_id(campaign_key: str, operation: str) -> str:
    """The deterministic ledger id prefix of a campaign grant (paid once per operation)."""
    return f"campaign:{campaign_key}:{operation}"


# --- experiments --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variant:
    """One arm: its name, relative weight and, when set, the reward it pays instead of the
    campaign's (in the campaign's unit)."""

    name: str
    weight: int
    reward: int | None = None


def check_variants(variants: Sequence[Variant]) -> None:
    if not 2 <= len(variants) <= MAX_VARIANTS:
        raise RuleViolation(
            f"an experiment has 2 … {MAX_VARIANTS} variants", field="variants", rule="range"
        )
    if len({v.name for v in variants}) != len(variants):
        raise RuleViolation("two variants share a name", field="variants", rule="unique")
    for index, variant in enumerate(variants):
        at = f"variants[{index}]"
        check_key(variant.name, field=f"{at}.name")
        if not 1 <= variant.weight <= MAX_WEIGHT:
            raise RuleViolation(f"a weight is 1 … {MAX_WEIGHT}", field=f"{at}.weight", rule="range")
        if variant.reward is not None and variant.reward < 1:
            raise RuleViolation("a reward is at least 1", field=f"{at}.reward", rule="positive")


def bucket(experiment_key: str, member_id: int) -> float:
    """A point in [0, 1) fixed by the experiment and the member: the first 8 bytes of
    SHA-256 (no per-process salt, unlike ``hash()``), so every process agrees."""
    digest = hashlib.sha256(f"{experiment_key}:{member_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment_key: str, member_id: int, variants: Sequence[Variant]) -> Variant:
    """The member's variant: the one whose share of the cumulative weights holds the bucket."""
    total = sum(v.weight for v in variants)
    point = bucket(experiment_key, member_id) * total
    reached = 0
    for variant in variants:
        reached += variant.weight
        if point < reached:
            return variant
    return variants[-1]


# --- lift ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exposure:
    """One assigned member: their variant, the local day of first exposure, whether they
    earned through the experiment's campaign, and the local days they were active."""

    variant: str
    exposed_on: date
    participated: bool
    active_days: frozenset[date]


@dataclass(frozen=True, slots=True)
class Rate:
    successes: int
    trials: int

    @property
    def value(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


@dataclass(frozen=True, slots=True)
class Lift:
    """Variant minus control: the difference of proportions, a 95 % confidence interval of it
    (unpooled standard error), and the two-sided p-value of the pooled two-proportion z-test."""

    difference: float
    low: float
    high: float
    z: float
    p_value: float


@dataclass(frozen=True, slots=True)
class VariantResult:
    name: str
    members: int
    participation: Rate
    d1: Rate
    d7: Rate
    participation_lift: Lift | None  # None for the control
    d1_lift: Lift | None
    d7_lift: Lift | None


def retained(exposure: Exposure, days: int) -> bool:
    """Active on the ``days``-th local day after the first exposure."""
    return exposure.exposed_on + timedelta(days=days) in exposure.active_days


def normal_sf(z: float) -> float:
    """P(Z > z) of a standard normal: ``erfc(z / √2) / 2`` (equals scipy's ``norm.sf``)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def lift(control: Rate, variant: Rate) -> Lift:
    """The two-proportion z-test of ``variant`` against ``control``.

    z = (p₂ − p₁) / √(p̄(1 − p̄)(1/n₁ + 1/n₂)) with the pooled p̄; the interval is
    (p₂ − p₁) ± 1.96 √(p₁(1 − p₁)/n₁ + p₂(1 − p₂)/n₂). With an empty arm, or every
    member alike in both arms, nothing is measurable: z = 0 and p = 1.
    """
    p1, p2 = control.value, variant.value
    difference = p2 - p1
    if control.trials == 0 or variant.trials == 0:
        return Lift(difference, difference, difference, 0.0, 1.0)
    pooled = (control.successes + variant.successes) / (control.trials + variant.trials)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / control.trials + 1 / variant.trials))
    se = math.sqrt(p1 * (1 - p1) / control.trials + p2 * (1 - p2) / variant.trials)
    z = difference / pooled_se if pooled_se > 0 else 0.0
    return Lift(
        difference=difference,
        low=difference - Z_95 * se,
        high=difference + Z_95 * se,
        z=z,
        p_value=min(1.0, 2 * normal_sf(abs(z))),
    )


def results(variants: Sequence[Variant], exposures: Iterable[Exposure]) -> list[VariantResult]:
    """Per variant (in the experiment's order; the first is the control): members,
    participation, D1 and D7 retention, and each one's lift over the control."""
    by_variant: dict[str, list[Exposure]] = {v.name: [] for v in variants}
    for exposure in exposures:
        by_variant.setdefault(exposure.variant, []).append(exposure)
    rates = {
        name: (
            Rate(sum(e.participated for e in group), len(group)),
            Rate(sum(retained(e, 1) for e in group), len(group)),
            Rate(sum(retained(e, 7) for e in group), len(group)),
        )
        for name, group in by_variant.items()
    }
    control = rates[variants[0].name]
    out = []
    for index, variant in enumerate(variants):
        part, d1, d7 = rates[variant.name]
        is_control = index == 0
        out.append(
            VariantResult(
                name=variant.name,
                members=part.trials,
                participation=part,
                d1=d1,
                d7=d7,
                participation_lift=None if is_control else lift(control[0], part),
                d1_lift=None if is_control else lift(control[1], d1),
                d7_lift=None if is_control else lift(control[2], d7),
            )
        )
    return out
