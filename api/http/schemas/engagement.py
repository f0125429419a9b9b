"""Bodies of the points, check-in, task, reward and redemption routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from api.http.schemas.common import Moment
from ledger.catalog import Redemption, RewardItem
from ledger.earning import Award, EarningRules, TaskRule
from ledger.engagement import CheckIn, PointsSummary, TaskCompletion
from ledger.levels import Level, Privileges
from ledger.model import MAX_AMOUNT, Transfer

# Numbers and flags parse strictly, like the ledger's amounts: ``true`` is not 1 XP and ``"5"`` is
# not 5 points (a 422, as the schema says).
Points = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]


class AwardIn(BaseModel):
    points: Points = 0
    xp: Points = 0

    def to_award(self) -> Award:
        return Award(self.points, self.xp)


class PrivilegesOut(BaseModel):
    points_multiplier: Decimal
    flags: list[str]


class LevelIO(BaseModel):
    number: int = Field(strict=True, ge=1, le=1000)
    name: str = Field(min_length=1, max_length=64)
    min_xp: int = Field(strict=True, ge=0, le=MAX_AMOUNT)
    points_multiplier: Decimal = Field(default=Decimal(1), ge=1, le=10, decimal_places=4)
    flags: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]] = Field(
        default_factory=list, max_length=16
    )

    def to_level(self) -> Level:
        return Level(
            self.number,
            self.name,
            self.min_xp,
            Privileges(self.points_multiplier, frozenset(self.flags)),
        )

    @classmethod
    def of(cls, level: Level) -> LevelIO:
        return cls(
            number=level.number,
            name=level.name,
            min_xp=level.min_xp,
            points_multiplier=level.privileges.points_multiplier,
            flags=sorted(level.privileges.flags),
        )


class LevelsIn(BaseModel):
    levels: list[LevelIO] = Field(min_length=1, max_length=100)


class LevelsOut(BaseModel):
    version: int
    levels: list[LevelIO]


class TaskIn(BaseModel):
    title: str = Field(min_length=1, max_length=128)
    award: AwardIn
    per_day_cap: int | None = Field(default=None, strict=True, ge=1, le=1000)
    per_week_cap: int | None = Field(default=None, strict=True, ge=1, le=7000)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    target_segment: str | None = Field(
        default=None, max_length=64, description="Offered and paid to this segment only"
    )

    @model_validator(mode="after")
    def _window(self) -> TaskIn:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must follow starts_at")
        for moment in (self.starts_at, self.ends_at):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("task windows need a time zone offset")
        return self


class TaskOut(BaseModel):
    key: str
    title: str
    award: AwardIn
    per_day_cap: int | None
    per_week_cap: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    target_segment: str | None = None

    @classmethod
    def of(cls, key: str, task: TaskRule) -> TaskOut:
        return cls(
            key=key,
            title=task.title,
            award=AwardIn(points=task.award.points, xp=task.award.xp),
            per_day_cap=task.per_day_cap,
            per_week_cap=task.per_week_cap,
            starts_at=task.starts_at,
            ends_at=task.ends_at,
            target_segment=task.target_segment,
        )


class EarningRulesIO(BaseModel):
    timezone: str = Field(default="UTC", max_length=64, examples=["Asia/Shanghai"])
    checkin: AwardIn = AwardIn(points=10, xp=5)
    streak_bonuses: dict[Annotated[int, Field(ge=1, le=366)], AwardIn] = Field(
        default_factory=dict, max_length=32
    )
    repeat_streak_bonuses: bool = Field(default=True, strict=True)
    tasks: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")], TaskIn] = Field(
        default_factory=dict, max_length=200
    )
    referral_inviter: AwardIn = AwardIn(points=100, xp=50)
    referral_invitee: AwardIn = AwardIn(points=100, xp=50)
    points_expiry_days: int | None = Field(default=None, strict=True, ge=1, le=3650)
    version: int | None = Field(default=None, strict=True, description="Set by the server")

    def to_rules(self) -> EarningRules:
        return EarningRules(
            timezone=self.timezone,
            checkin=self.checkin.to_award(),
            streak_bonuses={day: a.to_award() for day, a in self.streak_bonuses.items()},
            repeat_streak_bonuses=self.repeat_streak_bonuses,
            tasks={
                key: TaskRule(
                    key,
                    t.title,
                    t.award.to_award(),
                    t.per_day_cap,
                    t.per_week_cap,
                    t.starts_at,
                    t.ends_at,
                    t.target_segment,
                )
                for key, t in self.tasks.items()
            },
            referral_inviter=self.referral_inviter.to_award(),
            referral_invitee=self.referral_invitee.to_award(),
            points_expiry_days=self.points_expiry_days,
        )

    @classmethod
    def of(cls, rules: EarningRules) -> EarningRulesIO:
        def award(a: Award) -> AwardIn:
            return AwardIn(points=a.points, xp=a.xp)

        return cls(
            timezone=rules.timezone,
            checkin=award(rules.checkin),
            streak_bonuses={d: award(a) for d, a in rules.streak_bonuses.items()},
            repeat_streak_bonuses=rules.repeat_streak_bonuses,
            tasks={
                k: TaskIn(
                    title=t.title,
                    award=award(t.award),
                    per_day_cap=t.per_day_cap,
                    per_week_cap=t.per_week_cap,
                    starts_at=t.starts_at,
                    ends_at=t.ends_at,
                    target_segment=t.target_segment,
                )
                for k, t in rules.tasks.items()
            },
            referral_inviter=award(rules.referral_inviter),
            referral_invitee=award(rules.referral_invitee),
            points_expiry_days=rules.points_expiry_days,
            version=rules.version,
        )


class PointsOut(BaseModel):
    balance: int = Field(description="Posted points")
    available: int = Field(description="Points that can be spent now (balance minus holds)")
    lifetime_xp: int
    level: int
    level_name: str
    next_level: int | None
    next_threshold: int | None = Field(description="Lifetime XP needed for the next level")
    privileges: PrivilegesOut
    items: dict[str, int] = Field(
        default_factory=dict,
        description="Reward items held (tickets won, items redeemed): key → count",
    )

    @classmethod
    def of(cls, s: PointsSummary) -> PointsOut:
        return cls(
            balance=s.points.posted,
            available=s.points.available,
            lifetime_xp=s.lifetime_xp,
            level=s.level.number,
            level_name=s.level.name,
            next_level=s.next_level.number if s.next_level else None,
            next_threshold=s.next_level.min_xp if s.next_level else None,
            privileges=PrivilegesOut(
                points_multiplier=s.level.privileges.points_multiplier,
                flags=sorted(s.level.privileges.flags),
            ),
            items=s.items,
        )


class HistoryEntry(BaseModel):
    id: str
    seq: int
    kind: str
    asset: str
    amount: int = Field(description="Signed: positive when it came in")
    counterparty: str
    reason: str
    reference: str
    created_at: datetime

    @classmethod
    def of(cls, transfer: Transfer, mine: set[str]) -> HistoryEntry:
        incoming = transfer.credit in mine
        return cls(
            id=transfer.id,
            seq=transfer.seq,
            kind=transfer.kind.value,
            asset=transfer.asset,
            amount=transfer.amount if incoming else -transfer.amount,
            counterparty=transfer.debit if incoming else transfer.credit,
            reason=transfer.reason,
            reference=transfer.reference,
            created_at=transfer.created_at,
        )


class CheckInOut(BaseModel):
    local_date: str
    streak: int
    points: int
    xp: int
    created_at: datetime

    @classmethod
    def of(cls, c: CheckIn) -> CheckInOut:
        return cls(
            local_date=c.local_date,
            streak=c.streak,
            points=c.points,
            xp=c.xp,
            created_at=c.created_at,
        )


class TaskCompletionOut(BaseModel):
    id: str
    task_key: str
    points: int
    xp: int
    created_at: datetime

    @classmethod
    def of(cls, c: TaskCompletion) -> TaskCompletionOut:
        return cls(id=c.id, task_key=c.task_key, points=c.points, xp=c.xp, created_at=c.created_at)


class RewardIn(BaseModel):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", examples=["salon-ticket"])
    name: str = Field(min_length=1, max_length=128)
    cost_points: int = Field(strict=True, ge=1, le=MAX_AMOUNT)
    stock: int = Field(strict=True, ge=0, le=10_000_000)
    min_level: int = Field(default=1, strict=True, ge=1, le=1000)
    per_member_limit: int | None = Field(default=None, strict=True, ge=1, le=10_000)
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    needs_fulfilment: bool = Field(default=False, strict=True)
    target_segment: str | None = Field(
        default=None, max_length=64, description="Only members of this segment may redeem"
    )

    @model_validator(mode="after")
    def _aware(self) -> RewardIn:
        for moment in (self.valid_from, self.valid_until):
            if moment is not None and moment.tzinfo is None:
                raise ValueError("validity times need a time zone offset")
        return self


class RewardOut(BaseModel):
    id: int
    key: str
    name: str
    cost_points: int
    stock_left: int
    min_level: int
    per_member_limit: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    needs_fulfilment: bool
    target_segment: str | None = Field(default=None, description="Only its members may redeem")

    @classmethod
    def of(cls, item: RewardItem, stock_left: int) -> RewardOut:
        return cls(
            id=item.id,
            key=item.key,
            name=item.name,
            cost_points=item.cost_points,
            stock_left=stock_left,
            min_level=item.min_level,
            per_member_limit=item.per_member_limit,
            valid_from=item.valid_from,
            valid_until=item.valid_until,
            needs_fulfilment=item.needs_fulfilment,
            target_segment=item.target_segment,
        )


class RedemptionOut(BaseModel):
    id: str
    member_id: int
    item_id: int
    item_key: str
    cost_points: int
    status: str
    created_at: datetime

    @classmethod
    def of(cls, r: Redemption) -> RedemptionOut:
        return cls(
            id=r.id,
            member_id=r.member_id,
            item_id=r.item_id,
            item_key=r.item_key,
            cost_points=r.cost_points,
            status=r.status.value,
            created_at=r.created_at,
        )
