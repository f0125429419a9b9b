"""Persistence of content certification: registrations, LSH bands, anchor batches, the chain
deployment, the compliance terms and the content policy.

The unique normalized hash makes prior-art refusal race-free; LSH band keys (see
``contracts.similarity``) are rows, so near-duplicate lookup is an indexed query shared by every
process. Proofs are stored with each anchored piece (``log2(batch) * 32`` bytes), so a
certificate is one row read, not a tree rebuild. The anchoring queries (batches, and the
pending pieces they take) are on ``AnchorBatchesRepository`` in ``contracts.store_batches``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from contracts.compliance import ComplianceHit
from contracts.content import (
    AnchorBatch,
    BatchStatus,
    ContentId,
    ContentPolicy,
    ContentReview,
    ContentStatus,
    PolicyAction,
    Registration,
    ReviewReason,
    ReviewStatus,
)
from contracts.similarity import NearDuplicate
from core.db import Base, UtcDateTime, keyset_page

NODE = 32


class ContentRegistrationRow(Base):
    __tablename__ = "content_registrations"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'anchored', 'final')", name="known_status"),
        CheckConstraint("byte_size > 0", name="positive_size"),
        Index("ix_content_registrations_author", "author_id", "id"),
        Index("ix_content_registrations_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(32))
    byte_size: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Unique: the same normalized text is registered once (prior art), even under races.
    normalized_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32))
    status: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("anchor_batches.id"), index=True)
    proof: Mapped[bytes | None] = mapped_column(LargeBinary)  # concatenated 32-byte siblings
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)  # MinHash, text only
    near_duplicates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    compliance_hits: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def to_registration(self, review: ContentReview | None = None) -> Registration:
        return Registration(
            id=self.id,
            author_id=self.author_id,
            title=self.title,
            content_type=self.content_type,
            byte_size=self.byte_size,
            content_sha256=self.content_sha256,
            normalized_sha256=self.normalized_sha256,
            salt=self.salt,
            leaf=self.leaf,
            status=ContentStatus(self.status),
            registered_at=self.registered_at,
            batch_id=self.batch_id,
            # Scores are stored as decimal strings: no floats in storage.
            near_duplicates=tuple(
                NearDuplicate(d["content_id"], float(d["score"])) for d in self.near_duplicates
            ),
            compliance_hits=tuple(ComplianceHit(**hit) for hit in self.compliance_hits),
            review=review,
        )

    def proof_nodes(self) -> tuple[bytes, ...]:
        proof = self.proof or b""
        return tuple(proof[i : i + NODE] for i in range(0, len(proof), NODE))


class ContentBandRow(Base):
    """One LSH band key of a registered text: texts sharing a key are near-duplicate candidates."""

    __tablename__ = "content_lsh_bands"

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    content_id: Mapped[int] = mapped_column(
        ForeignKey("content_registrations.id", ondelete="CASCADE"), primary_key=True
    )


class ContentReviewRow(Base):
    """The review of a piece the content policy held: one per piece, decided once."""

    __tablename__ = "content_reviews"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="known_status"),
        CheckConstraint("for_compliance OR for_near_duplicate", name="has_reason"),
        # A decision is whole (who, when, why) exactly when the review is decided.
        CheckConstraint(
            "(status = 'pending' AND decided_by IS NULL AND decided_at IS NULL"
            " AND decision_reason IS NULL) OR (status <> 'pending' AND decided_by IS NOT NULL"
            " AND decided_at IS NOT NULL AND decision_reason IS NOT NULL)",
            name="decision_whole",
        ),
        Index("ix_content_reviews_status", "status", "content_id"),
    )

    content_id: Mapped[int] = mapped_column(
        ForeignKey("content_registrations.id"), primary_key=True, autoincrement=False
    )
    for_compliance: Mapped[bool] = mapped_column(Boolean)
    for_near_duplicate: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_reason: Mapped[str | None] = mapped_column(String(1000))

    def to_review(self) -> ContentReview:
        reasons = [ReviewReason.COMPLIANCE] if self.for_compliance else []
        if self.for_near_duplicate:
            reasons.append(ReviewReason.NEAR_DUPLICATE)
        return ContentReview(
            content_id=self.content_id,
            reasons=tuple(reasons),
            status=ReviewStatus(self.status),
            opened_at=self.opened_at,
            decided_by=self.decided_by,
            decided_at=self.decided_at,
            decision_reason=self.decision_reason,
        )


class AnchorBatchRow(Base):
    __tablename__ = "anchor_batches"
    __table_args__ = (
        CheckConstraint("status IN ('sending', 'anchored', 'final')", name="known_status"),
        CheckConstraint("leaf_count > 0", name="positive_count"),
        UniqueConstraint("chain_id", "contract_address", "root"),
        Index("ix_anchor_batches_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    leaf_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract_address: Mapped[str] = mapped_column(String(42))
    from_block: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    block_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    anchored_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    def to_batch(self) -> AnchorBatch:
        return AnchorBatch(
            id=self.id,
            root=self.root,
            count=self.leaf_count,
            status=BatchStatus(self.status),
            chain_id=self.chain_id,
            contract_address=self.contract_address,
            from_block=self.from_block,
            created_at=self.created_at,
            attempts=self.attempts,
            last_error=self.last_error,
            tx_hash=self.tx_hash,
            block_number=self.block_number,
            block_hash=self.block_hash,
            block_timestamp=self.block_timestamp,
            gas_used=self.gas_used,
            anchored_at=self.anchored_at,
            finalized_at=self.finalized_at,
        )


class ChainDeploymentRow(Base):
    """The ContentRegistry this installation uses on each chain, so a restart reuses it."""

    __tablename__ = "chain_deployments"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    contract_address: Mapped[str] = mapped_column(String(42))
    deployed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ComplianceTermRow(Base):
    __tablename__ = "compliance_terms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(100), unique=True)


class ContentPolicyRow(Base):
    __tablename__ = "content_policy"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint(
            "near_duplicate_action IN ('flag', 'review', 'block')",
            name="known_near_duplicate_action",
        ),
        CheckConstraint(
            "compliance_action IN ('flag', 'review', 'block')", name="known_compliance_action"
        ),
        CheckConstraint(
            "near_duplicate_threshold >= 0.5 AND near_duplicate_threshold <= 1",
            name="threshold_range",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    near_duplicate_action: Mapped[str] = mapped_column(String(8))
    near_duplicate_threshold: Mapped[Decimal] = mapped_column(Numeric(3, 2))
    compliance_action: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ContentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- registrations ----------------------------------------------------------------------

    def add(
        self,
        *,
        author_id: int,
        title: str,
        content_type: str,
        byte_size: int,
        content_sha256: bytes,
        normalized_sha256: bytes,
        salt: bytes,
        leaf: bytes,
        signature: bytes | None,
        band_keys: Sequence[int],
        near_duplicates: Sequence[NearDuplicate],
        compliance_hits: Sequence[ComplianceHit],
        review_reasons: Sequence[ReviewReason] = (),
        now: datetime,
    ) -> Registration:
        """Adds a ``pending`` piece and, when ``review_reasons`` are given, its pending review
        (in the same transaction: no moment exists where it is anchorable unreviewed)."""
        row = ContentRegistrationRow(
            author_id=author_id,
            title=title,
            content_type=content_type,
            byte_size=byte_size,
            content_sha256=content_sha256,
            normalized_sha256=normalized_sha256,
            salt=salt,
            leaf=leaf,
            status=ContentStatus.PENDING.value,
            signature=signature,
            near_duplicates=[
                {"content_id": d.content_id, "score": f"{d.score:.4f}"} for d in near_duplicates
            ],
            compliance_hits=[
                {"term": h.term, "start": h.start, "end": h.end, "excerpt": h.excerpt}
                for h in compliance_hits
            ],
            registered_at=now,
        )
        self.session.add(row)
        self.session.flush()
        if band_keys:  # one executemany, not a unit-of-work flush of 32 objects
            self.session.execute(
                insert(ContentBandRow),
                [{"band_key": k, "content_id": row.id} for k in set(band_keys)],
            )
        review = None
        if review_reasons:
            review_row = ContentReviewRow(
                content_id=row.id,
                for_compliance=ReviewReason.COMPLIANCE in review_reasons,
                for_near_duplicate=ReviewReason.NEAR_DUPLICATE in review_reasons,
                status=ReviewStatus.PENDING.value,
                opened_at=now,
            )
            self.session.add(review_row)
            self.session.flush()
            review = review_row.to_review()
        return row.to_registration(review)

    def get(self, content_id: ContentId) -> Registration | None:
        row = self.session.get(ContentRegistrationRow, content_id)
        return None if row is None else self._with_reviews([row])[0]

    def _with_reviews(self, rows: Sequence[ContentRegistrationRow]) -> list[Registration]:
        """The registrations of ``rows``, each with its review if it has one (one query)."""
        if not rows:
            return []
        held = select(ContentReviewRow).where(ContentReviewRow.content_id.in_([r.id for r in rows]))
        reviews = {r.content_id: r.to_review() for r in self.session.scalars(held)}
        return [r.to_registration(reviews.get(r.id)) for r in rows]

    def proof(self, content_id: ContentId) -> tuple[bytes, ...]:
        row = self.session.get(ContentRegistrationRow, content_id)
        return () if row is None else row.proof_nodes()

    def by_normalized_hash(self, digest: bytes) -> Registration | None:
        content_id = self.session.scalar(
            select(ContentRegistrationRow.id).where(
                ContentRegistrationRow.normalized_sha256 == digest
            )
        )
        return None if content_id is None else self.get(content_id)

    def similar_candidates(
        self, band_keys: Iterable[int], *, limit: int
    ) -> list[tuple[ContentId, bytes]]:
        """(id, signature) of the texts sharing the most LSH band keys (at least one), at most
        ``limit`` of them: the more bands two signatures share, the more similar they are."""
        shared = func.count().label("shared")
        best = (
            select(ContentBandRow.content_id, shared)
            .where(ContentBandRow.band_key.in_(set(band_keys)))
            .group_by(ContentBandRow.content_id)
            .order_by(shared.desc(), ContentBandRow.content_id.desc())
            .limit(limit)
            .subquery()
        )
        rows = self.session.execute(
            select(ContentRegistrationRow.id, ContentRegistrationRow.signature).join(
                best, best.c.content_id == ContentRegistrationRow.id
            )
        ).all()
        return [(content_id, signature) for content_id, signature in rows if signature]

    def by_author(
        self, author_id: int, *, before: ContentId | None, limit: int
    ) -> tuple[list[Registration], ContentId | None]:
        rows, next_key = keyset_page(
            self.session,
            select(ContentRegistrationRow).where(ContentRegistrationRow.author_id == author_id),
            key=ContentRegistrationRow.id,
            after=before,
            limit=limit,
            descending=True,
        )
        return self._with_reviews(rows), next_key

    # --- chain deployment -------------------------------------------------------------------

    def deployment(self, chain_id: int) -> str | None:
        row = self.session.get(ChainDeploymentRow, chain_id)
        return None if row is None else row.contract_address

    def record_deployment(
        self, chain_id: int, address: str, *, replacing: str | None, now: datetime
    ) -> str:
        """Record ``address`` as the registry on ``chain_id`` unless another process recorded
        one first, and return the address recorded: the one every process then uses.

        ``replacing`` is the address this process found recorded but without code (a reset
        dev node): ``address`` takes its place only while it is still the one recorded. On
        PostgreSQL a concurrent recorder waits for the first one's commit, then finds its row.
        """
        if replacing is None:
            dialect = self.session.get_bind().dialect.name
            insert_row = postgresql.insert if dialect == "postgresql" else sqlite.insert
            self.session.execute(
                insert_row(ChainDeploymentRow)
                .values(chain_id=chain_id, contract_address=address, deployed_at=now)
                .on_conflict_do_nothing(index_elements=["chain_id"])
            )
        else:
            self.session.execute(
                update(ChainDeploymentRow)
                .where(
                    ChainDeploymentRow.chain_id == chain_id,
                    ChainDeploymentRow.contract_address == replacing,
                )
                .values(contract_address=address, deployed_at=now)
            )
        recorded = self.session.scalar(
            select(ChainDeploymentRow.contract_address).where(
                ChainDeploymentRow.chain_id == chain_id
            )
        )
        return address if recorded is None else recorded

    # --- policy and terms -------------------------------------------------------------------

    def policy(self) -> ContentPolicy:
        row = self.session.get(ContentPolicyRow, 1)
        if row is None:
            return ContentPolicy()
        return ContentPolicy(
            near_duplicate_action=PolicyAction(row.near_duplicate_action),
            near_duplicate_threshold=Decimal(row.near_duplicate_threshold),
            compliance_action=PolicyAction(row.compliance_action),
        )

    def set_policy(self, policy: ContentPolicy, *, now: datetime) -> None:
        row = self.session.get(ContentPolicyRow, 1)
        if row is None:
            row = ContentPolicyRow(id=1)
            self.session.add(row)
        row.near_duplicate_action = policy.near_duplicate_action.value
        row.near_duplicate_threshold = policy.near_duplicate_threshold
        row.compliance_action = policy.compliance_action.value
        row.updated_at = now
        self.session.flush()

    def terms(self) -> list[str]:
        return list(
            self.session.scalars(select(ComplianceTermRow.term).order_by(ComplianceTermRow.id))
        )

    def set_terms(self, terms: Sequence[str]) -> None:
        self.session.execute(delete(ComplianceTermRow))
        self.session.add_all(ComplianceTermRow(term=term) for term in terms)
        self.session.flush()
