"""Refusal codes of the state machine as the domain exceptions services raise (the API maps
those to problem+json). The one place that words a refusal."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import Conflict, DomainError
from ledger.model import (
    MAX_TOTAL,
    IdAlreadyFailed,
    InsufficientFunds,
    LedgerRequest,
    LedgerRuleViolation,
    PendingAlreadyResolved,
    PendingExpired,
    PendingNotFound,
    ResolvePending,
    TransferExists,
)
from ledger.state_machine import Refusal, Refused

_RESOLVED_HOW = {"post_pending": "posted", "void_pending": "voided"}


def refusal_error(refused: Refused, requests: Sequence[LedgerRequest]) -> DomainError:
    """The exception that tells a client why ``requests[refused.index]`` was refused."""
    request = requests[refused.index]
    code, pending = refused.code, refused.pending
    if code is Refusal.EXISTS_WITH_DIFFERENT_FIELDS:
        named = list(refused.differing)
        return TransferExists(
            f"transfer {request.id!r} exists with different {', '.join(named)}",
            transfer_id=request.id,
            differing=named,
        )
    if code is Refusal.LINKED_GROUP_PARTLY_EXISTS:
        return Conflict(
            "some transfers of this linked group exist and some do not; resubmit the same group",
            existing=list(refused.existing),
        )
    if code is Refusal.ID_ALREADY_FAILED:
        return IdAlreadyFailed(
            f"transfer {request.id!r} already failed ({refused.failed_code}); use a new id",
            field="id",
            rule="id_already_failed",
            failed_id=request.id,
            original_error=refused.failed_code,
        )
    if code is Refusal.PENDING_NOT_FOUND:
        assert isinstance(request, ResolvePending)
        return PendingNotFound(f"no pending transfer {request.pending_id!r}", field="pending_id")
    if code is Refusal.PENDING_ALREADY_RESOLVED:
        assert pending is not None and refused.resolution is not None
        how = _RESOLVED_HOW.get(refused.resolution.kind, "expired")
        return PendingAlreadyResolved(
            f"hold {pending.id!r} was already {how} (by {refused.resolution.id!r})",
            field="pending_id",
            resolution=how,
        )
    if code is Refusal.PENDING_EXPIRED:
        assert pending is not None and pending.timeout_at is not None
        return PendingExpired(
            f"hold {pending.id!r} expired at {pending.timeout_at.isoformat()}", field="pending_id"
        )
    if code is Refusal.EXCEEDS_PENDING_AMOUNT:
        assert pending is not None
        return LedgerRuleViolation(
            f"cannot post {refused.amount}: hold {pending.id!r} reserves {pending.amount}",
            field="amount",
            rule="exceeds_pending_amount",
        )
    if code in (Refusal.DEBIT_EXCEEDS_LIMIT, Refusal.CREDIT_EXCEEDS_LIMIT):
        return LedgerRuleViolation(
            f"{refused.account} would pass the ledger's limit of {MAX_TOTAL} {refused.asset}",
            field="amount",
            rule="total_limit",
        )
    if code in (Refusal.DEBIT_EXCEEDS_AVAILABLE, Refusal.CREDIT_EXCEEDS_AVAILABLE):
        return InsufficientFunds(
            f"{refused.account} has {refused.available} {refused.asset} available, "
            f"needs {refused.amount}",
            field="amount",
            rule="exceeds_available",
            account=refused.account,
            asset=refused.asset,
        )
    raise ValueError(f"no error for refusal {code}")  # LINKED_TRANSFER_FAILED names no cause
