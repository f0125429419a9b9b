"""The content registry's invariants, for the check registry (``core.checks``): every batch this
database holds as anchored or final has its Merkle root on the chain, at the recorded time; every
attestation's stored leaves give its root, and an anchored or final one's root is on the chain;
and no piece pending review or rejected is in a batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker
from web3.exceptions import Web3Exception

from contracts.attestations import AttestationStatus, InvalidLeaf, tree_of
from contracts.chain import ChainError
from contracts.content import AnchorBatch, BatchStatus
from contracts.merkle import MerkleError
from contracts.uow import ContentUnitOfWork
from contracts.verification import ChainReader
from core.checks import Check, DatabaseContext
from core.errors import Unavailable

BATCHES_PER_READ = 500
RECORDED = frozenset({BatchStatus.ANCHORED, BatchStatus.FINAL})
# What reading a chain may raise: our ChainError, a node that does not answer, web3's own.
CHAIN_FAILURES = (Unavailable, OSError, Web3Exception)


class ChainContext(DatabaseContext, Protocol):
    def chain_reader(self) -> ChainReader:
        """The chain the anchors are read from; raises ``ChainError`` when none is configured
        or it does not answer."""
        ...


@dataclass(frozen=True, slots=True)
class CheckContext:
    """A ``ChainContext``: the database's sessions and, when there is one, how to reach the
    chain (called only when a batch needs reading)."""

    sessions: sessionmaker[Session]
    chain: Callable[[], ChainReader] | None = None

    def chain_reader(self) -> ChainReader:
        if self.chain is None:
            raise ChainError("no chain is configured (set PAPERLEAGUE_CHAIN_RPC_URL)")
        return self.chain()


def roots_on_chain(context: ChainContext) -> list[str]:
    """Anchored and final batches whose root the chain does not hold (or holds from another
    time). Without a chain to ask, that is a problem only when some batch is final: an anchored
    one is still waiting for its confirmations."""
    batches = recorded_batches(ContentUnitOfWork(context.sessions))
    if not batches:
        return []
    final = [b for b in batches if b.status is BatchStatus.FINAL]
    try:
        reader = context.chain_reader()
        chain_id = reader.chain_id()
    except CHAIN_FAILURES as failure:
        if not final:
            return []
        return [f"{len(final)} final batches, and no chain to read their roots from: {failure}"]
    problems: list[str] = []
    for batch in batches:
        if batch.chain_id != chain_id:
            if batch.status is BatchStatus.FINAL:
                problems.append(
                    f"batch {batch.id} (final) is on chain {batch.chain_id}; the chain read is "
                    f"{chain_id}"
                )
            continue
        problems += _root_problems(reader, batch)
    return problems


def _root_problems(reader: ChainReader, batch: AnchorBatch, *, what: str = "batch") -> list[str]:
    where = f"{what} {batch.id} ({batch.status.value}): root 0x{batch.root.hex()}"
    try:
        anchored_at = reader.anchored_at(batch.contract_address, batch.root)
    except CHAIN_FAILURES as failure:
        return [f"{where} cannot be read at {batch.contract_address}: {failure}"]
    if anchored_at is None:
        return [f"{where} is not anchored at {batch.contract_address} on chain {batch.chain_id}"]
    if batch.block_timestamp is not None and anchored_at != batch.block_timestamp:
        return [
            f"{where} was anchored at {anchored_at}, the recorded block's time is "
            f"{batch.block_timestamp}"
        ]
    return []


def recorded_batches(uow: ContentUnitOfWork) -> list[AnchorBatch]:
    """Every anchored or final batch, by id."""
    found: list[AnchorBatch] = []
    before = None
    with uow.reading():
        while True:
            page, before = uow.batches.batches_page(before=before, limit=BATCHES_PER_READ)
            found += [b for b in page if b.status in RECORDED]
            if before is None:
                return sorted(found, key=lambda b: b.id)


def attestations_hold(context: ChainContext) -> list[str]:
    """Attestations whose stored leaves no longer give their root, or whose recorded anchor the
    chain does not hold (asked only when some attestation is on chain and a chain answers)."""
    uow = ContentUnitOfWork(context.sessions)
    problems: list[str] = []
    on_chain = []
    with uow.reading():
        for attestation in uow.attestations.in_status(tuple(AttestationStatus), limit=100_000):
            leaves = uow.attestations.leaves(attestation.id)
            where = f"attestation {attestation.id} ({attestation.kind} of {attestation.subject})"
            try:
                root = tree_of(leaves, attestation.leaf_encoding).root if leaves else None
            except (InvalidLeaf, MerkleError) as bad:
                problems.append(f"{where}: a stored leaf is not valid: {bad}")
                continue
            if root != attestation.root or len(leaves) != attestation.count:
                problems.append(f"{where}: its {len(leaves)} stored leaves do not give its root")
            elif attestation.on_chain:
                on_chain.append(attestation)
    if not on_chain:
        return problems
    try:
        reader = context.chain_reader()
        chain_id = reader.chain_id()
    except CHAIN_FAILURES:
        return problems  # like a batch: without a chain, the roots cannot be read
    for attestation in on_chain:
        if attestation.chain_id == chain_id:
            problems += _root_problems(reader, attestation.as_batch(), what="attestation")
    return problems
def held_content_unanchored(context: ChainContext) -> list[str]:
    """Pieces held for review (or rejected) that are in an anchor batch anyway."""
    uow = ContentUnitOfWork(context.sessions)
    with uow.reading():
        found = uow.reviews.uncleared_in_batches(limit=BATCHES_PER_READ)
    return [
        f"content {content_id} ({review} in review) is {status} in batch {batch_id}"
        for content_id, review, batch_id, status in found
    ]


CHECKS: list[Check[ChainContext]] = [
    Check(
        name="contracts.anchors",
        package="contracts",
        description="every anchored or final batch has its Merkle root on the chain",
        problems=roots_on_chain,
    ),
    Check(
        name="contracts.attestations",
        package="contracts",
        description="every attestation's leaves give its root, which is on chain once anchored",
        problems=attestations_hold,
    ),
    Check(
        name="contracts.reviews",
        package="contracts",
        description="no content pending review or rejected is in an anchor batch",
        problems=held_content_unanchored,
    ),
]
