"""Weekly leagues, the pure part: ten tiers, the league's rules (cohort size, promotion and
demotion zones, reward bands per tier), cohort formation, ranking, zones and movements.
No database, no clock: callers pass ``now`` and the scores.

A week runs Monday 00:00 UTC to the next Monday. Members of one tier are grouped into cohorts
of at most ``cohort_size``, neighbours by prior-week activity band, then UTC offset, then member
id; a cohort ranks by its score (XP earned in the week, or a contest's metric), more first, a
member without a score last, ties by member id: a total order, the same every time. The top
``promote`` places move one tier up, the bottom ``demote`` one tier down, scaled to the
cohort's size; the top tier promotes no one and the bottom tier demotes no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.errors import RuleViolation
from ledger.earning import check_timezone

TIER_NAMES = (
    "Bronze",
    "Silver",
    "Gold",
    "Sapphire",
    "Ruby",
    "Emerald",
    "Amethyst",
    "Pearl",
    "Obsidian",
    "Diamond",
)
TIER_COUNT = len(TIER_NAMES)
BOTTOM_TIER, TOP_TIER = 1, TIER_COUNT
DEFAULT_TIME_ZONE = "Asia/Shanghai"
DEFAULT_COHORT_SIZE = 30
MAX_COHORT_SIZE = 100
WEEK = timedelta(days=7)
# Prior-week XP at or above each threshold: the activity bands 0 (idle) … 4 (most active).
ACTIVITY_THRESHOLDS = (1, 50, 200, 500)
SCORE_PLACES = Decimal("0.000001")  # scores are stored to 6 decimal places


def tier_name(tier: int) -> str:
    return TIER_NAMES[tier - 1]


class Basis(StrEnum):
    XP = "xp"  # XP earned in the week (league rewards themselves not counted)
    CONTEST = "contest"  # a chosen contest's primary metric at its last tick


class Zone(StrEnum):
    PROMOTION = "promotion"
    STAY = "stay"
    DEMOTION = "demotion"


@dataclass(frozen=True, slots=True)
class RankReward:
    """Points and XP for the places ``low`` … ``high`` (1-based, both inclusive)."""

    low: int
    high: int
    points: int = 0
    xp: int = 0


@dataclass(frozen=True, slots=True)
class TierRules:
    """One tier's zone sizes (for a full cohort) and reward bands."""

    tier: int
    promote: int
    demote: int
    rewards: tuple[RankReward, ...] = ()


@dataclass(frozen=True, slots=True)
class LeagueConfig:
    """The league's rules; each week keeps a copy of the rules it opened with."""

    tiers: tuple[TierRules, ...]
    cohort_size: int = DEFAULT_COHORT_SIZE
    basis: Basis = Basis.XP
    contest_id: int | None = None

    def rules(self, tier: int) -> TierRules:
        return self.tiers[tier - 1]


def default_config() -> LeagueConfig:
    """Ten places up and five down per full cohort; rewards grow with the tier."""
    return LeagueConfig(
        tiers=tuple(
            TierRules(
                tier=tier,
                promote=0 if tier == TOP_TIER else 10,
                demote=0 if tier == BOTTOM_TIER else 5,
                rewards=(
                    RankReward(1, 1, points=30 * tier, xp=10 * tier),
                    RankReward(2, 3, points=15 * tier, xp=5 * tier),
                    RankReward(4, 10, points=5 * tier),
                ),
            )
            for tier in range(BOTTOM_TIER, TOP_TIER + 1)
        )
    )


def check_config(config: LeagueConfig) -> None:
    """Refuse rules that cannot work, naming the field and the rule broken."""
    if [t.tier for t in config.tiers] != list(range(BOTTOM_TIER, TOP_TIER + 1)):
        raise RuleViolation(
            f"the league has exactly {TIER_COUNT} tiers, numbered 1 … {TIER_COUNT} in order",
            field="tiers",
            rule="ten_tiers",
        )
    if not 2 <= config.cohort_size <= MAX_COHORT_SIZE:
        raise RuleViolation(
            f"a cohort holds 2 … {MAX_COHORT_SIZE} members", field="cohort_size", rule="range"
        )
    if config.basis is Basis.CONTEST and config.contest_id is None:
        raise RuleViolation(
            "ranking by a contest needs its id", field="contest_id", rule="required"
        )
    for index, rules in enumerate(config.tiers):
        _check_tier(rules, f"tiers[{index}]", cohort_size=config.cohort_size)


def _check_tier(rules: TierRules, at: str, *, cohort_size: int) -> None:
    if rules.promote < 0 or rules.demote < 0:
        raise RuleViolation("a zone size is negative", field=at, rule="non_negative")
    if rules.tier == TOP_TIER and rules.promote:
        raise RuleViolation(
            "the top tier promotes no one", field=f"{at}.promote", rule="top_tier_promotes"
        )
    if rules.tier == BOTTOM_TIER and rules.demote:
        raise RuleViolation(
            "the bottom tier demotes no one", field=f"{at}.demote", rule="bottom_tier_demotes"
        )
    if rules.promote + rules.demote > cohort_size:
        raise RuleViolation(
            "promotion and demotion zones together exceed the cohort size",
            field=at,
            rule="zones_fit",
        )
    for number, band in enumerate(rules.rewards):
        where = f"{at}.rewards[{number}]"
        if not 1 <= band.low <= cohort_size or band.high > cohort_size:
            raise RuleViolation(
                "a reward band outside the cohort's places", field=where, rule="range"
            )
        if band.high < band.low:
            raise RuleViolation("a reward band ends before it starts", field=where, rule="inverted")
        if band.points < 0 or band.xp < 0:
            raise RuleViolation(
                "a reward band pays a negative amount", field=where, rule="non_negative"
            )
        if band.points == 0 and band.xp == 0:
            raise RuleViolation("a reward band pays nothing", field=where, rule="non_empty")
    spans = sorted((band.low, band.high) for band in rules.rewards)
    if any(later[0] <= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)):
        raise RuleViolation("reward bands overlap", field=f"{at}.rewards", rule="overlapping")


# --- weeks and time zones --------------------------------------------------------------------


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of the week holding ``now``."""
    day = now.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def days_left(now: datetime, ends_at: datetime) -> int:
    """Whole or started days until the week ends (0 once it has)."""
    remaining = ends_at - now
    if remaining <= timedelta(0):
        return 0
    return -(-remaining // timedelta(days=1))


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone, else ``RuleViolation`` (``iana_time_zone``)."""
    try:
        return check_timezone(name)
    except RuleViolation as exc:
        raise RuleViolation(
            f"{name!r} is not an IANA time zone", field="time_zone", rule="iana_time_zone"
        ) from exc


def utc_offset_minutes(time_zone: str, at: datetime) -> int:
    """The zone's offset from UTC at ``at``, in minutes (east positive)."""
    offset = at.astimezone(ZoneInfo(time_zone)).utcoffset()
    return 0 if offset is None else int(offset // timedelta(minutes=1))


# --- cohorts ---------------------------------------------------------------------------------


def activity_band(prior_xp: int) -> int:
    """0 for no XP in the prior week, up to 4 for the most active."""
    return sum(1 for threshold in ACTIVITY_THRESHOLDS if prior_xp >= threshold)


@dataclass(frozen=True, slots=True)
class Entrant:
    """A member entering a week: their tier, prior-week XP and UTC offset (minutes)."""

    member_id: int
    tier: int
    prior_xp: int
    utc_offset_minutes: int

    @property
    def band(self) -> int:
        return activity_band(self.prior_xp)


@dataclass(frozen=True, slots=True)
class Cohort:
    tier: int
    number: int  # 1 … within the tier
    members: tuple[Entrant, ...]


def cohort_sizes(count: int, cohort_size: int) -> list[int]:
    """How ``count`` members of one tier split: ceil(count / cohort_size) cohorts whose sizes
    differ by at most one (so none is above ``cohort_size`` and, when the tier has more than
    one cohort, none below half of it)."""
    if count <= 0:
        return []
    cohorts = -(-count // cohort_size)
    small, extra = divmod(count, cohorts)
    return [small + 1 if index < extra else small for index in range(cohorts)]


def form_cohorts(entrants: Iterable[Entrant], *, cohort_size: int) -> list[Cohort]:
    """Each tier's members in cohorts of similar activity and time zone (see the module)."""
    by_tier: dict[int, list[Entrant]] = {}
    for entrant in entrants:
        by_tier.setdefault(entrant.tier, []).append(entrant)
    cohorts: list[Cohort] = []
    for tier in sorted(by_tier):
        ordered = sorted(by_tier[tier], key=lambda e: (-e.band, e.utc_offset_minutes, e.member_id))
        start = 0
        for number, size in enumerate(cohort_sizes(len(ordered), cohort_size), start=1):
            cohorts.append(Cohort(tier, number, tuple(ordered[start : start + size])))
            start += size
    return cohorts


# --- ranking, zones, movements, rewards ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Zones:
    promote: int
    demote: int


def zones(rules: TierRules, size: int, *, cohort_size: int) -> Zones:
    """The zone sizes of a cohort of ``size``: the full-cohort sizes scaled down, promotion
    rounded up and demotion down, so both fit (``promote + demote ≤ size``)."""
    promote = min(rules.promote, -(-rules.promote * size // cohort_size))
    demote = min(rules.demote, rules.demote * size // cohort_size)
    return Zones(promote=promote, demote=demote)


@dataclass(frozen=True, slots=True)
class Standing:
    """A member's place in a cohort (1-based, distinct), their score and zone."""

    rank: int
    member_id: int
    score: Decimal | None
    zone: Zone


def as_score(value: float | int | Decimal | None) -> Decimal | None:
    """A score as stored: a Decimal to 6 places (None stays None)."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(SCORE_PLACES)


def rank_cohort(scores: Mapping[int, Decimal | None], zone_sizes: Zones) -> list[Standing]:
    """The cohort's members in order (more score first, no score last, lower id first) with
    their zones."""
    ordered = sorted(scores, key=lambda m: (scores[m] is None, -(scores[m] or 0), m))
    size = len(ordered)
    placed: list[Standing] = []
    for rank, member_id in enumerate(ordered, start=1):
        if rank <= zone_sizes.promote:
            zone = Zone.PROMOTION
        elif rank > size - zone_sizes.demote:
            zone = Zone.DEMOTION
        else:
            zone = Zone.STAY
        placed.append(Standing(rank, member_id, scores[member_id], zone))
    return placed


def next_tier(tier: int, zone: Zone) -> int:
    """The tier a member enters next week from ``zone``, within 1 … 10."""
    step = {Zone.PROMOTION: 1, Zone.STAY: 0, Zone.DEMOTION: -1}[zone]
    return max(BOTTOM_TIER, min(TOP_TIER, tier + step))


def reward_for(rules: TierRules, rank: int) -> RankReward | None:
    """The reward band paying ``rank`` in this tier, if any."""
    return next((band for band in rules.rewards if band.low <= rank <= band.high), None)


def league_award_id(week_id: int, member_id: int) -> str:
    """The deterministic ledger id prefix of a league reward: one per (week, member)."""
    return f"league:{week_id}:{member_id}"


def expected_payouts(
    config: LeagueConfig, standings: Sequence[tuple[int, Standing]]
) -> dict[int, tuple[int, int]]:
    """(points, xp) per member that the reward table pays for (tier, standing) pairs."""
    owed: dict[int, tuple[int, int]] = {}
    for tier, standing in standings:
        band = reward_for(config.rules(tier), standing.rank)
        if band is not None:
            owed[standing.member_id] = (band.points, band.xp)
    return owed
