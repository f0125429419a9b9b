"""Engagement use cases on top of the ledger: levels, check-ins, tasks, referrals, prizes and the
reward catalog. Every award is ledger transfers with deterministic ids, so a retried request
(or a crash and replay) never pays twice; each use case is one transaction under the chain-head
lock, which also serializes the per-member rules (one check-in a day, task caps, limits).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.clock import utc_now
from core.errors import Conflict, NotFound, RuleViolation
from ledger.catalog import (
    ITEM_KEY,
    Redemption,
    RedemptionStatus,
    RewardItem,
    check_redeemable,
)
from ledger.earning import (
    Award,
    EarningRules,
    TaskRule,
    check_timezone,
    iso_week,
    multiplied,
    next_streak,
)
from ledger.levels import DEFAULT_LEVELS, Level, LevelTable, Privileges, check_levels
from ledger.model import (
    ISSUANCE,
    POINTS,
    REDEEMED,
    XP,
    AccountId,
    Balance,
    InsufficientFunds,
    LedgerRequest,
    ResolvePending,
    Transfer,
    TransferRequest,
    inventory_account,
    item_asset,
    points_account,
    stock_account,
    xp_account,
)
from ledger.services import LedgerRefusal, LedgerUnitOfWork, append, record_failures
from ledger.store import (
    CheckInRow,
    EarningRulesRow,
    LevelEventRow,
    LevelTableRow,
    RedemptionRow,
    ReferralRow,
    RewardItemRow,
    TaskCompletionRow,
)

FULFILMENT_HOLD_SECONDS = 30 * 24 * 3600


class AlreadyCheckedIn(Conflict):
    slug = "already-checked-in"


class OutOfStock(RuleViolation):
    slug = "out-of-stock"


# --- configuration ----------------------------------------------------------------------------


def current_levels(uow: LedgerUnitOfWork) -> LevelTable:
    row = uow.engagement.latest_levels()
    if row is None:
        return DEFAULT_LEVELS
    return LevelTable(row.version, tuple(_level_from_json(item) for item in row.levels))


def current_rules(uow: LedgerUnitOfWork) -> EarningRules:
    row = uow.engagement.latest_rules()
    return EarningRules() if row is None else rules_from_json(row.rules, version=row.version)


def set_levels(
    uow: LedgerUnitOfWork, levels: list[Level], *, operator_id: int, now: datetime | None = None
) -> LevelTable:
    """Publish a new version of the level table (earlier versions stay on record)."""
    checked = check_levels(levels)
    with uow:
        version = current_levels(uow).version + 1
        uow.engagement.add(
            LevelTableRow(
                version=version,
                levels=[_level_to_json(lv) for lv in checked],
                created_by=operator_id,
                created_at=now or utc_now(),
            )
        )
        uow.commit()
    return LevelTable(version, checked)


def set_earning_rules(
    uow: LedgerUnitOfWork, rules: EarningRules, *, operator_id: int, now: datetime | None = None
) -> EarningRules:
    """Publish a new version of the earning rules."""
    check_timezone(rules.timezone)
    with uow:
        version = current_rules(uow).version + 1
        uow.engagement.add(
            EarningRulesRow(
                version=version,
                rules=rules_to_json(rules),
                created_by=operator_id,
                created_at=now or utc_now(),
            )
        )
        uow.commit()
    return dataclasses.replace(rules, version=version)


# --- awards -----------------------------------------------------------------------------------


def _award_requests(
    member_id: int,
    award: Award,
    *,
    id_prefix: str,
    reason: str,
    reference: str,
    metadata: dict[str, Any] | None = None,
) -> list[LedgerRequest]:
    requests: list[LedgerRequest] = []
    for amount, account, asset, suffix in (
        (award.points, points_account(member_id), POINTS, "points"),
        (award.xp, xp_account(member_id), XP, "xp"),
    ):
        if amount > 0:
            requests.append(
                TransferRequest(
                    id=f"{id_prefix}:{suffix}",
                    debit=ISSUANCE,
                    credit=account,
                    asset=asset,
                    amount=amount,
                    reason=reason,
                    reference=reference,
                    metadata=metadata or {},
                )
            )
    return requests


def _pay(
    uow: LedgerUnitOfWork, member_id: int, requests: list[LedgerRequest], *, now: datetime
) -> list[Transfer]:
    """Append award transfers and record any level crossed by their XP (in the open txn)."""
    return _pay_many(uow, [(member_id, requests)], now=now)


def _pay_many(
    uow: LedgerUnitOfWork,
    payouts: Sequence[tuple[int, list[LedgerRequest]]],
    *,
    now: datetime,
    xp_before: Mapping[AccountId, int] | None = None,
) -> list[Transfer]:
    """Append the award transfers of several members as one group and record the levels their
    XP crossed (in the open txn). ``xp_before``: lifetime XP per XP account, if the caller
    has read it already. A replayed group moves no XP, so records no level."""
    requests = [request for _, member_requests in payouts for request in member_requests]
    if not requests:
        return []
    accounts = list(dict.fromkeys(xp_account(member_id) for member_id, paid in payouts if paid))
    if xp_before is None:
        read = uow.ledger.balances_of((account, XP) for account in accounts)
        xp_before = {account: read[(account, XP)].credits_posted for account in accounts}
    last_seq = uow.ledger.lock_head().last_seq
    made = append(uow.ledger, requests, now=now)
    gained: dict[AccountId, tuple[int, str]] = {}  # XP account → (XP added, first transfer)
    for t in made:
        if t.asset == XP and t.seq > last_seq:
            added, first = gained.get(t.credit, (0, t.id))
            gained[t.credit] = (added + t.amount, first)
    table: LevelTable | None = None
    events: list[LevelEventRow] = []
    for account, (added, xp_transfer) in gained.items():
        table = table or current_levels(uow)
        before, after = xp_before[account], xp_before[account] + added
        reached_from, reached = table.level_for(before), table.level_for(after)
        events += [
            LevelEventRow(
                member_id=int(account.split(":")[1]),
                level=level.number,
                lifetime_xp=after,
                table_version=table.version,
                transfer_id=xp_transfer,
                occurred_at=now,
            )
            for level in table.levels
            if reached_from.number < level.number <= reached.number
        ]
    if events:
        uow.engagement.add_all(events)
    return made


def award(
    uow: LedgerUnitOfWork,
    member_id: int,
    grant: Award,
    *,
    award_id: str,
    reason: str,
    reference: str = "",
    item_key: str | None = None,
    now: datetime | None = None,
) -> list[Transfer]:
    """Pay points, XP and optionally one reward item, idempotently by ``award_id``.

    Contest prizes arrive here from the engine with deterministic ids
    (e.g. ``prize:<contest>:<member>``), so settlement can run again without paying twice.
    An item out of stock raises ``OutOfStock`` before anything is appended, so the id is not
    recorded as failed and the same award can be paid once the stock is refilled.
    """
    moment = now or utc_now()
    requests = _award_requests(
        member_id, grant, id_prefix=award_id, reason=reason, reference=reference
    )
    if item_key is not None:
        requests.append(
            TransferRequest(
                id=f"{award_id}:item",
                debit=stock_account(item_key),
                credit=inventory_account(member_id),
                asset=item_asset(item_key),
                amount=1,
                reason=reason,
                reference=reference,
            )
        )
    if not requests:
        raise RuleViolation("an award needs points, XP or an item", field="award", rule="non_empty")

    def pay() -> list[Transfer]:
        if item_key is not None:
            _require_stock(uow, item_key, requests)
        return _pay(uow, member_id, requests, now=moment)

    return _guarded(uow, requests, pay, now=moment)


def award_many(
    uow: LedgerUnitOfWork,
    grants: Sequence[tuple[int, Award, str]],
    *,
    reason: str,
    reference: str = "",
    now: datetime | None = None,
) -> list[Transfer]:
    """Pay several members points and XP in one transaction: ``grants`` are (member id,
    award, award id), each paid as ``award`` pays it. The group is idempotent as a whole: a
    rerun with the same grants replays the original transfers (so callers keep a group's
    membership fixed, e.g. one PK round's winners)."""
    moment = now or utc_now()
    payouts = [
        (
            member_id,
            _award_requests(
                member_id, grant, id_prefix=award_id, reason=reason, reference=reference
            ),
        )
        for member_id, grant, award_id in grants
    ]
    requests = [request for _, paid in payouts for request in paid]
    if not requests:
        return []
    return _guarded(uow, requests, lambda: _pay_many(uow, payouts, now=moment), now=moment)


def _require_stock(uow: LedgerUnitOfWork, item_key: str, requests: list[LedgerRequest]) -> None:
    """Refuse an item award when the stock is empty, unless the award is a replay (open txn;
    the head lock keeps the stock from moving between this check and the append)."""
    uow.ledger.lock_head()
    if uow.ledger.transfers_by_id(r.id for r in requests):
        return  # ``append`` returns the original transfers (or names a conflict)
    if stock_left(uow, item_key) < 1:
        raise OutOfStock(
            f"reward item {item_key!r} is out of stock", field="item_key", rule="in_stock"
        )


def _guarded(
    uow: LedgerUnitOfWork, requests: list[LedgerRequest], work: Any, *, now: datetime
) -> Any:
    """Run ``work`` in one write transaction; record refused ledger ids as failed."""
    try:
        with uow:
            result = work()
            uow.commit()
            return result
    except LedgerRefusal as refusal:
        record_failures(uow, requests, refusal, now=now)
        raise refusal.error from None


def _multiplier(uow: LedgerUnitOfWork, member_id: int) -> Privileges:
    xp = uow.ledger.balance(xp_account(member_id), XP).credits_posted
    return current_levels(uow).level_for(xp).privileges


def _scaled(award_: Award, multiplier: Decimal) -> Award:
    return Award(points=multiplied(award_.points, multiplier), xp=award_.xp)


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
    moment = now or utc_now()
    with uow:
        uow.ledger.lock_head()
        if operation_id is not None:
            done = uow.engagement.checkin_by_operation(operation_id)
            if done is not None and done.member_id == member_id:
                return _checkin_of(done)
        rules = current_rules(uow)
        today = rules.local_day(moment)
        if uow.engagement.checkin(member_id, today.isoformat()) is not None:
            raise AlreadyCheckedIn(
                f"already checked in on {today.isoformat()} ({rules.timezone})",
                rule="one_checkin_per_local_day",
                local_date=today.isoformat(),
            )
        operations = {} if operation_id is None else {member_id: operation_id}
        (made,) = _check_ins(uow, [member_id], rules, moment, operation_ids=operations)
        uow.commit()
    return made


def _checkin_of(row: CheckInRow) -> CheckIn:
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
        done = uow.engagement.checked_in_on(rules.local_day(moment).isoformat(), wanted)
        made = _check_ins(uow, [m for m in wanted if m not in done], rules, moment)
        uow.commit()
    return made


def _check_ins(
    uow: LedgerUnitOfWork,
    member_ids: Sequence[int],
    rules: EarningRules,
    moment: datetime,
    *,
    operation_ids: Mapping[int, str] | None = None,
) -> list[CheckIn]:
    """Pay and record the check-ins of members not yet checked in today (open txn, head locked);
    ``operation_ids`` are stored with the check-ins of the members they name."""
    operations = operation_ids or {}
    today = rules.local_day(moment)
    last = uow.engagement.last_checkins(member_ids)
    xp = uow.ledger.balances_of([(xp_account(m), XP) for m in member_ids])
    levels = current_levels(uow)
    payouts: list[tuple[int, list[LedgerRequest]]] = []
    made: list[CheckIn] = []
    for member_id in member_ids:
        last_day, last_streak = last.get(member_id, (None, 0))
        streak = next_streak(
            None if last_day is None else date.fromisoformat(last_day), last_streak, today
        )
        base, bonus = rules.checkin, rules.streak_bonus(streak)
        level = levels.level_for(xp[(xp_account(member_id), XP)].credits_posted)
        total = _scaled(
            Award(base.points + bonus.points, base.xp + bonus.xp),
            level.privileges.points_multiplier,
        )
        payouts.append(
            (
                member_id,
                _award_requests(
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
    _pay_many(
        uow,
        payouts,
        now=moment,
        xp_before={account: balance.credits_posted for (account, _), balance in xp.items()},
    )
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
    return made


@dataclass(frozen=True, slots=True)
class TaskCompletion:
    id: str
    member_id: int
    task_key: str
    points: int
    xp: int
    created_at: datetime


def complete_task(
    uow: LedgerUnitOfWork,
    member_id: int,
    task_key: str,
    *,
    completion_id: str,
    now: datetime | None = None,
) -> TaskCompletion:
    """Reward a task completion within the task's window and its per-day / per-week caps."""
    moment = now or utc_now()
    with uow:
        uow.ledger.lock_head()
        existing = uow.engagement.task_completion(completion_id)
        if existing is not None and existing.member_id == member_id:
            return _completion(existing)
        rules = current_rules(uow)
        task = rules.tasks.get(task_key)
        if task is None:
            raise NotFound(f"no task {task_key!r}", field="task_key")
        _check_task(uow, member_id, task, rules, moment)
        today = rules.local_day(moment)
        reward = _scaled(task.award, _multiplier(uow, member_id).points_multiplier)
        requests = _award_requests(
            member_id, reward, id_prefix=f"task:{completion_id}", reason="task", reference=task_key
        )
        _pay(uow, member_id, requests, now=moment)
        row = TaskCompletionRow(
            id=completion_id,
            member_id=member_id,
            task_key=task_key,
            local_date=today.isoformat(),
            iso_week=iso_week(today),
            points=reward.points,
            xp=reward.xp,
            created_at=moment,
        )
        uow.engagement.add(row)
        uow.commit()
    return _completion(row)


def _check_task(
    uow: LedgerUnitOfWork, member_id: int, task: TaskRule, rules: EarningRules, moment: datetime
) -> None:
    if not task.open_at(moment):
        raise RuleViolation(
            f"task {task.key!r} is not open now", field="task_key", rule="task_window"
        )
    today = rules.local_day(moment)
    done_today, done_week = uow.engagement.task_counts(
        member_id, task.key, today.isoformat(), iso_week(today)
    )
    if task.per_day_cap is not None and done_today >= task.per_day_cap:
        raise RuleViolation(
            f"task {task.key!r} pays at most {task.per_day_cap} time(s) a day",
            field="task_key",
            rule="per_day_cap",
        )
    if task.per_week_cap is not None and done_week >= task.per_week_cap:
        raise RuleViolation(
            f"task {task.key!r} pays at most {task.per_week_cap} time(s) a week",
            field="task_key",
            rule="per_week_cap",
        )


def _completion(row: TaskCompletionRow) -> TaskCompletion:
    return TaskCompletion(row.id, row.member_id, row.task_key, row.points, row.xp, row.created_at)


def record_referral(
    uow: LedgerUnitOfWork, *, invitee_id: int, inviter_id: int, now: datetime | None = None
) -> None:
    """Remember who invited a member; rewarded later, once, on the qualifying action."""
    if invitee_id == inviter_id:
        raise RuleViolation(
            "members cannot refer themselves", field="referral_code", rule="no_self_referral"
        )
    with uow:
        if uow.engagement.referral_of(invitee_id) is not None:
            raise Conflict(f"member {invitee_id} already has a referrer", rule="one_referrer")
        uow.engagement.add(
            ReferralRow(invitee_id=invitee_id, inviter_id=inviter_id, created_at=now or utc_now())
        )
        uow.commit()


def complete_referral(
    uow: LedgerUnitOfWork, invitee_id: int, *, now: datetime | None = None
) -> list[Transfer]:
    """The invitee's qualifying action (first contest trade): reward both sides, once ever."""
    moment = now or utc_now()
    with uow:
        uow.ledger.lock_head()
        referral = uow.engagement.referral_of(invitee_id)
        if referral is None:
            return []
        rules = current_rules(uow)
        prefix = f"referral:{invitee_id}"
        made = _pay(
            uow,
            referral.inviter_id,
            _award_requests(
                referral.inviter_id,
                rules.referral_inviter,
                id_prefix=f"{prefix}:inviter",
                reason="referral",
                reference=f"invited member {invitee_id}",
            ),
            now=moment,
        )
        made += _pay(
            uow,
            invitee_id,
            _award_requests(
                invitee_id,
                rules.referral_invitee,
                id_prefix=f"{prefix}:invitee",
                reason="referral",
                reference=f"invited by member {referral.inviter_id}",
            ),
            now=moment,
        )
        uow.commit()
    return made


# --- catalog ----------------------------------------------------------------------------------


def create_item(
    uow: LedgerUnitOfWork,
    *,
    key: str,
    name: str,
    cost_points: int,
    stock: int,
    min_level: int = 1,
    per_member_limit: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    needs_fulfilment: bool = False,
    now: datetime | None = None,
) -> RewardItem:
    """A catalog item and its initial stock (issued into ``stock:<key>``)."""
    moment = now or utc_now()
    if not ITEM_KEY.fullmatch(key):
        raise RuleViolation(
            "item keys are 1-64 of a-z, 0-9, '_', '-'", field="key", rule="key_format"
        )
    if valid_from and valid_until and valid_until <= valid_from:
        raise RuleViolation(
            "valid_until must follow valid_from", field="valid_until", rule="window_order"
        )
    with uow:
        if uow.engagement.item_by_key(key) is not None:
            raise Conflict(f"item key {key!r} is taken", field="key")
        row = RewardItemRow(
            key=key,
            name=name,
            cost_points=cost_points,
            min_level=min_level,
            per_member_limit=per_member_limit,
            valid_from=valid_from,
            valid_until=valid_until,
            needs_fulfilment=needs_fulfilment,
            created_at=moment,
        )
        uow.engagement.add(row)
        if stock > 0:
            append(
                uow.ledger,
                [
                    TransferRequest(
                        id=f"stock:{key}:initial",
                        debit=ISSUANCE,
                        credit=stock_account(key),
                        asset=item_asset(key),
                        amount=stock,
                        reason="stock",
                    )
                ],
                now=moment,
            )
        uow.commit()
    return _item(row)


def stock_left(uow: LedgerUnitOfWork, item_key: str) -> int:
    return uow.ledger.balance(stock_account(item_key), item_asset(item_key)).available


def list_items(
    uow: LedgerUnitOfWork, *, after: int | None, limit: int
) -> tuple[list[tuple[RewardItem, int]], int | None]:
    """Catalog items with the stock each has left."""
    with uow.reading():
        rows, last = uow.engagement.items(after=after, limit=limit)
        return [(_item(row), stock_left(uow, row.key)) for row in rows], last


def redeem(
    uow: LedgerUnitOfWork,
    member_id: int,
    item_id: int,
    *,
    redemption_id: str,
    now: datetime | None = None,
) -> Redemption:
    """Points out and one item into the member's inventory, as one linked pair of transfers.

    Items that need fulfilment are held (pending) until an operator fulfils or cancels.
    """
    moment = now or utc_now()
    requests: list[LedgerRequest] = []
    try:
        with uow:
            uow.ledger.lock_head()
            done = uow.engagement.redemption(redemption_id)
            if done is not None and done.member_id == member_id and done.item_id == item_id:
                return _redemption(uow, done)
            row = uow.engagement.item(item_id)
            if row is None:
                raise NotFound(f"no reward item {item_id}", field="item_id")
            item = _item(row)
            level = summary_in(uow, member_id).level.number
            check_redeemable(
                item,
                level=level,
                redeemed_before=_live_redemptions(uow, member_id, item_id),
                now=moment,
            )
            if stock_left(uow, item.key) < 1:
                raise OutOfStock(f"{item.name} is out of stock", field="item_id", rule="in_stock")
            requests = _redemption_requests(redemption_id, member_id, item)
            append(uow.ledger, requests, now=moment)
            record = RedemptionRow(
                id=redemption_id,
                member_id=member_id,
                item_id=item_id,
                cost_points=item.cost_points,
                points_transfer_id=requests[0].id,
                stock_transfer_id=requests[1].id,
                created_at=moment,
            )
            uow.engagement.add(record)
            uow.commit()
            return _redemption(uow, record)
    except LedgerRefusal as refusal:
        record_failures(uow, requests, refusal, now=moment)
        error = refusal.error
        if isinstance(error, InsufficientFunds):
            raise InsufficientFunds(
                f"not enough points to redeem: {error.detail}",
                field="item_id",
                rule="enough_points",
            ) from None
        raise error from None


def _redemption_requests(
    redemption_id: str, member_id: int, item: RewardItem
) -> list[LedgerRequest]:
    """Points to ``system:redeemed`` and one item to the member: held if fulfilment is needed."""
    timeout = FULFILMENT_HOLD_SECONDS if item.needs_fulfilment else None
    legs = [
        ("points", points_account(member_id), REDEEMED, POINTS, item.cost_points),
        ("item", stock_account(item.key), inventory_account(member_id), item_asset(item.key), 1),
    ]
    return [
        TransferRequest(
            id=f"{redemption_id}:{leg}",
            debit=debit,
            credit=credit,
            asset=asset,
            amount=amount,
            reason="redemption",
            reference=item.key,
            pending=item.needs_fulfilment,
            timeout_seconds=timeout,
        )
        for leg, debit, credit, asset, amount in legs
    ]


def _live_redemptions(uow: LedgerUnitOfWork, member_id: int, item_id: int) -> int:
    """Redemptions of the item by the member that were not cancelled."""
    return sum(
        1
        for record in uow.engagement.redemptions_of_item(member_id, item_id)
        if _status(uow, record) is not RedemptionStatus.CANCELLED
    )


def resolve_redemption(
    uow: LedgerUnitOfWork, redemption_id: str, *, fulfil: bool, now: datetime | None = None
) -> Redemption:
    """Fulfil (post the holds) or cancel (void them) a redemption awaiting fulfilment."""
    moment = now or utc_now()
    action = "fulfil" if fulfil else "cancel"
    requests: list[LedgerRequest] = []
    try:
        with uow:
            uow.ledger.lock_head()
            record = uow.engagement.redemption(redemption_id)
            if record is None:
                raise NotFound(f"no redemption {redemption_id!r}", field="redemption_id")
            status = _status(uow, record)
            if status is not RedemptionStatus.PENDING:
                raise Conflict(
                    f"redemption is {status.value}; only pending ones can be {action}ed",
                    rule="pending_only",
                    redemption_status=status.value,
                )
            requests = [
                ResolvePending(
                    id=f"{transfer_id}:{action}",
                    pending_id=transfer_id,
                    post=fulfil,
                    reason="fulfilment" if fulfil else "cancellation",
                )
                for transfer_id in (record.points_transfer_id, record.stock_transfer_id)
            ]
            append(uow.ledger, requests, now=moment)
            uow.commit()
            return _redemption(uow, record)
    except LedgerRefusal as refusal:
        record_failures(uow, requests, refusal, now=moment)
        raise refusal.error from None


def redemptions_of(
    uow: LedgerUnitOfWork, member_id: int, *, before: str | None, limit: int
) -> tuple[list[Redemption], str | None]:
    with uow.reading():
        rows = uow.engagement.redemptions_of(member_id, before=before, limit=limit + 1)
        page = [_redemption(uow, row) for row in rows[:limit]]
    return page, (page[-1].id if len(rows) > limit else None)


def _status(uow: LedgerUnitOfWork, record: RedemptionRow) -> RedemptionStatus:
    resolution = uow.ledger.resolution_of(record.points_transfer_id)
    held = uow.ledger.transfers_by_id([record.points_transfer_id])[record.points_transfer_id]
    if held.kind.value == "posted":
        return RedemptionStatus.COMPLETED
    if resolution is None:
        return RedemptionStatus.PENDING
    if resolution.kind.value == "post_pending":
        return RedemptionStatus.FULFILLED
    return RedemptionStatus.CANCELLED


def _redemption(uow: LedgerUnitOfWork, record: RedemptionRow) -> Redemption:
    item = uow.engagement.item(record.item_id)
    return Redemption(
        id=record.id,
        member_id=record.member_id,
        item_id=record.item_id,
        item_key=item.key if item else "",
        cost_points=record.cost_points,
        status=_status(uow, record),
        created_at=record.created_at,
    )


def _item(row: RewardItemRow) -> RewardItem:
    return RewardItem(
        id=row.id,
        key=row.key,
        name=row.name,
        cost_points=row.cost_points,
        min_level=row.min_level,
        per_member_limit=row.per_member_limit,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        needs_fulfilment=row.needs_fulfilment,
        created_at=row.created_at,
    )


# --- summaries --------------------------------------------------------------------------------


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


# --- JSON forms of the versioned configuration ------------------------------------------------


def _level_to_json(level: Level) -> dict[str, Any]:
    return {
        "number": level.number,
        "name": level.name,
        "min_xp": level.min_xp,
        "points_multiplier": str(level.privileges.points_multiplier),
        "flags": sorted(level.privileges.flags),
    }


def _level_from_json(data: dict[str, Any]) -> Level:
    return Level(
        data["number"],
        data["name"],
        data["min_xp"],
        Privileges(Decimal(data["points_multiplier"]), frozenset(data["flags"])),
    )


def rules_to_json(rules: EarningRules) -> dict[str, Any]:
    def award_json(a: Award) -> dict[str, int]:
        return {"points": a.points, "xp": a.xp}

    def moment(m: datetime | None) -> str | None:
        return None if m is None else m.isoformat()

    return {
        "timezone": rules.timezone,
        "checkin": award_json(rules.checkin),
        "streak_bonuses": {str(day): award_json(a) for day, a in rules.streak_bonuses.items()},
        "repeat_streak_bonuses": rules.repeat_streak_bonuses,
        "tasks": {
            key: {
                "title": t.title,
                "award": award_json(t.award),
                "per_day_cap": t.per_day_cap,
                "per_week_cap": t.per_week_cap,
                "starts_at": moment(t.starts_at),
                "ends_at": moment(t.ends_at),
            }
            for key, t in rules.tasks.items()
        },
        "referral_inviter": award_json(rules.referral_inviter),
        "referral_invitee": award_json(rules.referral_invitee),
        "points_expiry_days": rules.points_expiry_days,
    }


def rules_from_json(data: dict[str, Any], *, version: int) -> EarningRules:
    def award_of(d: dict[str, int]) -> Award:
        return Award(d["points"], d["xp"])

    def moment(m: str | None) -> datetime | None:
        return None if m is None else datetime.fromisoformat(m)

    return EarningRules(
        version=version,
        timezone=data["timezone"],
        checkin=award_of(data["checkin"]),
        streak_bonuses={int(day): award_of(a) for day, a in data["streak_bonuses"].items()},
        repeat_streak_bonuses=data["repeat_streak_bonuses"],
        tasks={
            key: TaskRule(
                key,
                t["title"],
                award_of(t["award"]),
                t["per_day_cap"],
                t["per_week_cap"],
                moment(t["starts_at"]),
                moment(t["ends_at"]),
            )
            for key, t in data["tasks"].items()
        },
        referral_inviter=award_of(data["referral_inviter"]),
        referral_invitee=award_of(data["referral_invitee"]),
        points_expiry_days=data["points_expiry_days"],
    )
