"""Verification: the hash chain and every stored balance recomputed from the transfers."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.model import (
    GENESIS_HASH,
    RESOLUTIONS,
    AccountId,
    Asset,
    Balance,
    Transfer,
    TransferId,
    TransferKind,
    effects,
    may_go_negative,
)
from ledger.services.balances import trial_of
from ledger.services.unit_of_work import LedgerUnitOfWork


@dataclass(frozen=True, slots=True)
class VerifyReport:
    transfers: int
    head_seq: int
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def verify(uow: LedgerUnitOfWork, *, max_errors: int = 100) -> VerifyReport:
    """Recompute the hash chain and every balance from the transfers; report each mismatch."""
    errors: list[str] = []
    replayed: dict[tuple[AccountId, Asset], Balance] = {}
    holds: dict[TransferId, Transfer] = {}
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    with uow.reading(snapshot=True):
        repo = uow.ledger
        for t in repo.all_transfers():
            count += 1
            if t.seq != expected_seq:
                errors.append(f"seq {t.seq}: expected {expected_seq} (a transfer is missing)")
            if t.prev_hash != prev_hash:
                errors.append(f"seq {t.seq} ({t.id}): prev_hash does not link to the chain")
            if t.content_hash() != t.hash:
                errors.append(f"seq {t.seq} ({t.id}): content does not match its hash")
            pending = holds.get(t.pending_id) if t.kind in RESOLUTIONS and t.pending_id else None
            if t.kind in RESOLUTIONS and pending is None:
                errors.append(f"seq {t.seq} ({t.id}): resolves unknown hold {t.pending_id!r}")
            else:
                for account, asset, delta in effects(t, pending):
                    replayed[(account, asset)] = replayed.get((account, asset), Balance()) + delta
            if t.kind is TransferKind.PENDING:
                holds[t.id] = t
            expected_seq, prev_hash = t.seq + 1, t.hash
        head_seq, head_hash = repo.head()
        stored = repo.balances()
    if (head_seq, head_hash) != (expected_seq - 1, prev_hash):
        errors.append(f"chain head is at seq {head_seq}, transfers end at {expected_seq - 1}")
    for key in sorted(set(stored) | set(replayed)):
        have, want = stored.get(key, Balance()), replayed.get(key, Balance())
        if have != want:
            errors.append(f"balance {key[0]} {key[1]}: stored {have}, transfers give {want}")
        if not may_go_negative(key[0]) and want.available < 0:
            errors.append(f"balance {key[0]} {key[1]} is negative: {want.available}")
    trial = trial_of(replayed)
    errors += [f"asset {a} sums to {total}, not zero" for a, total in trial.totals.items() if total]
    return VerifyReport(transfers=count, head_seq=head_seq, errors=errors[:max_errors])
