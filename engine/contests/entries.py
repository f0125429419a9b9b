"""Entries: joining a contest (one per member, within registration, capacity, level and the
invite code of a private contest), the contests a member entered, and follows (friends)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.clock import utc_now
from core.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from core.segments.services import require_eligible
from engine.contests.model import (
    registration_open,
)
from engine.contests.prize_rules import (
    Disclosures,
    check_disclosures,
    check_no_paid_entry,
    offers_prizes,
)
from engine.contests.visibility import holds_code, may_see
from engine.trading.store import ContestRow
from engine.trading.venue import require_contest
from engine.uow import EngineUnitOfWork
from ledger.engagement import summary_in


class EntryRefused(Conflict):
    slug = "entry-refused"
    title = "Entry refused"


@dataclass(frozen=True, slots=True)
class Entry:
    contest_id: int
    member_id: int
    account_id: int
    starting_cash: Decimal
    joined_at: datetime


def join_contest(
    uow: EngineUnitOfWork,
    contest_id: int,
    member_id: int,
    *,
    invite_code: str | None = None,
    operator: bool = False,
    now: datetime | None = None,
) -> Entry:
    """Enter the contest: one entry per member, inside the registration window, within
    capacity, at or above the minimum level, with the invite code of a private contest.

    Without the code a private contest is a ``NotFound``, as for every reader who may not see
    it; an operator (who may) is told the code is missing."""
    moment = now or utc_now()
    with uow:
        # The row lock serializes capacity checks.
        row = require_contest(uow, contest_id, lock=True, seasonal=True)
        if not may_see(uow, row, member_id, operator=operator, invite_code=invite_code):
            raise NotFound(f"no contest {contest_id}", contest_id=contest_id)
        entered = uow.trading.account(contest_id, member_id) is not None
        if row.invite_code is not None and not entered and not holds_code(row, invite_code):
            raise PermissionDenied(
                "this contest is private: a valid invite code is required",
                field="invite_code",
                rule="invite_code",
            )
        if entered:
            raise EntryRefused(
                "you have already joined this contest", field="contest_id", rule="one_entry"
            )
        check_prize_rules_for_joining(row)
        if not registration_open(
            now=moment,
            opens_at=row.registration_opens_at,
            closes_at=row.registration_closes_at,
            clock_day=row.clock_day,
            trading_end=row.trading_end,
        ):
            raise EntryRefused(
                "registration is closed for this contest",
                field="contest_id",
                rule="registration_closed",
            )
        entries = uow.contests.entry_count(contest_id)
        if row.capacity is not None and entries >= row.capacity:
            raise EntryRefused(
                f"the contest is full ({row.capacity} entries)",
                field="contest_id",
                rule="capacity",
            )
        # Every member holds level 1 at least (levels start at 0 XP), so only a higher
        # minimum needs their XP read.
        level = summary_in(uow, member_id).level.number if row.min_level > 1 else row.min_level
        if level < row.min_level:
            raise PermissionDenied(
                f"the contest requires level {row.min_level}; you are level {level}",
                field="contest_id",
                rule="min_level",
            )
        require_eligible(uow.session, member_id, row.target_segment, field="contest_id")
        account = uow.trading.add_account(contest_id, member_id, row.starting_cash)
        entry = Entry(contest_id, member_id, account.id, account.starting_cash, moment)
        uow.commit()
    return entry


def check_prize_rules_for_joining(row: ContestRow) -> None:
    """A contest with prizes takes entries only when it is fully disclosed and charges nothing
    to enter (422 ``disclosure_required`` / ``paid_entry_with_prizes``): this also covers a
    private contest, and one created before the prize rules."""
    pk_prizes = (row.pk_settings or {}).get("prizes") or []
    has_prizes = offers_prizes(prizes=row.prizes, draws=row.draws, pk_prizes=pk_prizes)
    check_no_paid_entry(has_prizes=has_prizes, entry_fee_points=row.entry_fee_points or 0)
    if has_prizes:
        check_disclosures(
            Disclosures.from_json(row.disclosures),
            has_draws=bool(row.draws),
            trading_end=row.trading_end,
            action="takes entries",
        )


def my_entries(uow: EngineUnitOfWork, member_id: int) -> list[int]:
    """Ids of the contests the member has joined."""
    with uow.reading():
        return uow.contests.contests_entered(member_id)


# --- follows ----------------------------------------------------------------------------------


def follow(uow: EngineUnitOfWork, follower_id: int, followee_id: int) -> bool:
    """Follow another member (for the friends leaderboard); True when newly followed."""
    if follower_id == followee_id:
        raise RuleViolation("you cannot follow yourself", field="member_id", rule="not_self")
    with uow:
        if not uow.contests.member_exists(followee_id):
            raise NotFound(f"no member {followee_id}", member_id=followee_id)
        created = uow.contests.follow(follower_id, followee_id)
        uow.commit()
    return created


def unfollow(uow: EngineUnitOfWork, follower_id: int, followee_id: int) -> bool:
    with uow:
        removed = uow.contests.unfollow(follower_id, followee_id)
        uow.commit()
    return removed


def followees(uow: EngineUnitOfWork, follower_id: int) -> list[int]:
    with uow.reading():
        return uow.contests.followees(follower_id)
