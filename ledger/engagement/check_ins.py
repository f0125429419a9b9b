"""The daily check-in, once per local day, with its streak bonus and the level multiplier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from core.clock import utc_now
from core.errors import Conflict
from ledger.earning import Award, EarningRules, next_streak
from ledger.engagement.awards import award_requests, pay_many, scaled
from ledger.engagement.configuration import current_levels, current_programme, current_rules
from ledger.levels import LevelTable
from ledger.model import XP, Balance, LedgerRequest, member_accounts, xp_account
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.store.checkin_reads import StoredCheckIn, batch_checkins
from ledger.store.repository import BalanceKey


class AlreadyCheckedIn(Conflict):
    slug = "already-checked-in"


@dataclass(frozen=True, slots=True)
class CheckIn:
    member_id: int
    local_date: str
    streak: int
    points: int
    xp: int
    created_at: datetime


def check_in(
    uow: LedgerUnitOfWork,
    member_id: int,
    *,
    now: datetime | None = None,
    operation_id: str | None = None,
) -> CheckIn:
    """The daily check-in: once per local day, with streak bonuses and the level multiplier.

    ``operation_id`` (derived from the request's Idempotency-Key) is stored with the check-in,
    in its transaction: the same id again returns that check-in, whatever the day, instead of
    ``AlreadyCheckedIn``, so a retry after a crash that lost the stored response gets the
    first answer.
    """
    (outcome,) = check_in_each(uow, [(member_id, operation_id)], now=now)
    if isinstance(outcome, AlreadyCheckedIn):
        raise outcome
    return outcome


CheckInOutcome = CheckIn | AlreadyCheckedIn


def check_in_each(
    uow: LedgerUnitOfWork,
    requests: Sequence[tuple[int, str | None]],
    *,
    now: datetime | None = None,
) -> list[CheckInOutcome]:
    """Several ``check_in`` calls at one moment, in one transaction (group commit of served
    check-ins): one ledger lock, the rules and levels read once, the replays, today's
    check-ins, streaks and XP read once for the batch.

    Each ``(member id, operation id or None)`` gets what ``check_in`` would have answered had
    the requests come one after another in this order: its check-in, the check-in its operation
    id made before (a replay, in this batch or earlier), or ``AlreadyCheckedIn`` (returned, not
    raised), so the same member twice in a batch is paid once.
    """
    moment = now or utc_now()
    if not requests:
        return []
    with uow:
        # The batch's members' shards only: other members check in meanwhile. The locks also
        # keep each of these members' check-ins (one per local day, the streak) serial. Their
        # XP (the level multiplier) comes in the locking statement.
        xp = _lock_with_xp(uow, list(dict.fromkeys(m for m, _ in requests)))
        earlier, last = batch_checkins(
            uow.session, [m for m, _ in requests], [o for _, o in requests if o is not None]
        )
        rules, levels = current_programme(uow)
        today = rules.local_day(moment).isoformat()
        done = _checked_in_on(uow, today, last)
        fresh: dict[int, str | None] = {}  # member → the operation id of their new check-in
        plan: list[int | CheckInOutcome] = []  # a member id: their new check-in
        for member_id, operation in requests:
            replayed = None if operation is None else earlier.get(operation)
            if replayed is not None and replayed.member_id == member_id:
                plan.append(_checkin_of(replayed))
            elif member_id in fresh and operation is not None and fresh[member_id] == operation:
                plan.append(member_id)  # a replay of the check-in this batch makes
            elif member_id in done or member_id in fresh:
                plan.append(_already(today, rules))
            else:
                fresh[member_id] = operation
                plan.append(member_id)
        operations = {m: o for m, o in fresh.items() if o is not None}
        made = {
            c.member_id: c
            for c in (
                _check_ins(
                    uow,
                    list(fresh),
                    rules,
                    moment,
                    operation_ids=operations,
                    last=last,
                    levels=levels,
                    xp=xp,
                )
                if fresh
                else []
            )
        }
        uow.commit()
    return [made[p] if isinstance(p, int) else p for p in plan]


def _lock_with_xp(uow: LedgerUnitOfWork, member_ids: Sequence[int]) -> dict[BalanceKey, Balance]:
    """Lock the members' shards and read their XP balances, in one statement (a member's
    account has one balance row, stripe 0)."""
    accounts = [account for member_id in member_ids for account in member_accounts(member_id)]
    rows = [(xp_account(member_id), XP, 0) for member_id in member_ids]
    _, found = uow.ledger.lock_and_prefetch(accounts, (), balances=rows, reserve=0)
    return {(account, asset): found.balances[(account, asset, 0)] for account, asset, _ in rows}


def _checked_in_on(
    uow: LedgerUnitOfWork, local_date: str, last: Mapping[int, tuple[str, int]]
) -> set[int]:
    """Which members of ``last`` (their latest check-ins) checked in on ``local_date``: those
    whose latest is that day, and those of a later day who also have one then (read only for
    them: a programme time zone moved west can make a later day exist)."""
    done = {member for member, (day, _) in last.items() if day == local_date}
    later = [member for member, (day, _) in last.items() if day > local_date]
    return done | (uow.engagement.checked_in_on(local_date, later) if later else set())


def _already(local_date: str, rules: EarningRules) -> AlreadyCheckedIn:
    return AlreadyCheckedIn(
        f"already checked in on {local_date} ({rules.timezone})",
        rule="one_checkin_per_local_day",
        local_date=local_date,
    )


def _checkin_of(row: StoredCheckIn) -> CheckIn:
    return CheckIn(row.member_id, row.local_date, row.streak, row.points, row.xp, row.created_at)


def check_in_many(
    uow: LedgerUnitOfWork, member_ids: Sequence[int], *, now: datetime | None = None
) -> list[CheckIn]:
    """The daily check-in of many members at one moment, in one transaction (bulk imports, the
    season simulation): each is paid exactly as ``check_in`` would pay them. Members already
    checked in on that local day are left out of the result rather than refused."""
    moment = now or utc_now()
    wanted = list(dict.fromkeys(member_ids))
    if not wanted:
        return []
    with uow:
        uow.ledger.lock_head()
        rules = current_rules(uow)
        last = uow.engagement.last_checkins(wanted)
        done = _checked_in_on(uow, rules.local_day(moment).isoformat(), last)
        made = _check_ins(uow, [m for m in wanted if m not in done], rules, moment, last=last)
        uow.commit()
    return made


def _check_ins(
    uow: LedgerUnitOfWork,
    member_ids: Sequence[int],
    rules: EarningRules,
    moment: datetime,
    *,
    operation_ids: Mapping[int, str] | None = None,
    last: Mapping[int, tuple[str, int]] | None = None,
    levels: LevelTable | None = None,
    xp: Mapping[BalanceKey, Balance] | None = None,
) -> list[CheckIn]:
    """Pay and record the check-ins of members not yet checked in today (open txn, head locked)
    as the transaction's last writes: the caller commits right after. ``operation_ids`` are
    stored with the check-ins of the members they name; ``last``: their latest check-ins
    (``last_checkins``), ``levels``: the level table, and ``xp``: their XP balances, if the
    caller has read them (under the lock)."""
    operations = operation_ids or {}
    today = rules.local_day(moment)
    if last is None:
        last = uow.engagement.last_checkins(member_ids)
    if xp is None:
        xp = uow.ledger.balances_of([(xp_account(m), XP) for m in member_ids])
    levels = levels or current_levels(uow)
    payouts: list[tuple[int, list[LedgerRequest]]] = []
    made: list[CheckIn] = []
    for member_id in member_ids:
        last_day, last_streak = last.get(member_id, (None, 0))
        streak = next_streak(
            None if last_day is None else date.fromisoformat(last_day), last_streak, today
        )
        base, bonus = rules.checkin, rules.streak_bonus(streak)
        level = levels.level_for(xp[(xp_account(member_id), XP)].credits_posted)
        total = scaled(
            Award(base.points + bonus.points, base.xp + bonus.xp),
            level.privileges.points_multiplier,
        )
        payouts.append(
            (
                member_id,
                award_requests(
                    member_id,
                    total,
                    id_prefix=f"checkin:{member_id}:{today.isoformat()}",
                    reason="checkin",
                    reference=f"check-in {today.isoformat()}",
                    metadata={"streak": streak},
                ),
            )
        )
        made.append(CheckIn(member_id, today.isoformat(), streak, total.points, total.xp, moment))
    # The check-ins first: the ledger's write is then the last statement, and carries the
    # COMMIT (``pay_many(commits=True)``) unless a level is crossed.
    uow.engagement.add_checkins(
        [
            {
                "member_id": c.member_id,
                "local_date": c.local_date,
                "streak": c.streak,
                "points": c.points,
                "xp": c.xp,
                "created_at": c.created_at,
                "operation_id": operations.get(c.member_id),
            }
            for c in made
        ]
    )
    pay_many(
        uow,
        payouts,
        now=moment,
        xp_before={account: balance.credits_posted for (account, _), balance in xp.items()},
        levels=levels,
        commits=True,
    )
    return made
