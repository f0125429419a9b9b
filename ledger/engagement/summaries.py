"""A member's points summary: balance, lifetime XP, level, the next threshold, items held."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ledger.engagement.configuration import current_levels
from ledger.levels import Level
from ledger.model import (
    POINTS,
    XP,
    Balance,
    inventory_account,
    item_asset,
    points_account,
    xp_account,
)
from ledger.services.unit_of_work import LedgerUnitOfWork


@dataclass(frozen=True, slots=True)
class PointsSummary:
    member_id: int
    points: Balance
    lifetime_xp: int
    level: Level
    next_level: Level | None
    # Reward items held: item key → count (posted; an item awaiting fulfilment is not yet held).
    items: dict[str, int] = dataclasses.field(default_factory=dict)


def summary_in(uow: LedgerUnitOfWork, member_id: int) -> PointsSummary:
    """Balance, available points, lifetime XP, level and the next threshold (open txn)."""
    xp = uow.ledger.balance(xp_account(member_id), XP).credits_posted
    table = current_levels(uow)
    level = table.level_for(xp)
    return PointsSummary(
        member_id,
        uow.ledger.balance(points_account(member_id), POINTS),
        xp,
        level,
        table.next_after(level),
    )


def points_summary(uow: LedgerUnitOfWork, member_id: int) -> PointsSummary:
    """The member's points summary with the reward items they hold."""
    with uow.reading():
        return dataclasses.replace(summary_in(uow, member_id), items=inventory_of(uow, member_id))


def inventory_of(uow: LedgerUnitOfWork, member_id: int) -> dict[str, int]:
    """Reward items the member holds, item key → count, from the inventory's posted balances
    (open txn): prizes won and fulfilled redemptions."""
    prefix = item_asset("")
    return {
        asset.removeprefix(prefix): held.posted
        for asset, held in uow.ledger.account_balances(inventory_account(member_id)).items()
        if asset.startswith(prefix) and held.posted > 0
    }
