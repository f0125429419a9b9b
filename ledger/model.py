"""The ledger's domain: assets, accounts, transfers, balances and their rules. Pure code.

Semantics follow TigerBeetle (see ../shared/REFERENCES.md): client-chosen transfer ids are
idempotency keys; a retry with the same content returns the original, with other content a
conflict naming the fields; a failed id stays failed; pending transfers (holds) reserve value
and resolve exactly once (post, possibly partial, void or expire); linked transfers commit
all-or-nothing. Only ``system:`` accounts may go negative.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from core.errors import Conflict, NotFound, RuleViolation
from core.hashchain import GENESIS_HASH as GENESIS_HASH  # re-exported: the ledger chain starts here
from core.hashchain import chain_hash

AccountId = str
Asset = str
TransferId = str

POINTS: Asset = "POINTS"
XP: Asset = "XP"
ISSUANCE: AccountId = "system:issuance"
REDEEMED: AccountId = "system:redeemed"
EXPIRED: AccountId = "system:expired"
MAX_AMOUNT = 10**15  # per transfer
MAX_TOTAL = 2**62  # per running total of an account; refused beyond, far inside BIGINT
MAX_TIMEOUT_SECONDS = 366 * 24 * 3600

ITEM_KEY_SYNTAX = r"[a-z0-9][a-z0-9_-]{0,63}"
MEMBER_ACCOUNT = re.compile(r"^member:([1-9][0-9]{0,9}):(points|xp|inventory)$")
REASONS = frozenset(
    {
        "checkin",
        "task",
        "referral",
        "contest_prize",
        "quiz_prize",
        "campaign",
        "league_reward",
        "redemption",
        "expiry",
        "adjustment",
        "reversal",
        "stock",
        "grant",
        "hold",
        "fulfilment",
        "cancellation",
        "transfer",
    }
)


def member_account(member_id: int, kind: str) -> AccountId:
    return f"member:{member_id}:{kind}"


def points_account(member_id: int) -> AccountId:
    return member_account(member_id, "points")


def xp_account(member_id: int) -> AccountId:
    return member_account(member_id, "xp")


def inventory_account(member_id: int) -> AccountId:
    return member_account(member_id, "inventory")


def member_accounts(member_id: int) -> tuple[AccountId, ...]:
    """The member's points and XP accounts: what earning writes (and locks the shards of)."""
    return points_account(member_id), xp_account(member_id)


def stock_account(item_key: str) -> AccountId:
    return f"stock:{item_key}"


def item_asset(item_key: str) -> Asset:
    return f"ITEM:{item_key}"


def may_go_negative(account: AccountId) -> bool:
    """Only system accounts (issuance, redeemed, expired) may hold a negative balance."""
    return account.startswith("system:")


def member_of(account: AccountId) -> int | None:
    match = MEMBER_ACCOUNT.fullmatch(account)
    return int(match.group(1)) if match else None


class TransferKind(StrEnum):
    POSTED = "posted"
    PENDING = "pending"
    POST_PENDING = "post_pending"
    VOID_PENDING = "void_pending"
    EXPIRE_PENDING = "expire_pending"


RESOLUTIONS = frozenset(
    {TransferKind.POST_PENDING, TransferKind.VOID_PENDING, TransferKind.EXPIRE_PENDING}
)


# --- errors ---------------------------------------------------------------------------------


class LedgerRuleViolation(RuleViolation):
    slug = "ledger-rule"


class InsufficientFunds(LedgerRuleViolation):
    slug = "insufficient-funds"
    title = "Insufficient funds"


class TransferExists(Conflict):
    """Same id, different content (TigerBeetle ``exists_with_different_*``)."""

    slug = "transfer-exists-with-different-fields"


class IdAlreadyFailed(Conflict):
    slug = "transfer-id-already-failed"


class PendingNotFound(NotFound):
    slug = "pending-transfer-not-found"


class PendingAlreadyResolved(Conflict):
    slug = "pending-transfer-already-resolved"


class PendingExpired(Conflict):
    slug = "pending-transfer-expired"


class AlreadyReversed(Conflict):
    slug = "transfer-already-reversed"


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """A client's request to move ``amount`` of ``asset`` from ``debit`` to ``credit``.

    ``pending=True`` makes it a hold that reserves the amount until posted, voided or
    expired after ``timeout_seconds``.
    """

    id: TransferId
    debit: AccountId
    credit: AccountId
    asset: Asset
    amount: int
    reason: str
    reference: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    pending: bool = False
    timeout_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class ResolvePending:
    """Post (``amount`` ≤ the held amount; ``None`` for all of it) or void a pending transfer.

    ``expiry`` marks the ledger's own release of a lapsed hold; clients post or void.
    """

    id: TransferId
    pending_id: TransferId
    post: bool
    amount: int | None = None
    reason: str = "hold"
    reference: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    expiry: bool = False


LedgerRequest = TransferRequest | ResolvePending


@dataclass(frozen=True, slots=True)
class Transfer:
    """A committed, immutable ledger entry.

    ``seq`` is its place in the ledger as a whole (the key history pages by); ``shard`` and
    ``shard_seq`` its place in its shard's hash chain (``ledger.shards``), whose previous
    transfer's hash is ``prev_hash``. Transfers of the legacy global chain have neither.
    """

    seq: int
    id: TransferId
    kind: TransferKind
    debit: AccountId
    credit: AccountId
    asset: Asset
    amount: int
    reason: str
    reference: str
    metadata: Mapping[str, Any]
    pending_id: TransferId | None
    timeout_seconds: int | None
    timeout_at: datetime | None
    reversal_of: TransferId | None
    created_at: datetime
    prev_hash: str
    hash: str
    shard: int | None = None
    shard_seq: int | None = None

    def content_hash(self) -> str:
        return chain_hash(self.prev_hash, self._hashed_fields())

    def sealed(self) -> Transfer:
        """This transfer with ``hash`` set to its content hash: drafts are built with an empty
        one, and sealing returns a new record rather than changing the draft (by the
        constructor: ``dataclasses.replace`` costs several times as much, per transfer of a
        batch)."""
        return Transfer(
            self.seq,
            self.id,
            self.kind,
            self.debit,
            self.credit,
            self.asset,
            self.amount,
            self.reason,
            self.reference,
            self.metadata,
            self.pending_id,
            self.timeout_seconds,
            self.timeout_at,
            self.reversal_of,
            self.created_at,
            self.prev_hash,
            self.content_hash(),
            self.shard,
            self.shard_seq,
        )

    def _hashed_fields(self) -> list[Any]:
        fields = [
            self.seq,
            self.id,
            self.kind.value,
            self.debit,
            self.credit,
            self.asset,
            self.amount,
            self.reason,
            self.reference,
            dict(self.metadata),
            self.pending_id,
            self.timeout_seconds,
            _iso(self.timeout_at),
            self.reversal_of,
            _iso(self.created_at),
        ]
        if self.shard is None:  # the legacy chain hashed these alone
            return fields
        return [*fields, self.shard, self.shard_seq]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else _iso_text(moment, moment.tzinfo)


@lru_cache(maxsize=1024)  # a group's transfers share their moment: formatted once
def _iso_text(moment: datetime, _zone: object) -> str:
    """``moment`` as hashed; keyed by its zone too: equal instants in two zones read apart."""
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Balance:
    """Posted and pending totals of one (account, asset); credit-normal."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def posted(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What may be spent now: posted minus value reserved by pending debits."""
        return self.posted - self.debits_pending

    def __add__(self, other: Balance) -> Balance:
        return Balance(
            self.debits_posted + other.debits_posted,
            self.credits_posted + other.credits_posted,
            self.debits_pending + other.debits_pending,
            self.credits_pending + other.credits_pending,
        )


def effects(transfer: Transfer, pending: Transfer | None) -> list[tuple[AccountId, Asset, Balance]]:
    """How a transfer changes the balances it touches (``pending`` for resolutions)."""
    debit, credit, asset = transfer.debit, transfer.credit, transfer.asset
    if transfer.kind is TransferKind.POSTED:
        return [
            (debit, asset, Balance(debits_posted=transfer.amount)),
            (credit, asset, Balance(credits_posted=transfer.amount)),
        ]
    if transfer.kind is TransferKind.PENDING:
        return [
            (debit, asset, Balance(debits_pending=transfer.amount)),
            (credit, asset, Balance(credits_pending=transfer.amount)),
        ]
    assert pending is not None, "a resolution needs its pending transfer"
    held = pending.amount
    posted = transfer.amount if transfer.kind is TransferKind.POST_PENDING else 0
    return [
        (debit, asset, Balance(debits_posted=posted, debits_pending=-held)),
        (credit, asset, Balance(credits_posted=posted, credits_pending=-held)),
    ]


def differing_fields(existing: Transfer, request: LedgerRequest, kind: TransferKind) -> list[str]:
    """The fields in which a retried request differs from the transfer stored under its id."""
    if isinstance(request, ResolvePending):
        wanted: dict[str, Any] = {
            "kind": kind,
            "pending_id": request.pending_id,
            "reason": request.reason,
            "reference": request.reference,
            "metadata": dict(request.metadata),
        }
        if request.amount is not None:
            wanted["amount"] = request.amount
    else:
        wanted = {
            "kind": kind,
            "debit": request.debit,
            "credit": request.credit,
            "asset": request.asset,
            "amount": request.amount,
            "reason": request.reason,
            "reference": request.reference,
            "metadata": dict(request.metadata),
            "timeout_seconds": request.timeout_seconds if request.pending else None,
        }
    have = {name: getattr(existing, name) for name in wanted}
    have["metadata"] = dict(existing.metadata)
    return sorted(name for name, value in wanted.items() if have[name] != value)


def request_kind(request: LedgerRequest) -> TransferKind:
    if isinstance(request, ResolvePending):
        if request.expiry:
            return TransferKind.EXPIRE_PENDING
        return TransferKind.POST_PENDING if request.post else TransferKind.VOID_PENDING
    return TransferKind.PENDING if request.pending else TransferKind.POSTED


def request_digest(request: LedgerRequest) -> str:
    """A stable digest of a request, kept for ids that failed."""
    payload = json.dumps(
        {"type": type(request).__name__} | _as_dict(request), sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _as_dict(request: LedgerRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in request.__slots__}


def expirable_points(lots: list[tuple[int, datetime]], debited: int, cutoff: datetime) -> int:
    """Points to expire: what is left of lots earned at or before ``cutoff``.

    ``lots`` are the account's credits in order (amount, earned_at); ``debited`` is everything
    that has left the account or is held (posted and pending debits). Debits consume the
    earliest lots first, so what remains of the expired lots is the expired lots' total minus
    all debits, never below zero — earn 100, spend 60 → 40 expire.
    """
    expired_total = sum(amount for amount, earned_at in lots if earned_at <= cutoff)
    return max(0, expired_total - debited)
