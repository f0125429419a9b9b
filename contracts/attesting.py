"""Attesting: store an attestation once, anchor its root, then follow it to finality.

The same two phases as content anchoring (``contracts.anchoring``), one attestation per
``anchor(root, count)`` transaction:

1. in one transaction mark the attestation ``sending`` with the chain it goes to;
2. ``anchoring.send_root`` outside any transaction (a root already on chain is recovered
   from its ``Anchored`` event, so a rerun after a lost receipt never anchors twice);
3. record the receipt: ``anchored``; ``final`` once ``confirmations`` blocks are on top, or
   back to ``sending`` when its block left the chain.

``attest`` is idempotent by ``(kind, subject)``: the first call fixes the root.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from contracts import anchoring
from contracts.anchoring import AnchorStanding, Registry
from contracts.attestations import (
    Attestation,
    AttestationCertificate,
    AttestationId,
    AttestationStatus,
    LeafValues,
    certificate_of,
    tree_of,
)
from contracts.chain import ChainError
from contracts.registry import AnchorReceipt
from contracts.uow import ContentUnitOfWork
from core.clock import utc_now
from core.errors import Conflict, DomainError, NotFound
from core.rule_codes import Rule

logger = logging.getLogger("paperleague.contracts")
MAX_PER_RUN = 100


def attest(
    uow: ContentUnitOfWork,
    kind: str,
    *,
    subject: int,
    leaf_encoding: Sequence[str],
    leaves: Sequence[tuple[int | None, LeafValues]],
    document: str,
    now: datetime | None = None,
) -> Attestation:
    """The attestation of ``kind`` about ``subject``: stored ``pending`` by the first call,
    returned unchanged by every later one. ``leaves`` are ``(holder, values)`` in tree order."""
    root = tree_of([values for _, values in leaves], leaf_encoding).root
    with uow:
        found = uow.attestations.find(kind, subject)
        if found is None:
            found = uow.attestations.add_once(
                kind=kind,
                subject=subject,
                leaf_encoding=leaf_encoding,
                leaves=leaves,
                root=root,
                document=document,
                now=now or utc_now(),
            )
        uow.commit()
    if found.root != root:
        logger.warning("%s %s was attested with another root; kept the first", kind, subject)
    return found


def anchor_attestations(
    uow: ContentUnitOfWork,
    registry: Registry,
    *,
    limit: int = MAX_PER_RUN,
    now: datetime | None = None,
) -> list[Attestation]:
    """Anchor up to ``limit`` pending (or interrupted) attestations, one transaction each.

    On a chain failure the attestation keeps its error and stays ``sending``; the error
    propagates and the next run retries it (and the ones after it)."""
    with uow.reading():
        waiting = uow.attestations.in_status(
            (AttestationStatus.PENDING, AttestationStatus.SENDING), limit=limit
        )
    anchored = []
    for attestation in waiting:
        sending = _fix(uow, registry, attestation.id)
        if sending is None:
            continue
        try:
            receipt = anchoring.send_root(registry, sending.as_batch())
        except DomainError as failure:
            _record_failure(uow, attestation.id, failure)
            raise
        anchored.append(_record_anchor(uow, attestation.id, receipt, now=now or utc_now()))
    return anchored


def _fix(
    uow: ContentUnitOfWork, registry: Registry, attestation_id: AttestationId
) -> Attestation | None:
    """Phase 1: mark it ``sending`` to ``registry`` (None when another anchorer finished it)."""
    from_block = registry.latest_block_number()
    with uow:
        row = uow.attestations.lock(attestation_id)
        if row is None or row.status not in ("pending", "sending"):
            return None
        target = (registry.chain_id, registry.address)
        if row.status == "pending" or (row.chain_id, row.contract_address) != target:
            row.chain_id, row.contract_address = target
            row.from_block = from_block
        row.status = AttestationStatus.SENDING.value
        row.attempts += 1
        attestation = row.to_attestation()
        uow.commit()
    return attestation


def _record_failure(
    uow: ContentUnitOfWork, attestation_id: AttestationId, failure: DomainError
) -> None:
    with uow:
        row = uow.attestations.lock(attestation_id)
        if row is not None:
            row.last_error = f"{type(failure).__name__}: {failure.detail}"[:500]
            uow.commit()


def _record_anchor(
    uow: ContentUnitOfWork, attestation_id: AttestationId, receipt: AnchorReceipt, *, now: datetime
) -> Attestation:
    """Phase 3: the receipt is recorded (once; a concurrent anchorer's record stands)."""
    with uow:
        row = uow.attestations.lock(attestation_id)
        if row is None:
            raise NotFound(f"attestation {attestation_id} vanished")
        if row.status != AttestationStatus.SENDING.value:
            return row.to_attestation()
        if receipt.root != row.root:
            raise ChainError(f"the chain anchored 0x{receipt.root.hex()}, not attestation {row.id}")
        row.status = AttestationStatus.ANCHORED.value
        row.tx_hash = receipt.tx_hash
        row.block_number = receipt.block_number
        row.block_hash = receipt.block_hash
        row.block_timestamp = receipt.block_timestamp
        row.gas_used = receipt.gas_used
        row.anchored_at = now
        row.last_error = None
        attestation = row.to_attestation()
        uow.commit()
    return attestation


def refresh_attestation_finality(
    uow: ContentUnitOfWork,
    registry: Registry,
    *,
    confirmations: int,
    now: datetime | None = None,
) -> list[AttestationId]:
    """Anchored attestations deep enough become ``final``; one whose block left the chain goes
    back to ``sending`` (the next run resends or recovers it). Returns those made final."""
    with uow.reading():
        anchored = [
            a
            for a in uow.attestations.in_status((AttestationStatus.ANCHORED,))
            if (a.chain_id, a.contract_address) == (registry.chain_id, registry.address)
        ]
    standings = {
        a.id: anchoring.anchor_standing(registry, a.as_batch(), confirmations=confirmations)
        for a in anchored
    }
    if all(s is AnchorStanding.WAITING for s in standings.values()):
        return []
    finalized = []
    with uow:
        for attestation_id, standing in standings.items():
            row = uow.attestations.lock(attestation_id)
            if row is None or row.status != AttestationStatus.ANCHORED.value:
                continue
            if standing is AnchorStanding.FINAL:
                row.status, row.finalized_at = AttestationStatus.FINAL.value, now or utc_now()
                finalized.append(attestation_id)
            elif standing is AnchorStanding.REORGED:
                logger.warning("attestation %s: block %s left the chain", row.id, row.block_number)
                row.last_error = f"block {row.block_number} left the chain (reorganisation)"
                row.status = AttestationStatus.SENDING.value
                row.tx_hash = row.block_hash = None
                row.block_number = row.block_timestamp = row.gas_used = None
                row.anchored_at = None
        uow.commit()
    return finalized


def has_work(uow: ContentUnitOfWork) -> bool:
    """Whether any attestation waits to be anchored or to become final."""
    with uow.reading():
        return bool(
            uow.attestations.in_status(
                (AttestationStatus.PENDING, AttestationStatus.SENDING, AttestationStatus.ANCHORED),
                limit=1,
            )
        )


def find_attestation(uow: ContentUnitOfWork, kind: str, subject: int) -> Attestation | None:
    with uow.reading():
        return uow.attestations.find(kind, subject)


def leaf_certificate(
    uow: ContentUnitOfWork, kind: str, subject: int, *, holder: int | None = None
) -> AttestationCertificate:
    """The certificate of ``holder``'s leaf (or the first leaf when ``holder`` is None).

    ``NotFound`` when nothing is attested or ``holder`` has no leaf; ``Conflict`` (rule
    ``not_anchored``) while the root is not on chain yet."""
    with uow.reading():
        attestation = uow.attestations.find(kind, subject)
        if attestation is None:
            raise NotFound(f"no {kind} attestation of {subject}", field="subject")
        position = 0 if holder is None else uow.attestations.position_of(attestation.id, holder)
        if position is None:
            raise NotFound(f"{kind} of {subject} holds no leaf for {holder}", field="holder")
        leaves = uow.attestations.leaves(attestation.id)
    if not attestation.on_chain:
        raise Conflict(
            f"the {kind} of {subject} are not anchored yet", field="subject", rule=Rule.NOT_ANCHORED
        )
    proof = tree_of(leaves, attestation.leaf_encoding).proof(position)
    return certificate_of(attestation, leaves[position], proof)
