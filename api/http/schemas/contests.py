"""HTTP shapes of seasons, contests, entries and the clock.

The nested game settings (metric, qualification, prizes, teams, PK) are shaped here and
validated by ``engine.contests.spec``, so a bad value is refused under its full path
(``prizes[1].top_percent``) with the domain's rule name, wherever it arrives from.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from api.http.schemas.common import Day, Moment
from api.http.schemas.trading import Money, MoneyStr
from engine.clock import ClockReport
from engine.contests.entries import Entry
from engine.contests.model import Contest, ContestState, DataSource, Season
from engine.contests.official_rules import OfficialRules
from engine.contests.prize_rules import Disclosures, draws_from_json
from engine.contests.seasons import SeasonDraft
from engine.contests.services import ContestDraft
from engine.contests.spec import (
    MetricSpec,
    PkSettings,
    Qualification,
    TeamSettings,
    prize_table_from_json,
)
from engine.market.model import Market

Symbol = Field(min_length=1, max_length=32)
Ratio = Field(allow_inf_nan=False, max_digits=20, decimal_places=12)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _without_null(schema: dict[str, Any], model: type[BaseModel]) -> None:
    for name in getattr(model, "NOT_NULL", ()):
        field = schema["properties"][name]
        arms = [arm for arm in field.pop("anyOf") if arm != {"type": "null"}]
        field.update(arms[0] if len(arms) == 1 else {"anyOf": arms})


class _Patch(_Strict):
    """Fields to change; absent fields stay. ``NOT_NULL`` fields may be left out but not sent as
    null (what they store has no "none"): a null is a 422 naming the field, not a 500."""

    model_config = ConfigDict(json_schema_extra=_without_null)
    NOT_NULL: ClassVar[tuple[str, ...]] = ()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULL:
            raise PydanticCustomError("not_null", "may be left out, but not null")
        return value


# --- seasons ------------------------------------------------------------------------------------


class SeasonIn(_Strict):
    """A season: its local calendar (IANA zone), market, universe and data source."""

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])
    starts_on: Day
    ends_on: Day
    market: Market
    universe: list[str] = Field(min_length=1, max_length=5000)
    data_source: DataSource = DataSource.REPLAY
    replay_start: Day | None = None
    replay_end: Day | None = None

    def to_draft(self) -> SeasonDraft:
        return SeasonDraft(**self.model_dump())


class SeasonPatch(_Patch):
    """Fields to change; absent fields stay as they are."""

    NOT_NULL = ("name", "description", "timezone", "starts_on", "ends_on")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    starts_on: Day | None = None
    ends_on: Day | None = None
    replay_start: Day | None = None
    replay_end: Day | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class SeasonOut(BaseModel):
    id: int
    name: str
    description: str
    timezone: str
    starts_on: date
    ends_on: date
    market: str
    universe: list[str]
    data_source: DataSource
    replay_start: date | None
    replay_end: date | None
    ended: bool

    @classmethod
    def of(cls, s: Season) -> SeasonOut:
        return cls(
            id=s.id,
            name=s.name,
            description=s.description,
            timezone=s.timezone,
            starts_on=s.starts_on,
            ends_on=s.ends_on,
            market=s.market,
            universe=list(s.universe),
            data_source=s.data_source,
            replay_start=s.replay_start,
            replay_end=s.replay_end,
            ended=s.ended,
        )


# --- game settings ------------------------------------------------------------------------------


class MetricIn(_Strict):
    """``composite`` weights are over total_return, excess_return, sharpe, sortino, calmar,
    max_drawdown and win_rate and sum to 1."""

    kind: Literal["total_return", "excess_return", "sharpe", "composite"] = "total_return"
    benchmark: str | None = Field(default=None, min_length=1, max_length=32)
    weights: dict[str, Decimal] = Field(
        default_factory=dict, examples=[{"total_return": "0.7", "win_rate": "0.15"}]
    )


class QualificationIn(_Strict):
    min_trades: int = Field(strict=True, default=0, ge=0, le=1_000_000)
    min_round_trips: int = Field(strict=True, default=0, ge=0, le=1_000_000)
    min_active_days: int = Field(strict=True, default=0, ge=0, le=100_000)
    one_account_per_person: bool | None = Field(
        strict=True,
        default=None,
        description="Only one account per linked person ranks; unset: on when there are prizes",
    )


class PrizeLineIn(_Strict):
    """Either ``ranks`` [first, last] or ``top_percent`` [from, to]: "top 10 %" is [0, 10]."""

    ranks: tuple[int, int] | None = None
    top_percent: tuple[Decimal, Decimal] | None = None
    points: int = Field(strict=True, default=0, ge=0, le=10**12)
    xp: int = Field(strict=True, default=0, ge=0, le=10**12)
    item_key: str | None = Field(default=None, min_length=1, max_length=64)


class TeamSettingsIn(_Strict):
    max_size: int = Field(strict=True, default=5, ge=1, le=1000)
    score: Literal["mean", "median", "top_n"] = "mean"
    top_n: int | None = Field(strict=True, default=None, ge=1, le=1000)


class AwardIn(_Strict):
    points: int = Field(strict=True, default=0, ge=0, le=10**12)
    xp: int = Field(strict=True, default=0, ge=0, le=10**12)


class PkSettingsIn(_Strict):
    round_bars: int = Field(strict=True, default=5, ge=1, le=10_000)
    draw_band: Decimal = Field(default=Decimal("0.001"), ge=0, allow_inf_nan=False)
    win: AwardIn = Field(default_factory=AwardIn)
    draw: AwardIn = Field(default_factory=AwardIn)
    prizes: list[PrizeLineIn] = Field(default_factory=list, max_length=100)


class DrawPrizeIn(_Strict):
    """A draw line: ``winners`` drawn by lot among entrants with ≥ ``min_trades`` fills; each
    gets the points, XP or item. ``cash_value`` is one prize's value in CNY (checked against
    the market's cap, with points valued at the configured rate if that is more)."""

    winners: int = Field(strict=True, default=1, ge=1, le=100_000)
    cash_value: Decimal = Field(ge=0, allow_inf_nan=False, max_digits=20, decimal_places=2)
    min_trades: int = Field(strict=True, default=0, ge=0, le=1_000_000)
    points: int = Field(strict=True, default=0, ge=0, le=10**12)
    xp: int = Field(strict=True, default=0, ge=0, le=10**12)
    item_key: str | None = Field(default=None, min_length=1, max_length=64)
    description: str = Field(default="", max_length=500)


class DisclosuresIn(_Strict):
    """What a contest with prizes must publish before it is public or takes entries."""

    organiser: str = Field(default="", max_length=500, examples=["PaperLeague Ltd."])
    eligibility: str = Field(default="", max_length=5000)
    prize_description: str = Field(default="", max_length=5000)
    prize_value: str = Field(default="", max_length=500, examples=["总价值 ¥3,000"])
    winner_notification: str = Field(default="", max_length=2000)
    award_date: Day | None = None
    draw_date: Day | None = None
    terms_url: str = Field(default="", max_length=2000)
    terms_text: str = Field(default="", max_length=5000)


def _json(model: BaseModel | None) -> Any:
    return None if model is None else model.model_dump(mode="json", exclude_none=True)


def _game_settings(fields: dict[str, Any], given: BaseModel) -> dict[str, Any]:
    """The domain values of the nested settings present in ``fields``."""
    parse = {
        "metric": lambda m: MetricSpec.from_json(_json(m)),
        "qualification": lambda m: Qualification.from_json(_json(m)),
        "prizes": lambda lines: tuple(
            prize_table_from_json([_json(line) for line in lines], at="prizes")
        ),
        "teams": lambda m: TeamSettings.from_json(_json(m)),
        "pk": lambda m: PkSettings.from_json(_json(m)),
        "draws": lambda lines: tuple(draws_from_json([_json(line) for line in lines])),
        "disclosures": lambda m: Disclosures.from_json(_json(m)),
    }
    return {
        name: parse[name](getattr(given, name)) if name in parse else value
        for name, value in fields.items()
    }


# --- contests -----------------------------------------------------------------------------------


class ContestIn(_Strict):
    """A contest in a season. Registration times without an offset are in the season's zone;
    trading dates are bar dates (within a replay season's window)."""

    season_id: int = Field(strict=True, ge=1, le=2_147_483_647)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    trading_start: Day
    trading_end: Day
    starting_cash: Money = Field(gt=0, examples=["1000000.00"])
    universe: list[str] | None = Field(default=None, min_length=1, max_length=5000)
    rules: dict[str, Any] = Field(
        default_factory=dict, description="Rule-pack overrides and guards (see the rules docs)"
    )
    registration_opens_at: Moment | None = None
    registration_closes_at: Moment | None = None
    capacity: int | None = Field(strict=True, default=None, ge=1, le=10_000_000)
    min_level: int = Field(strict=True, default=0, ge=0, le=1000)
    private: bool = False
    invite_code: str | None = Field(default=None, min_length=4, max_length=64)
    metric: MetricIn = Field(default_factory=MetricIn)
    secondary_metric: str | None = Field(default=None, max_length=24)
    qualification: QualificationIn = Field(default_factory=QualificationIn)
    notes_required_for_ranking: bool = Field(
        default=False, description="Unranked unless every filled order has a journal note"
    )
    prizes: list[PrizeLineIn] = Field(default_factory=list, max_length=100)
    teams: TeamSettingsIn | None = None
    pk: PkSettingsIn | None = None
    draws: list[DrawPrizeIn] = Field(default_factory=list, max_length=100)
    disclosures: DisclosuresIn = Field(default_factory=DisclosuresIn)
    entry_fee_points: int = Field(
        strict=True, default=0, ge=0, le=10**12, description="Refused beside any prize"
    )
    target_segment: str | None = Field(
        default=None, max_length=64, description="Only members of this segment may join"
    )
    bar_interval: Literal["daily", "minute"] = Field(
        default="daily", description="daily bars, or minute bars: a live intraday contest"
    )

    def to_draft(self) -> ContestDraft:
        fields = self.model_dump(exclude={"rules"})
        fields["rule_overrides"] = self.rules
        return ContestDraft(**_game_settings(fields, self))


class ContestPatch(_Patch):
    """Fields to change. Game fields lock when trading starts; dates once they pass."""

    NOT_NULL = (
        "title",
        "description",
        "trading_start",
        "trading_end",
        "starting_cash",
        "min_level",
        "private",
        "prizes",
        "draws",
        "disclosures",
        "entry_fee_points",
        "notes_required_for_ranking",
        "bar_interval",
    )

    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    trading_start: Day | None = None
    trading_end: Day | None = None
    starting_cash: Money | None = Field(default=None, gt=0)
    universe: list[str] | None = Field(default=None, min_length=1, max_length=5000)
    rules: dict[str, Any] | None = None
    registration_opens_at: Moment | None = None
    registration_closes_at: Moment | None = None
    capacity: int | None = Field(strict=True, default=None, ge=1, le=10_000_000)
    min_level: int | None = Field(strict=True, default=None, ge=0, le=1000)
    private: bool | None = None
    invite_code: str | None = Field(default=None, min_length=4, max_length=64)
    metric: MetricIn | None = None
    secondary_metric: str | None = Field(default=None, max_length=24)
    qualification: QualificationIn | None = None
    notes_required_for_ranking: bool | None = None
    bar_interval: Literal["daily", "minute"] | None = None
    prizes: list[PrizeLineIn] | None = Field(default=None, max_length=100)
    teams: TeamSettingsIn | None = None
    pk: PkSettingsIn | None = None
    draws: list[DrawPrizeIn] | None = Field(default=None, max_length=100)
    disclosures: DisclosuresIn | None = None
    entry_fee_points: int | None = Field(strict=True, default=None, ge=0, le=10**12)
    target_segment: str | None = Field(default=None, max_length=64, description="null: everyone")

    def changes(self) -> dict[str, Any]:
        fields = self.model_dump(exclude_unset=True)
        if "rules" in fields:
            fields["rule_overrides"] = fields.pop("rules") or {}
        return _game_settings(fields, self)


class PrizeLineOut(BaseModel):
    ranks: tuple[int, int] | None = None
    top_percent: tuple[str, str] | None = None
    points: int
    xp: int
    item_key: str | None


class ContestOut(BaseModel):
    id: int
    season_id: int
    title: str
    description: str
    market: str
    state: ContestState
    universe: list[str]
    starting_cash: MoneyStr
    rules: dict[str, Any]
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    trading_start: date
    trading_end: date
    capacity: int | None
    entries: int
    min_level: int
    private: bool
    invite_code: str | None = Field(description="Shown to operators only")
    metric: dict[str, Any]
    secondary_metric: str | None
    qualification: dict[str, bool | int]
    notes_required_for_ranking: bool
    prizes: list[PrizeLineOut]
    teams: dict[str, Any] | None
    pk: dict[str, Any] | None
    clock_day: date | None
    clock_ticks: int
    settled_at: datetime | None
    draws: list[dict[str, Any]]
    disclosures: dict[str, Any]
    entry_fee_points: int
    draw_commitment: str | None = Field(description="SHA-256 (hex) of the draw seed")
    draw_seed: str | None = Field(description="The draw seed, revealed once settled")
    target_segment: str | None = Field(description="Only members of this segment may join")
    bar_interval: str = Field(description="daily, or minute (live intraday)")
    feed_status: str | None = Field(
        description="A minute contest's feed: live, or feed_stale while matching is paused"
    )

    @classmethod
    def of(cls, c: Contest) -> ContestOut:
        return cls(
            id=c.id,
            season_id=c.season_id,
            title=c.title,
            description=c.description,
            market=c.market,
            state=c.state,
            universe=list(c.universe),
            starting_cash=c.starting_cash,
            rules=c.rule_overrides,
            registration_opens_at=c.registration_opens_at,
            registration_closes_at=c.registration_closes_at,
            trading_start=c.trading_start,
            trading_end=c.trading_end,
            capacity=c.capacity,
            entries=c.entries,
            min_level=c.min_level,
            private=c.private,
            invite_code=c.invite_code,
            metric=c.metric.to_json(),
            secondary_metric=c.secondary_metric,
            qualification=c.qualification.to_json(),
            notes_required_for_ranking=c.notes_required_for_ranking,
            prizes=[PrizeLineOut(**line.to_json()) for line in c.prizes],
            teams=None if c.teams is None else c.teams.to_json(),
            pk=None if c.pk is None else c.pk.to_json(),
            clock_day=c.clock_day,
            clock_ticks=c.clock_ticks,
            settled_at=c.settled_at,
            draws=[line.to_json() for line in c.draws],
            disclosures=c.disclosures.to_json(),
            entry_fee_points=c.entry_fee_points,
            draw_commitment=c.draw_commitment,
            draw_seed=c.draw_seed,
            target_segment=c.target_segment,
            bar_interval=c.bar_interval,
            feed_status=c.feed_status,
        )


# --- entries and the clock ----------------------------------------------------------------------


class JoinIn(_Strict):
    invite_code: str | None = Field(default=None, max_length=64)


class EntryOut(BaseModel):
    contest_id: int
    member_id: int
    account_id: int
    starting_cash: MoneyStr
    joined_at: datetime

    @classmethod
    def of(cls, e: Entry) -> EntryOut:
        return cls(
            contest_id=e.contest_id,
            member_id=e.member_id,
            account_id=e.account_id,
            starting_cash=e.starting_cash,
            joined_at=e.joined_at,
        )


class ClockIn(_Strict):
    bars: int = Field(strict=True, default=1, ge=1, le=1000, description="Trading days to reveal")
    until: Day | None = Field(
        default=None,
        description="Reveal no day after this one: a call naming its target is safe to retry",
    )


class ClockOut(BaseModel):
    contest_id: int
    days: list[date]
    fills: int
    clock_day: date | None
    finished: bool

    @classmethod
    def of(cls, r: ClockReport) -> ClockOut:
        return cls(
            contest_id=r.contest_id,
            days=r.days,
            fills=r.fills,
            clock_day=r.clock_day,
            finished=r.finished,
        )


# --- official rules -----------------------------------------------------------------------------


class RulesSectionOut(BaseModel):
    key: str = Field(description="Stable: organiser, eligibility, dates, how_to_win, prizes, …")
    title: str
    lines: list[str]


class OfficialRulesOut(BaseModel):
    contest_id: int
    language: str
    title: str
    sections: list[RulesSectionOut]
    markdown: str

    @classmethod
    def of(cls, d: OfficialRules) -> OfficialRulesOut:
        return cls(
            contest_id=d.contest_id,
            language=d.language,
            title=d.title,
            sections=[
                RulesSectionOut(key=s.key, title=s.title, lines=list(s.lines)) for s in d.sections
            ],
            markdown=d.to_markdown(),
        )
