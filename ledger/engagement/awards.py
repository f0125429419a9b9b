"""Awards: points and XP (and reward items) paid by deterministic transfer ids, and the level
events their XP crosses. Contest prizes and PK rounds arrive here; check-ins, tasks and
referrals pay through ``pay``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import utc_now
from core.errors import RuleViolation
from core.outbox import LEVEL_UP, NewEvent
from core.outbox_store import record_event
from ledger.earning import Award, multiplied
from ledger.engagement.configuration import current_levels
from ledger.engagement.items import OutOfStock, stock_left
from ledger.levels import LevelTable
from ledger.model import (
    ISSUANCE,
    POINTS,
    XP,
    AccountId,
    LedgerRequest,
    Transfer,
    TransferRequest,
    inventory_account,
    item_asset,
    points_account,
    stock_account,
    xp_account,
)
from ledger.services.transfers import LedgerRefusal, append_reporting_replay, record_failures
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.store.engagement import LevelEventRow


def award_requests(
    member_id: int,
    award: Award,
    *,
    id_prefix: str,
    reason: str,
    reference: str,
    metadata: dict[str, Any] | None = None,
) -> list[LedgerRequest]:
    """Issuance of ``award``'s points and XP to the member, ids ``<id_prefix>:points|xp``."""
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


def pay(
    uow: LedgerUnitOfWork, member_id: int, requests: list[LedgerRequest], *, now: datetime
) -> list[Transfer]:
    """Append award transfers and record any level crossed by their XP (in the open txn)."""
    return pay_many(uow, [(member_id, requests)], now=now)


def pay_many(
    uow: LedgerUnitOfWork,
    payouts: Sequence[tuple[int, list[LedgerRequest]]],
    *,
    now: datetime,
    xp_before: Mapping[AccountId, int] | None = None,
    levels: LevelTable | None = None,
    commits: bool = False,
) -> list[Transfer]:
    """Append the award transfers of several members as one group and record the levels their
    XP crossed (in the open txn). ``xp_before``: lifetime XP per XP account, and ``levels``:
    the level table, if the caller has read them already. A replayed group moves no XP, so
    records no level. ``commits``: the caller commits right after and has nothing pending;
    when no level is crossed the ledger's write then carries the COMMIT (one round trip)."""
    requests = [request for _, member_requests in payouts for request in member_requests]
    if not requests:
        return []
    accounts = list(dict.fromkeys(xp_account(member_id) for member_id, paid in payouts if paid))
    # Locked before the XP is read, so a concurrent award cannot cross the same level too
    # (held already when the caller locked them: no statement).
    uow.ledger.lock_accounts(accounts_of(requests))
    if xp_before is None:
        read = uow.ledger.balances_of((account, XP) for account in accounts)
        xp_before = {account: read[(account, XP)].credits_posted for account in accounts}
    # The levels crossed, from the requests when each is a plain transfer (what it moves is
    # what it asks), so the write knows whether it is the transaction's last.
    plain = [r for r in requests if isinstance(r, TransferRequest)]
    events = (
        _level_events(uow, _xp_gained(plain), xp_before, levels, now)
        if len(plain) == len(requests)
        else None
    )
    made, replayed = append_reporting_replay(
        uow.ledger, requests, now=now, commits=commits and events == []
    )
    if replayed:
        return made
    if events is None:
        events = _level_events(uow, _xp_gained(made), xp_before, levels, now)
    if events:
        uow.engagement.add_all(events)
        for event in events:
            record_event(
                uow.session,
                LEVEL_UP,
                {
                    "member_id": event.member_id,
                    "level": event.level,
                    "lifetime_xp": event.lifetime_xp,
                    "table_version": event.table_version,
                    "transfer_id": event.transfer_id,
                    "occurred_at": event.occurred_at.isoformat(),
                },
                f"level.up:{event.transfer_id}:{event.level}",
                now=now,
            )
    return made


def _xp_gained(moves: Sequence[TransferRequest | Transfer]) -> dict[AccountId, tuple[int, str]]:
    """XP account → (XP the ``moves`` credit it, the id of the first)."""
    gained: dict[AccountId, tuple[int, str]] = {}
    for move in moves:
        if move.asset == XP:
            added, first = gained.get(move.credit, (0, move.id))
            gained[move.credit] = (added + move.amount, first)
    return gained


def _level_events(
    uow: LedgerUnitOfWork,
    gained: Mapping[AccountId, tuple[int, str]],
    xp_before: Mapping[AccountId, int],
    levels: LevelTable | None,
    now: datetime,
) -> list[LevelEventRow]:
    """The level events of ``gained`` XP (account → XP added, its first transfer's id) over
    ``xp_before``: one per level crossed (the level table read only if some XP is gained)."""
    table = levels
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
    return events


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
    events: Sequence[NewEvent] = (),
) -> list[Transfer]:
    """Pay points, XP and optionally one reward item, idempotently by ``award_id``.

    ``events`` are outbox events recorded in the award's transaction (so they exist iff the
    award committed; a replay records none twice).

    Contest prizes arrive here from the engine with deterministic ids
    (e.g. ``prize:<contest>:<member>``), so settlement can run again without paying twice.
    An item out of stock raises ``OutOfStock`` before anything is appended, so the id is not
    recorded as failed and the same award can be paid once the stock is refilled.
    """
    moment = now or utc_now()
    requests = award_requests(
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

    def pay_award() -> list[Transfer]:
        if item_key is not None:
            _require_stock(uow, item_key, requests)
        paid = pay(uow, member_id, requests, now=moment)
        for event in events:
            record_event(uow.session, event.kind, event.payload, event.event_id, now=moment)
        return paid

    return _guarded(uow, requests, pay_award, now=moment)


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
            award_requests(
                member_id, grant, id_prefix=award_id, reason=reason, reference=reference
            ),
        )
        for member_id, grant, award_id in grants
    ]
    requests = [request for _, paid in payouts for request in paid]
    if not requests:
        return []
    return _guarded(uow, requests, lambda: pay_many(uow, payouts, now=moment), now=moment)


def _require_stock(uow: LedgerUnitOfWork, item_key: str, requests: list[LedgerRequest]) -> None:
    """Refuse an item award when the stock is empty, unless the award is a replay (open txn;
    the locks of the award's shards, the stock account's among them, keep the stock from
    moving between this check and the append)."""
    uow.ledger.lock_accounts(accounts_of(requests))
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


def accounts_of(requests: Sequence[LedgerRequest]) -> set[AccountId]:
    """The accounts ``requests`` name (resolutions name none: their holds hold them)."""
    return {
        account
        for request in requests
        if isinstance(request, TransferRequest)
        for account in (request.debit, request.credit)
    }


def scaled(award_: Award, multiplier: Decimal) -> Award:
    """``award_`` with its points scaled by a level's multiplier (XP is never scaled)."""
    return Award(points=multiplied(award_.points, multiplier), xp=award_.xp)
