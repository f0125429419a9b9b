"""Registered content and anchor batches: the records of the certification domain. Pure code.

A piece is registered ``pending``; an anchor batch takes pending pieces, anchors the Merkle root
over their leaves in one transaction and moves them to ``anchored``, then ``final`` once the
block has enough confirmations. A piece the content policy holds for review (``ContentReview``)
is in no batch until an operator approves it; a rejected piece never is, so it never gets a
certificate. A batch is ``sending`` from the moment its leaf set is fixed
until its root is known to be on chain, so a failed or interrupted transaction is retried with
the same root (never a second root for the same pieces).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from contracts.certificates import Certificate
from contracts.compliance import ComplianceHit
from contracts.similarity import NearDuplicate

ContentId = int
BatchId = int


class ContentStatus(StrEnum):
    PENDING = "pending"
    ANCHORED = "anchored"
    FINAL = "final"


class BatchStatus(StrEnum):
    SENDING = "sending"  # leaf set fixed, root not yet known to be on chain
    ANCHORED = "anchored"
    FINAL = "final"


class PolicyAction(StrEnum):
    FLAG = "flag"  # register, record the finding
    REVIEW = "review"  # register, record the finding, hold it for an operator's decision
    BLOCK = "block"  # refuse the registration (422 naming the rule)


class ReviewStatus(StrEnum):
    PENDING = "pending"  # waiting for an operator: not anchored, no certificate
    APPROVED = "approved"  # anchored like any piece from now on
    REJECTED = "rejected"  # never anchored; the author sees the reason


class ReviewReason(StrEnum):
    """Why a piece went to review (one piece may have both)."""

    COMPLIANCE = "compliance"  # it makes a prohibited claim
    NEAR_DUPLICATE = "near_duplicate"  # it is too similar to registered content


class Verdict(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"

    @property
    def status(self) -> ReviewStatus:
        return ReviewStatus.APPROVED if self is Verdict.APPROVE else ReviewStatus.REJECTED


@dataclass(frozen=True, slots=True)
class ContentReview:
    """An operator's review of a flagged piece: why it was held and, once decided, by whom,
    when and with what reason."""

    content_id: ContentId
    reasons: tuple[ReviewReason, ...]
    status: ReviewStatus
    opened_at: datetime
    decided_by: int | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

    @property
    def decided(self) -> bool:
        return self.status is not ReviewStatus.PENDING


@dataclass(frozen=True, slots=True)
class ContentPolicy:
    """What happens to a near-duplicate (similarity ≥ threshold) or a prohibited claim."""

    near_duplicate_action: PolicyAction = PolicyAction.FLAG
    near_duplicate_threshold: Decimal = Decimal("0.70")
    compliance_action: PolicyAction = PolicyAction.FLAG


@dataclass(frozen=True, slots=True)
class Registration:
    id: ContentId
    author_id: int
    title: str
    content_type: str
    byte_size: int
    content_sha256: bytes
    normalized_sha256: bytes
    salt: bytes
    leaf: bytes
    status: ContentStatus
    registered_at: datetime
    batch_id: BatchId | None
    near_duplicates: tuple[NearDuplicate, ...]
    compliance_hits: tuple[ComplianceHit, ...]
    review: ContentReview | None = None  # set when the policy held it for review

    @property
    def flagged(self) -> bool:
        return bool(self.near_duplicates or self.compliance_hits)

    @property
    def cleared(self) -> bool:
        """Whether it may be anchored and certified: never held, or approved."""
        return self.review is None or self.review.status is ReviewStatus.APPROVED


@dataclass(frozen=True, slots=True)
class AnchorBatch:
    id: BatchId
    root: bytes
    count: int
    status: BatchStatus
    chain_id: int
    contract_address: str
    from_block: int  # the chain's height before the first attempt: where to look for the event
    created_at: datetime
    attempts: int
    last_error: str | None
    tx_hash: str | None = None
    block_number: int | None = None
    block_hash: str | None = None
    block_timestamp: int | None = None
    gas_used: int | None = None
    anchored_at: datetime | None = None  # our clock, when the receipt was recorded
    finalized_at: datetime | None = None


def certificate_of(
    registration: Registration, batch: AnchorBatch, proof: tuple[bytes, ...]
) -> Certificate:
    """The certificate of an anchored piece."""
    if (
        batch.tx_hash is None
        or batch.block_number is None
        or batch.block_hash is None
        or batch.block_timestamp is None
    ):
        raise ValueError(f"batch {batch.id} is not anchored")
    return Certificate(
        id=registration.id,
        title=registration.title,
        content_type=registration.content_type,
        author_id=registration.author_id,
        content_sha256=registration.content_sha256,
        normalized_sha256=registration.normalized_sha256,
        salt=registration.salt,
        leaf=registration.leaf,
        proof=proof,
        root=batch.root,
        chain_id=batch.chain_id,
        contract_address=batch.contract_address,
        tx_hash=bytes.fromhex(batch.tx_hash.removeprefix("0x")),
        block_number=batch.block_number,
        block_hash=bytes.fromhex(batch.block_hash.removeprefix("0x")),
        block_timestamp=batch.block_timestamp,
    )
