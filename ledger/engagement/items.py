"""The reward catalog: items, their stock (a ``stock:<key>`` account) and listing."""

from __future__ import annotations

from datetime import datetime

from core.clock import utc_now
from core.errors import Conflict, RuleViolation
from core.segments.services import check_target
from ledger.catalog import ITEM_KEY, RewardItem
from ledger.model import ISSUANCE, TransferRequest, item_asset, stock_account
from ledger.services.transfers import append
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.store.engagement import RewardItemRow


class OutOfStock(RuleViolation):
    slug = "out-of-stock"


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
    target_segment: str | None = None,
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
            target_segment=check_target(uow.session, target_segment),
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
    return item_of(row)


def stock_left(uow: LedgerUnitOfWork, item_key: str) -> int:
    """Units of the item left to award or redeem (open txn)."""
    return uow.ledger.balance(stock_account(item_key), item_asset(item_key)).available


def list_items(
    uow: LedgerUnitOfWork, *, after: int | None, limit: int
) -> tuple[list[tuple[RewardItem, int]], int | None]:
    """Catalog items with the stock each has left."""
    with uow.reading():
        rows, last = uow.engagement.items(after=after, limit=limit)
        return [(item_of(row), stock_left(uow, row.key)) for row in rows], last


def item_of(row: RewardItemRow) -> RewardItem:
    """The catalog item a stored row describes."""
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
        target_segment=row.target_segment,
    )
