"""Redemptions: points for a reward item, instantly or held until an operator fulfils or
cancels; a redemption's status is derived from its ledger transfers."""

from __future__ import annotations

from datetime import datetime

from core.clock import utc_now
from core.errors import Conflict, NotFound
from core.outbox import REDEMPTION_CREATED
from core.outbox_store import record_event
from core.segments.services import require_eligible
from ledger.catalog import Redemption, RedemptionStatus, RewardItem, check_redeemable
from ledger.engagement.items import OutOfStock, item_of, stock_left
from ledger.engagement.summaries import summary_in
from ledger.model import (
    POINTS,
    REDEEMED,
    InsufficientFunds,
    LedgerRequest,
    ResolvePending,
    TransferRequest,
    inventory_account,
    item_asset,
    points_account,
    stock_account,
)
from ledger.services.transfers import LedgerRefusal, append, record_failures
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.store.engagement import RedemptionRow

FULFILMENT_HOLD_SECONDS = 30 * 24 * 3600


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
            row = uow.engagement.item(item_id)
            if row is None:
                raise NotFound(f"no reward item {item_id}", field="item_id")
            item = item_of(row)
            # The member's shards and the item's stock's: redemptions of one member (its
            # limit per item, its points) and of one item (its stock) stay serial.
            uow.ledger.lock_accounts(_redemption_accounts(member_id, item.key))
            done = uow.engagement.redemption(redemption_id)
            if done is not None and done.member_id == member_id and done.item_id == item_id:
                return _redemption(uow, done)
            level = summary_in(uow, member_id).level.number
            check_redeemable(
                item,
                level=level,
                redeemed_before=_live_redemptions(uow, member_id, item_id),
                now=moment,
            )
            require_eligible(uow.session, member_id, item.target_segment, field="item_id")
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
            record_event(
                uow.session,
                REDEMPTION_CREATED,
                {
                    "redemption_id": redemption_id,
                    "member_id": member_id,
                    "item_id": item_id,
                    "item_key": item.key,
                    "cost_points": item.cost_points,
                    "needs_fulfilment": item.needs_fulfilment,
                    "created_at": moment.isoformat(),
                },
                f"redemption.created:{redemption_id}",
                now=moment,
            )
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


def _redemption_accounts(member_id: int, item_key: str) -> list[str]:
    """The accounts a redemption moves: the member's points and inventory, the item's stock."""
    return [points_account(member_id), inventory_account(member_id), stock_account(item_key)]


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
            record = uow.engagement.redemption(redemption_id)
            if record is None:
                raise NotFound(f"no redemption {redemption_id!r}", field="redemption_id")
            holds = uow.ledger.transfers_by_id(
                [record.points_transfer_id, record.stock_transfer_id]
            )
            # The shards of the accounts its holds moved (the member's, the stock's): one
            # resolution of them at a time.
            uow.ledger.lock_accounts(a for t in holds.values() for a in (t.debit, t.credit))
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


def get_redemption(uow: LedgerUnitOfWork, redemption_id: str) -> Redemption:
    """One redemption with its current status."""
    with uow.reading():
        record = uow.engagement.redemption(redemption_id)
        if record is None:
            raise NotFound(f"no redemption {redemption_id!r}", field="redemption_id")
        return _redemption(uow, record)


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
