"""Anchoring content: pending pieces go on chain in batches, which then become final.

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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from web3.exceptions import Web3Exception

from contracts.chain import Chain, ChainError
from contracts.content import AnchorBatch, BatchId, BatchStatus, ContentStatus
from contracts.merkle import MerkleTree
from contracts.registry import (
    AlreadyAnchored,
    AnchorReceipt,
    BlockInfo,
    ContractNotDeployed,
    RegistryClient,
)
from contracts.uow import ContentUnitOfWork
from core.clock import utc_now
from core.errors import Conflict, DomainError, NotFound, RuleViolation
from core.outbox import CERTIFICATE_FINAL
from core.outbox_store import record_event

logger = logging.getLogger("paperleague.contracts")

MAX_BATCH = 100_000


class Registry(Protocol):
    """What anchoring needs of ``contracts.registry.RegistryClient`` (tests use a fake)."""

    @property
    def address(self) -> str: ...
    @property
    def chain_id(self) -> int: ...
    def anchor(self, root: bytes, count: int) -> AnchorReceipt: ...
    def block(self, number: int) -> BlockInfo: ...
    def latest_block_number(self) -> int: ...
    def confirmations(self, block_number: int) -> int: ...
    def find_anchor(self, root: bytes, *, from_block: int) -> AnchorReceipt | None: ...


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
        receipt = send_root(registry, batch)
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


def send_root(registry: Registry, batch: AnchorBatch) -> AnchorReceipt:
    """Phase 2: anchor the root; if an earlier attempt already did, find that transaction.
    ``batch`` needs ``id``, ``root``, ``count`` and ``from_block`` (an attestation's too)."""
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
        standing = anchor_standing(registry, batch, confirmations=confirmations)
        if standing is AnchorStanding.REORGED:
            reorged.append(batch.id)
        elif standing is AnchorStanding.FINAL:
            finalized.append(batch.id)
    if finalized or reorged:
        _apply_finality(uow, finalized, reorged, now=now or utc_now())
    return Finality(finalized=finalized, reorged=reorged)


class AnchorStanding(StrEnum):
    FINAL = "final"  # its block is on the chain under enough confirmations
    WAITING = "waiting"  # its block is on the chain, not yet deep enough
    REORGED = "reorged"  # its block is no longer on the chain


def anchor_standing(
    registry: Registry, batch: AnchorBatch, *, confirmations: int
) -> AnchorStanding:
    """Where an anchored root's block stands on the chain now (one or two reads)."""
    assert batch.block_number is not None
    try:
        block_hash: str | None = registry.block(batch.block_number).hash
    except NotFound:
        block_hash = None
    if block_hash is None or block_hash.lower() != (batch.block_hash or "").lower():
        return AnchorStanding.REORGED
    if registry.confirmations(batch.block_number) >= confirmations:
        return AnchorStanding.FINAL
    return AnchorStanding.WAITING


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
                record_event(
                    uow.session,
                    CERTIFICATE_FINAL,
                    {
                        "batch_id": row.id,
                        "root": "0x" + row.root.hex(),
                        "leaf_count": row.leaf_count,
                        "chain_id": row.chain_id,
                        "contract_address": row.contract_address,
                        "tx_hash": row.tx_hash,
                        "block_number": row.block_number,
                        "finalized_at": now.isoformat(),
                    },
                    f"certificate.final:{row.id}",
                    now=now,
                )
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


def has_anchored_batches(uow: ContentUnitOfWork) -> bool:
    """Whether any batch waits for finality (so the chain needs asking)."""
    with uow.reading():
        return bool(uow.batches.batches_in(BatchStatus.ANCHORED, limit=1))


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
        recorded = uow.content.record_deployment(
            chain_id, registry.address, replacing=address, now=now or utc_now()
        )
        uow.commit()
    if recorded != registry.address:
        # Another process (a second host, a worker) deployed at the same moment and recorded
        # first: anchor to that one, so that every process anchors to one contract.
        logger.warning(
            "ContentRegistry %s on chain %s was recorded first; the one deployed at %s is unused",
            recorded,
            chain_id,
            registry.address,
        )
        return RegistryClient.at(chain, recorded)
    logger.info("deployed ContentRegistry at %s on chain %s", registry.address, chain_id)
    return registry
