"""Content certification use cases: register, anchor in batches, finalize, issue certificates.

Anchoring is two-phase so no database transaction is held across a chain call:

1. fix the batch: in one transaction take pending pieces, build the Merkle tree and record a
   ``sending`` batch with its root (or resume the batch already ``sending``);
2. send ``anchor(root, count)`` and wait for the receipt, outside any transaction;
3. record the receipt: the batch and its pieces become ``anchored``, each piece with its proof.

A failure in 2 leaves the pieces pending in their ``sending`` batch; the next run sends the same
root again. If the first transaction was mined after all (a lost receipt, a crash before 3),
the contract refuses the second with ``AlreadyAnchored`` and the receipt is recovered from the
``Anchored`` event, so a batch is never anchored twice and nothing is lost.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from web3.exceptions import Web3Exception

from contracts import similarity
from contracts.certificates import MAX_TITLE_LENGTH, Certificate, leaf_of
from contracts.chain import Chain, ChainError
from contracts.compliance import ComplianceHit, normalize_terms, screen
from contracts.content import (
    AnchorBatch,
    BatchId,
    BatchStatus,
    ContentId,
    ContentPolicy,
    ContentStatus,
    PolicyAction,
    Registration,
    certificate_of,
)
from contracts.merkle import MerkleTree
from contracts.normalize import (
    CONTENT_TYPES,
    NotText,
    content_hashes,
    decode_text,
    is_text,
    normalize_text,
)
from contracts.registry import (
    AlreadyAnchored,
    AnchorReceipt,
    BlockInfo,
    ContractNotDeployed,
    RegistryClient,
)
from contracts.store import ContentRepository
from contracts.store_batches import AnchorBatchesRepository
from core.clock import utc_now
from core.errors import Conflict, DomainError, NotFound, RuleViolation
from core.uow import UnitOfWork

logger = logging.getLogger("paperleague.contracts")

MAX_CONTENT_BYTES = 1_000_000
MAX_BATCH = 100_000


class ContentUnitOfWork(UnitOfWork):
    content: ContentRepository
    batches: AnchorBatchesRepository

    def _bind(self, session: Session) -> None:
        self.content = ContentRepository(session)
        self.batches = AnchorBatchesRepository(session)


class Registry(Protocol):
    """What the services need of ``contracts.registry.RegistryClient`` (tests use a fake)."""

    @property
    def address(self) -> str: ...
    @property
    def chain_id(self) -> int: ...
    def anchor(self, root: bytes, count: int) -> AnchorReceipt: ...
    def block(self, number: int) -> BlockInfo: ...
    def latest_block_number(self) -> int: ...
    def confirmations(self, block_number: int) -> int: ...
    def find_anchor(self, root: bytes, *, from_block: int) -> AnchorReceipt | None: ...


class PriorArt(Conflict):
    """The same (normalized) content is already registered."""


# --- registration ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Prepared:
    """Everything about a submission that needs no database: hashes, leaf, text, signature."""

    title: str
    content_type: str
    byte_size: int
    content_sha256: bytes
    normalized_sha256: bytes
    salt: bytes
    leaf: bytes
    text: str | None
    signature: bytes | None
    band_keys: list[int]


def _prepare(author_id: int, title: str, content: bytes, content_type: str) -> _Prepared:
    title = " ".join(title.split())
    if not title:
        raise RuleViolation("a title is required", field="title", rule="required")
    if len(title) > MAX_TITLE_LENGTH:
        raise RuleViolation(
            f"a title has at most {MAX_TITLE_LENGTH} characters", field="title", rule="max_length"
        )
    if content_type not in CONTENT_TYPES:
        raise RuleViolation(
            f"content type {content_type!r} is not accepted; use one of {sorted(CONTENT_TYPES)}",
            field="content_type",
            rule="allowed_content_type",
        )
    if len(content) > MAX_CONTENT_BYTES:
        raise RuleViolation(
            f"content is larger than {MAX_CONTENT_BYTES} bytes", field="content", rule="max_size"
        )
    text = None
    if is_text(content_type):
        try:
            text = decode_text(content)
        except NotText as exc:
            raise RuleViolation(str(exc), field="content", rule="utf8") from exc
        if not normalize_text(text):
            raise RuleViolation("content is empty", field="content", rule="not_empty")
    elif not content:
        raise RuleViolation("content is empty", field="content", rule="not_empty")
    hashes = content_hashes(content, is_text=text is not None)
    salt = secrets.token_bytes(32)
    signature = similarity.signature(text) if text is not None else None
    return _Prepared(
        title=title,
        content_type=content_type,
        byte_size=len(content),
        content_sha256=hashes.raw,
        normalized_sha256=hashes.normalized,
        salt=salt,
        leaf=leaf_of(hashes.normalized, hashes.raw, salt, author_id),
        text=text,
        signature=signature,
        band_keys=similarity.band_keys(signature) if signature is not None else [],
    )


def register_content(
    uow: ContentUnitOfWork,
    author_id: int,
    *,
    title: str,
    content: bytes,
    content_type: str,
    now: datetime | None = None,
) -> Registration:
    """Register a piece as ``pending``. Refuses prior art (409) and, per the policy,
    near-duplicates and prohibited claims (422 naming the rule); flags them otherwise."""
    prepared = _prepare(author_id, title, content, content_type)
    try:
        with uow:
            repo = uow.content
            _refuse_prior_art(repo, prepared.normalized_sha256)
            policy = repo.policy()
            near = _near_duplicates(repo, prepared, policy)
            hits = screen(prepared.text, repo.terms()) if prepared.text is not None else []
            _apply_policy(policy, near, hits)
            registration = repo.add(
                author_id=author_id,
                title=prepared.title,
                content_type=prepared.content_type,
                byte_size=prepared.byte_size,
                content_sha256=prepared.content_sha256,
                normalized_sha256=prepared.normalized_sha256,
                salt=prepared.salt,
                leaf=prepared.leaf,
                signature=prepared.signature,
                band_keys=prepared.band_keys,
                near_duplicates=near,
                compliance_hits=hits,
                now=now or utc_now(),
            )
            uow.commit()
            return registration
    except IntegrityError:
        # A concurrent registration of the same text won the unique index.
        with uow.reading():
            _refuse_prior_art(uow.content, prepared.normalized_sha256)
        raise


def _refuse_prior_art(repo: ContentRepository, normalized_sha256: bytes) -> None:
    earlier = repo.by_normalized_hash(normalized_sha256)
    if earlier is not None:
        raise PriorArt(
            f"this content is already registered as certificate {earlier.id} "
            f"({earlier.status.value}, registered {earlier.registered_at.isoformat()})",
            certificate_id=earlier.id,
            certificate_status=earlier.status.value,
            registered_at=earlier.registered_at.isoformat(),
        )


def _near_duplicates(
    repo: ContentRepository, prepared: _Prepared, policy: ContentPolicy
) -> list[similarity.NearDuplicate]:
    if prepared.signature is None:
        return []
    return similarity.near_duplicates(
        prepared.signature,
        repo.similar_candidates(prepared.band_keys, limit=similarity.MAX_CANDIDATES),
        threshold=float(policy.near_duplicate_threshold),
    )


def _apply_policy(
    policy: ContentPolicy,
    near: Sequence[similarity.NearDuplicate],
    hits: Sequence[ComplianceHit],
) -> None:
    if near and policy.near_duplicate_action is PolicyAction.BLOCK:
        best = near[0]
        raise RuleViolation(
            f"content is {best.score:.0%} similar to certificate {best.content_id} "
            f"(the policy blocks similarity from {policy.near_duplicate_threshold})",
            field="content",
            rule="near_duplicate",
            near_duplicates=[{"certificate_id": d.content_id, "similarity": d.score} for d in near],
        )
    if hits and policy.compliance_action is PolicyAction.BLOCK:
        terms = sorted({h.term for h in hits})
        raise RuleViolation(
            "content makes prohibited claims: " + ", ".join(terms),
            field="content",
            rule="prohibited_claim",
            matches=[{"term": h.term, "start": h.start, "end": h.end} for h in hits],
        )


# --- anchoring ---------------------------------------------------------------------------------


def anchor_pending(
    uow: ContentUnitOfWork,
    registry: Registry,
    *,
    limit: int = MAX_BATCH,
    now: datetime | None = None,
) -> AnchorBatch | None:
    """Anchor up to ``limit`` pending pieces under one root (or finish the batch a failed run
    left ``sending``). Returns the anchored batch, or ``None`` when nothing is pending.

    On a chain failure the pieces stay pending and the error propagates; call again to retry.
    """
    if not 1 <= limit <= MAX_BATCH:
        raise RuleViolation(f"limit must be 1..{MAX_BATCH}", field="limit", rule="range")
    fixed = _fix_batch(uow, registry, limit=limit, now=now or utc_now())
    if fixed is None:
        return None
    batch, tree = fixed
    try:
        receipt = _send(registry, batch)
    except DomainError as failure:
        _record_failure(uow, batch.id, failure)
        raise
    return _record_anchor(uow, batch.id, receipt, tree, now=now or utc_now())


def _fix_batch(
    uow: ContentUnitOfWork, registry: Registry, *, limit: int, now: datetime
) -> tuple[AnchorBatch, MerkleTree | None] | None:
    """Phase 1: the batch to send (resumed or new) and, when new, its tree."""
    from_block = registry.latest_block_number()
    with uow:
        repo = uow.batches
        resumed = repo.batches_in(BatchStatus.SENDING, limit=1)
        if resumed:
            row = repo.lock_batch(resumed[0].id)
            if row is None or row.status != BatchStatus.SENDING.value:
                raise Conflict("another anchorer finished this batch meanwhile; retry")
            if (row.chain_id, row.contract_address) != (registry.chain_id, registry.address):
                logger.warning(
                    "batch %s was sent to %s on chain %s; resending to %s on chain %s",
                    row.id,
                    row.contract_address,
                    row.chain_id,
                    registry.address,
                    registry.chain_id,
                )
                row.chain_id, row.contract_address = registry.chain_id, registry.address
                row.from_block = from_block
            row.attempts += 1
            batch = row.to_batch()
            uow.commit()
            return batch, None
        pending = repo.unbatched_pending(limit)
        if not pending:
            return None
        tree = MerkleTree.of([leaf for _, leaf in pending])
        batch = repo.add_batch(
            root=tree.root,
            count=len(pending),
            chain_id=registry.chain_id,
            contract_address=registry.address,
            from_block=from_block,
            now=now,
        )
        if repo.assign_batch([content_id for content_id, _ in pending], batch.id) != len(pending):
            raise Conflict("another anchorer took some of these pieces; retry")
        row = repo.lock_batch(batch.id)
        assert row is not None
        row.attempts = 1
        batch = row.to_batch()
        uow.commit()
        return batch, tree


def _send(registry: Registry, batch: AnchorBatch) -> AnchorReceipt:
    """Phase 2: anchor the root; if an earlier attempt already did, find that transaction."""
    try:
        return registry.anchor(batch.root, batch.count)
    except AlreadyAnchored:
        found = registry.find_anchor(batch.root, from_block=batch.from_block)
        if found is None:
            raise ChainError(
                f"root 0x{batch.root.hex()} is anchored but no Anchored event from block "
                f"{batch.from_block} on was found"
            ) from None
        logger.info("batch %s was already anchored in tx %s; recovered", batch.id, found.tx_hash)
        return found


def _record_failure(uow: ContentUnitOfWork, batch_id: BatchId, failure: DomainError) -> None:
    with uow:
        row = uow.batches.lock_batch(batch_id)
        if row is not None:
            row.last_error = f"{type(failure).__name__}: {failure.detail}"[:500]
            uow.commit()


def _record_anchor(
    uow: ContentUnitOfWork,
    batch_id: BatchId,
    receipt: AnchorReceipt,
    tree: MerkleTree | None,
    *,
    now: datetime,
) -> AnchorBatch:
    """Phase 3: the batch and its pieces are anchored; each piece gets its proof."""
    with uow:
        repo = uow.batches
        row = repo.lock_batch(batch_id)
        if row is None:
            raise NotFound(f"anchor batch {batch_id} vanished")
        if row.status != BatchStatus.SENDING.value:  # a concurrent anchorer recorded it
            return row.to_batch()
        if receipt.root != row.root:
            raise ChainError(f"the chain anchored 0x{receipt.root.hex()}, not batch {batch_id}")
        leaves = repo.batch_leaves(batch_id)
        tree = tree or MerkleTree.of([leaf for _, leaf in leaves])
        if tree.root != row.root or len(leaves) != row.leaf_count:
            raise RuntimeError(f"batch {batch_id}'s pieces no longer give its root")
        repo.set_anchored(
            batch_id, {content_id: tree.proof(i) for i, (content_id, _) in enumerate(leaves)}
        )
        row.status = BatchStatus.ANCHORED.value
        row.tx_hash = receipt.tx_hash
        row.block_number = receipt.block_number
        row.block_hash = receipt.block_hash
        row.block_timestamp = receipt.block_timestamp
        row.gas_used = receipt.gas_used
        row.anchored_at = now
        row.last_error = None
        batch = row.to_batch()
        uow.commit()
        return batch


@dataclass(frozen=True, slots=True)
class Finality:
    finalized: list[BatchId]
    reorged: list[BatchId]  # their block is gone: back to sending, their pieces to pending


def refresh_finality(
    uow: ContentUnitOfWork,
    registry: Registry,
    *,
    confirmations: int,
    now: datetime | None = None,
) -> Finality:
    """Anchored batches with ``confirmations`` blocks on top become final. A batch whose block
    is no longer on the chain (a reorganisation) goes back to ``sending``: the next anchoring
    run resends its root or, if the chain re-included it, recovers the new receipt."""
    with uow.reading():
        anchored = [
            b
            for b in uow.batches.batches_in(BatchStatus.ANCHORED)
            if (b.chain_id, b.contract_address) == (registry.chain_id, registry.address)
        ]
    finalized, reorged = [], []
    for batch in anchored:
        assert batch.block_number is not None
        try:
            block_hash: str | None = registry.block(batch.block_number).hash
        except NotFound:
            block_hash = None
        if block_hash is None or block_hash.lower() != (batch.block_hash or "").lower():
            reorged.append(batch.id)
        elif registry.confirmations(batch.block_number) >= confirmations:
            finalized.append(batch.id)
    if finalized or reorged:
        _apply_finality(uow, finalized, reorged, now=now or utc_now())
    return Finality(finalized=finalized, reorged=reorged)


def _apply_finality(
    uow: ContentUnitOfWork,
    finalized: Sequence[BatchId],
    reorged: Sequence[BatchId],
    *,
    now: datetime,
) -> None:
    with uow:
        repo = uow.batches
        for batch_id in finalized:
            row = repo.lock_batch(batch_id)
            if row is not None and row.status == BatchStatus.ANCHORED.value:
                row.status, row.finalized_at = BatchStatus.FINAL.value, now
                repo.set_batch_content_status(batch_id, ContentStatus.FINAL)
        for batch_id in reorged:
            row = repo.lock_batch(batch_id)
            if row is not None and row.status == BatchStatus.ANCHORED.value:
                logger.warning("batch %s: block %s left the chain", batch_id, row.block_number)
                row.last_error = f"block {row.block_number} left the chain (reorganisation)"
                row.status = BatchStatus.SENDING.value
                row.tx_hash = row.block_hash = None
                row.block_number = row.block_timestamp = row.gas_used = None
                row.anchored_at = None
                repo.set_batch_content_status(batch_id, ContentStatus.PENDING)
        uow.commit()


def anchor_is_due(
    uow: ContentUnitOfWork,
    *,
    batch_size: int,
    max_wait_seconds: int,
    now: datetime | None = None,
) -> bool:
    """Whether ``batch_size`` pieces are pending or the oldest has waited ``max_wait_seconds``."""
    with uow.reading():
        count, oldest = uow.batches.pending_summary()
    if count == 0 or oldest is None:
        return False
    waited = (now or utc_now()) - oldest
    return count >= batch_size or waited >= timedelta(seconds=max_wait_seconds)


def anchor_due(
    uow: ContentUnitOfWork,
    registry: Registry,
    *,
    batch_size: int,
    max_wait_seconds: int,
    limit: int = MAX_BATCH,
    now: datetime | None = None,
) -> AnchorBatch | None:
    """``anchor_pending`` when ``anchor_is_due``; otherwise nothing, and ``None``."""
    if not anchor_is_due(uow, batch_size=batch_size, max_wait_seconds=max_wait_seconds, now=now):
        return None
    return anchor_pending(uow, registry, limit=limit, now=now)


# --- reading -----------------------------------------------------------------------------------


def certificate(
    uow: ContentUnitOfWork, content_id: ContentId, *, author_id: int | None
) -> Certificate:
    """The certificate of an anchored piece. ``author_id`` restricts it to that author's pieces
    (``None``: any piece, for operators). 404 for others' pieces, 409 while pending."""
    with uow.reading():
        repo = uow.content
        registration = repo.get(content_id)
        if registration is None or author_id not in (None, registration.author_id):
            raise NotFound(f"no content {content_id}")
        if registration.status is ContentStatus.PENDING or registration.batch_id is None:
            raise Conflict(
                f"content {content_id} is pending: its certificate exists once it is anchored",
                status=registration.status.value,
            )
        batch = uow.batches.batch(registration.batch_id)
        assert batch is not None
        return certificate_of(registration, batch, repo.proof(content_id))


def my_content(
    uow: ContentUnitOfWork, author_id: int, *, before: ContentId | None, limit: int
) -> tuple[list[Registration], ContentId | None]:
    """An author's registrations, newest first, and the key of the next page."""
    with uow.reading():
        return uow.content.by_author(author_id, before=before, limit=limit)


def anchor_batches(
    uow: ContentUnitOfWork, *, before: BatchId | None, limit: int
) -> tuple[list[AnchorBatch], BatchId | None]:
    with uow.reading():
        return uow.batches.batches_page(before=before, limit=limit)


def anchor_batch(uow: ContentUnitOfWork, batch_id: BatchId) -> AnchorBatch:
    with uow.reading():
        batch = uow.batches.batch(batch_id)
    if batch is None:
        raise NotFound(f"no anchor batch {batch_id}")
    return batch


def has_anchored_batches(uow: ContentUnitOfWork) -> bool:
    """Whether any batch waits for finality (so the chain needs asking)."""
    with uow.reading():
        return bool(uow.batches.batches_in(BatchStatus.ANCHORED, limit=1))


def content_policy(uow: ContentUnitOfWork) -> ContentPolicy:
    with uow.reading():
        return uow.content.policy()


def set_content_policy(
    uow: ContentUnitOfWork, policy: ContentPolicy, *, now: datetime | None = None
) -> ContentPolicy:
    low, high = Decimal(str(similarity.MIN_THRESHOLD)), Decimal(1)
    threshold = policy.near_duplicate_threshold
    if not low <= threshold <= high or threshold != threshold.quantize(Decimal("0.01")):
        raise RuleViolation(
            f"the near-duplicate threshold is {low}..{high} in steps of 0.01",
            field="near_duplicate_threshold",
            rule="range",
        )
    with uow:
        uow.content.set_policy(policy, now=now or utc_now())
        uow.commit()
    return policy


def compliance_terms(uow: ContentUnitOfWork) -> list[str]:
    with uow.reading():
        return uow.content.terms()


def set_compliance_terms(uow: ContentUnitOfWork, terms: Sequence[str]) -> list[str]:
    cleaned = normalize_terms(terms)
    with uow:
        uow.content.set_terms(cleaned)
        uow.commit()
    return cleaned


# --- the chain ---------------------------------------------------------------------------------


def registry_for(
    uow: ContentUnitOfWork, chain: Chain, *, now: datetime | None = None
) -> RegistryClient:
    """The ContentRegistry this installation uses on ``chain``: the one recorded for the chain
    id if its code is there, else a freshly deployed one (recorded for next time)."""
    try:
        chain_id = int(chain.w3.eth.chain_id)
    except (Web3Exception, OSError) as failure:
        raise ChainError(f"the chain node does not answer: {failure}") from failure
    with uow.reading():
        address = uow.content.deployment(chain_id)
    if address is not None:
        try:
            return RegistryClient.at(chain, address)
        except ContractNotDeployed:
            # A fresh in-process chain (or a reset dev node) no longer has it.
            logger.warning("no ContentRegistry at %s on chain %s; deploying", address, chain_id)
    registry = RegistryClient.deploy(chain)
    with uow:
        uow.content.set_deployment(chain_id, registry.address, now=now or utc_now())
        uow.commit()
    logger.info("deployed ContentRegistry at %s on chain %s", registry.address, chain_id)
    return registry
