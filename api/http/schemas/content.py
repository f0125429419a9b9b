"""Bodies of the content-certification routes, apart from the domain records."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.anchoring import Finality
from contracts.certificates import hex32
from contracts.compliance import MAX_TERM_LENGTH, MAX_TERMS
from contracts.content import (
    AnchorBatch,
    BatchStatus,
    ContentPolicy,
    ContentReview,
    ContentStatus,
    PolicyAction,
    Registration,
    ReviewReason,
    ReviewStatus,
)
from contracts.registration import MAX_CONTENT_BYTES
from contracts.reviews import MAX_REASON_LENGTH
from contracts.verification import CheckStatus, Verdict
from notary.contests import NotaryReport

TextType = Literal["text/plain", "text/markdown", "text/html"]
Hex32 = str


class ContentIn(BaseModel):
    """A text piece as JSON. Files (including PDFs) are uploaded as multipart instead."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300, examples=["Why foundry capex is underrated"])
    text: str = Field(min_length=1, max_length=MAX_CONTENT_BYTES)
    content_type: TextType = "text/plain"


class NearDuplicateOut(BaseModel):
    certificate_id: int
    similarity: float = Field(description="Estimated Jaccard similarity of the texts, 0..1")


class ComplianceHitOut(BaseModel):
    term: str
    start: int = Field(description="Character offset of the match in the submitted text")
    end: int
    excerpt: str


class ReviewOut(BaseModel):
    """An operator's review of a piece the content policy held; what its author sees."""

    status: ReviewStatus = Field(
        description="pending: not anchored until approved; rejected: never anchored"
    )
    reasons: list[ReviewReason] = Field(description="Why it was held")
    opened_at: datetime
    decided_at: datetime | None
    decision_reason: str | None = Field(description="The operator's reason, once decided")

    @classmethod
    def of(cls, review: ContentReview) -> ReviewOut:
        return cls(
            status=review.status,
            reasons=list(review.reasons),
            opened_at=review.opened_at,
            decided_at=review.decided_at,
            decision_reason=review.decision_reason,
        )


class ContentOut(BaseModel):
    id: int
    title: str
    content_type: str
    byte_size: int
    status: ContentStatus
    content_sha256: Hex32
    normalized_sha256: Hex32
    leaf: Hex32
    registered_at: datetime
    batch_id: int | None
    flagged: bool = Field(description="Near-duplicates or prohibited claims were found")
    near_duplicates: list[NearDuplicateOut]
    compliance_hits: list[ComplianceHitOut]
    review: ReviewOut | None = Field(
        description="Set when the content policy held the piece for an operator's review"
    )
    certificate_url: str | None = Field(description="Where the certificate is, once anchored")

    @classmethod
    def of(cls, registration: Registration) -> ContentOut:
        anchored = registration.status is not ContentStatus.PENDING
        return cls(
            id=registration.id,
            title=registration.title,
            content_type=registration.content_type,
            byte_size=registration.byte_size,
            status=registration.status,
            content_sha256=hex32(registration.content_sha256),
            normalized_sha256=hex32(registration.normalized_sha256),
            leaf=hex32(registration.leaf),
            registered_at=registration.registered_at,
            batch_id=registration.batch_id,
            flagged=registration.flagged,
            near_duplicates=[
                NearDuplicateOut(certificate_id=d.content_id, similarity=d.score)
                for d in registration.near_duplicates
            ],
            compliance_hits=[
                ComplianceHitOut(term=h.term, start=h.start, end=h.end, excerpt=h.excerpt)
                for h in registration.compliance_hits
            ],
            review=None if registration.review is None else ReviewOut.of(registration.review),
            certificate_url=f"/v1/certificates/{registration.id}" if anchored else None,
        )


class CertificateOut(BaseModel):
    """The certificate document (see ``contracts.certificates``); 32-byte values are 0x-hex.

    The leaf is OpenZeppelin StandardMerkleTree's leaf of ``[normalized_sha256,
    content_sha256, salt, author_id]`` encoded as ``leaf_encoding``."""

    version: int
    id: int
    title: str
    content_type: str
    author_id: int
    content_sha256: Hex32
    normalized_sha256: Hex32
    salt: Hex32
    leaf_encoding: list[str]
    leaf: Hex32
    proof: list[Hex32]
    root: Hex32
    chain_id: int
    contract_address: str
    tx_hash: Hex32
    block_number: int
    block_hash: Hex32
    block_timestamp: int = Field(description="The anchoring block's time: the certificate's time")


class VerifyIn(BaseModel):
    """A certificate and the content it is meant to certify (text, or base64 for bytes)."""

    model_config = ConfigDict(extra="forbid")

    certificate: dict[str, Any]
    content: str | None = Field(default=None, description="The content as text (UTF-8)")
    content_base64: str | None = Field(default=None, description="The content's bytes, base64")


class CheckOut(BaseModel):
    name: str
    status: CheckStatus
    detail: str


class VerdictOut(BaseModel):
    valid: bool
    failed: list[str] = Field(description="Names of the checks that failed")
    checks: list[CheckOut]

    @classmethod
    def of(cls, verdict: Verdict) -> VerdictOut:
        return cls(
            valid=verdict.valid,
            failed=verdict.failed,
            checks=[
                CheckOut(name=c.name, status=c.status, detail=c.detail) for c in verdict.checks
            ],
        )


class BatchOut(BaseModel):
    id: int
    root: Hex32
    count: int
    status: BatchStatus
    chain_id: int
    contract_address: str
    attempts: int
    last_error: str | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    block_timestamp: int | None
    gas_used: int | None
    created_at: datetime
    anchored_at: datetime | None
    finalized_at: datetime | None

    @classmethod
    def of(cls, batch: AnchorBatch) -> BatchOut:
        return cls(
            id=batch.id,
            root=hex32(batch.root),
            count=batch.count,
            status=batch.status,
            chain_id=batch.chain_id,
            contract_address=batch.contract_address,
            attempts=batch.attempts,
            last_error=batch.last_error,
            tx_hash=batch.tx_hash,
            block_number=batch.block_number,
            block_hash=batch.block_hash,
            block_timestamp=batch.block_timestamp,
            gas_used=batch.gas_used,
            created_at=batch.created_at,
            anchored_at=batch.anchored_at,
            finalized_at=batch.finalized_at,
        )


class NotaryRunOut(BaseModel):
    attested: list[int] = Field(description="Attestations created now (contest rules, results)")
    anchored: list[int] = Field(description="Attestations anchored now")
    finalized: list[int] = Field(description="Attestations that reached their confirmations")

    @classmethod
    def of(cls, report: NotaryReport) -> NotaryRunOut:
        return cls(
            attested=[a.id for a in report.attested],
            anchored=[a.id for a in report.anchored],
            finalized=list(report.finalized),
        )


class AnchorRunOut(BaseModel):
    batch: BatchOut | None = Field(description="The batch anchored now; null if none pending")
    finalized: list[int] = Field(description="Batches that reached the confirmations needed")
    reorged: list[int] = Field(description="Batches whose block left the chain (to resend)")
    attestations: NotaryRunOut | None = Field(
        default=None, description="Contest rules and results attested and anchored in this run"
    )

    @classmethod
    def of(
        cls, batch: AnchorBatch | None, finality: Finality, notary: NotaryReport | None = None
    ) -> AnchorRunOut:
        return cls(
            batch=None if batch is None else BatchOut.of(batch),
            finalized=finality.finalized,
            reorged=finality.reorged,
            attestations=None if notary is None else NotaryRunOut.of(notary),
        )


class TermsIO(BaseModel):
    terms: list[str] = Field(
        max_length=MAX_TERMS,
        examples=[["保本", "稳赚", "guaranteed return"]],
        description=f"Prohibited claims, each at most {MAX_TERM_LENGTH} characters; matched "
        "case-insensitively, a space matching any whitespace.",
    )


class ReviewCaseOut(BaseModel):
    """One case of the operator review queue: the held piece, its author and the review."""

    content: ContentOut
    author_id: int
    review: ReviewOut
    decided_by: int | None = Field(description="The operator who decided, once decided")

    @classmethod
    def of(cls, registration: Registration) -> ReviewCaseOut:
        review = registration.review
        if review is None:
            raise ValueError(f"content {registration.id} was not held for review")
        return cls(
            content=ContentOut.of(registration),
            author_id=registration.author_id,
            review=ReviewOut.of(review),
            decided_by=review.decided_by,
        )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        max_length=MAX_REASON_LENGTH,
        description="Why (shown to the author); required, blank is refused",
        examples=["Promises a guaranteed return; please remove the claim and resubmit"],
    )


_ACTION = "flag: register and report; review: register, but hold for an operator; block: refuse"


class PolicyIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    near_duplicate_action: PolicyAction = Field(description=_ACTION)
    near_duplicate_threshold: Decimal = Field(
        ge=Decimal("0.5"), le=Decimal("1"), decimal_places=2, examples=["0.70"]
    )
    compliance_action: PolicyAction = Field(description=_ACTION)

    @classmethod
    def of(cls, policy: ContentPolicy) -> PolicyIO:
        return cls(
            near_duplicate_action=policy.near_duplicate_action,
            near_duplicate_threshold=policy.near_duplicate_threshold,
            compliance_action=policy.compliance_action,
        )

    def to_policy(self) -> ContentPolicy:
        return ContentPolicy(
            near_duplicate_action=self.near_duplicate_action,
            near_duplicate_threshold=self.near_duplicate_threshold,
            compliance_action=self.compliance_action,
        )
