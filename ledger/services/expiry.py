"""Expiry: holds whose timeout passed, and points earned too long ago and still unspent."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.clock import utc_now
from ledger.model import (
    EXPIRED,
    POINTS,
    AccountId,
    Balance,
    ResolvePending,
    Transfer,
    TransferRequest,
    expirable_points,
)
from ledger.services.transfers import append
from ledger.services.unit_of_work import LedgerUnitOfWork


def expire_holds(
    uow: LedgerUnitOfWork, *, now: datetime | None = None, limit: int = 1000
) -> list[Transfer]:
    """Release holds whose timeout has passed, each with an explicit expiry transfer."""
    moment = now or utc_now()
    with uow:
        uow.ledger.lock_head()
        requests = [
            ResolvePending(
                id=f"expire:{hold.id}",
                pending_id=hold.id,
                post=False,
                reason="expiry",
                expiry=True,
            )
            for hold in uow.ledger.lapsed_holds(moment, limit=limit)
        ]
        if not requests:
            return []
        made = append(uow.ledger, requests, now=moment)
        uow.commit()
        return made


EXPIRY_CHUNK = 500  # accounts judged and expired per transaction


def expire_points(
    uow: LedgerUnitOfWork, *, days: int, now: datetime | None = None
) -> list[Transfer]:
    """Expire points earned more than ``days`` ago that are still unspent (earliest lots first).

    Each member's expiry is an explicit debit to ``system:expired``; it never takes more than
    what is left of the expired lots, so no balance goes negative. Accounts are judged in
    chunks, each chunk one transaction with every shard locked (nothing moves meanwhile).
    A rerun finds nothing left to expire: an expiry's id names the lots and debits it saw.
    """
    moment = now or utc_now()
    cutoff = moment - timedelta(days=days)
    with uow.reading():
        accounts = uow.ledger.member_point_accounts()
    made: list[Transfer] = []
    for start in range(0, len(accounts), EXPIRY_CHUNK):
        chunk = accounts[start : start + EXPIRY_CHUNK]
        with uow:
            repo = uow.ledger
            repo.lock_head()
            balances = repo.balances_of((account, POINTS) for account in chunk)
            lots = repo.credits_to_each(chunk, POINTS)
            requests = [
                request
                for account in chunk
                if (
                    request := _expiry(
                        account, balances[(account, POINTS)], lots[account], cutoff, days
                    )
                )
                is not None
            ]
            if requests:
                made += append(repo, requests, now=moment)
                uow.commit()
    return made


def _expiry(
    account: AccountId,
    balance: Balance,
    lots: list[tuple[int, datetime]],
    cutoff: datetime,
    days: int,
) -> TransferRequest | None:
    debited = balance.debits_posted + balance.debits_pending
    amount = expirable_points(lots, debited, cutoff)
    if amount <= 0:
        return None
    expired_lots = sum(1 for _, earned_at in lots if earned_at <= cutoff)
    return TransferRequest(
        id=f"expiry:{account}:{expired_lots}:{debited}",
        debit=account,
        credit=EXPIRED,
        asset=POINTS,
        amount=amount,
        reason="expiry",
        reference=f"points earned on or before {cutoff.date().isoformat()}",
        metadata={"days": days, "cutoff": cutoff.isoformat()},
    )
