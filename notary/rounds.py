"""One anchoring round: pending content, then contests' rules and results, then finality.

What ``paperleague content anchor`` and the worker's ``content.anchor`` job both run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts import anchoring
from contracts.anchoring import Finality, Registry
from contracts.content import AnchorBatch
from contracts.uow import ContentUnitOfWork
from engine.uow import EngineUnitOfWork
from notary.contests import NotaryReport, notarize


@dataclass(frozen=True, slots=True)
class AnchorRound:
    batch: AnchorBatch | None  # None: no content was pending
    finality: Finality
    attestations: NotaryReport


def anchor_round(
    content: ContentUnitOfWork,
    engine: EngineUnitOfWork,
    registry: Registry,
    *,
    confirmations: int,
    limit: int = anchoring.MAX_BATCH,
    now: datetime | None = None,
) -> AnchorRound:
    """Anchor up to ``limit`` pending pieces (one transaction), advance anchored batches with
    ``confirmations`` blocks on top to final, then attest and anchor the contests' rules and
    results. A chain failure propagates; pending content stays pending."""
    batch = anchoring.anchor_pending(content, registry, limit=limit, now=now)
    finality = anchoring.refresh_finality(content, registry, confirmations=confirmations, now=now)
    report = notarize(engine, content, registry, confirmations=confirmations, now=now)
    return AnchorRound(batch, finality, report)
