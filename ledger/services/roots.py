"""Sealed roots: one hash over every shard chain's head, linked to the previous root.

The shard chains (``ledger.shards``) are each tamper-evident, but a chain could be cut back
to an earlier transfer, head and all, and still link. A root, sealed every few minutes by the
worker (``ledger.root``) or ``paperleague ledger seal-root``, records where every chain
stood; ``verify`` checks each root's heads lie on their chains and the roots link, so history
before the last root cannot be rewritten unnoticed, and the latest root's hash is one value to
publish (anchor, print) for the ledger as a whole.
"""

from __future__ import annotations

from datetime import datetime

from core.clock import utc_now
from ledger.model import GENESIS_HASH
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.shards import Root, root_hash
from ledger.store.repository import root_of
from ledger.store.transfers import RootRow

__all__ = ["Root", "seal_root"]


def seal_root(uow: LedgerUnitOfWork, *, now: datetime | None = None) -> Root | None:
    """Seal the shard heads as they stand into a new root, or ``None`` when no head moved
    since the last root (nor since the chains began).

    Every shard is locked for the moment it takes (a consistent cut: no write is half in);
    concurrent seals serialize on those locks, and the second finds nothing moved."""
    with uow:
        heads = uow.ledger.lock_head()
        positions = [
            [shard, heads[shard].last_seq, heads[shard].last_hash] for shard in sorted(heads)
        ]
        last = uow.ledger.last_root()
        if last is None and all(seq == 0 for _, seq, _ in positions):
            return None
        if last is not None and [list(h) for h in last.heads] == positions:
            return None
        prev = GENESIS_HASH if last is None else last.root
        row = RootRow(
            id=1 if last is None else last.id + 1,
            created_at=now or utc_now(),
            heads=positions,
            prev_root=prev,
            root=root_hash(prev, positions),
        )
        uow.ledger.add_root(row)
        uow.commit()
        return root_of(row)
