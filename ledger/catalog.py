"""The reward catalog: items members redeem points for, and the rules of redemption. Pure code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.errors import RuleViolation

ITEM_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class RewardItem:
    id: int
    key: str
    name: str
    cost_points: int
    min_level: int
    per_member_limit: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    needs_fulfilment: bool
    created_at: datetime
    target_segment: str | None = None  # only its members may redeem (core.segments)


class RedemptionStatus(StrEnum):
    COMPLETED = "completed"  # instant items
    PENDING = "pending"  # awaiting fulfilment; points and stock held
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Redemption:
    id: str
    member_id: int
    item_id: int
    item_key: str
    cost_points: int
    status: RedemptionStatus
    created_at: datetime


def check_redeemable(item: RewardItem, *, level: int, redeemed_before: int, now: datetime) -> None:
    """Refuse a redemption outside the window, below the level or past the member's limit."""
    if (item.valid_from and now < item.valid_from) or (
        item.valid_until and now >= item.valid_until
    ):
        raise RuleViolation(
            f"{item.name} can be redeemed only inside its validity window",
            field="item_id",
            rule="validity_window",
        )
    if level < item.min_level:
        raise RuleViolation(
            f"{item.name} needs level {item.min_level}; you are level {level}",
            field="item_id",
            rule="min_level",
        )
    if item.per_member_limit is not None and redeemed_before >= item.per_member_limit:
        raise RuleViolation(
            f"{item.name} may be redeemed {item.per_member_limit} time(s) per member",
            field="item_id",
            rule="per_member_limit",
        )
