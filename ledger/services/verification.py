"""Verification: every hash chain, every sealed root, and every stored balance recomputed
from the transfers.

The chains (see ``ledger.shards``): the legacy global chain of transfers made before shard
chains existed (shard NULL; seq 1, 2, … from ``GENESIS_HASH``, ending at ``ledger_head``), then
one chain per shard (shard_seq 1, 2, … from ``shard_genesis`` of the legacy chain's end,
ending at that shard's ``ledger_heads`` row). Transfers are read in seq order: within a shard
that is chain order (a seq is drawn under the shard's lock), across shards it need not be,
and global seqs may skip (PostgreSQL's sequence does not roll back).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.model import (
    GENESIS_HASH,
    RESOLUTIONS,
    Balance,
    Transfer,
    TransferId,
    TransferKind,
    effects,
    may_go_negative,
)
from ledger.services.balances import trial_of
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.shards import (
    LEDGER_SHARDS,
    Root,
    StripeKey,
    chain_shard,
    root_hash,
    shard_genesis,
    stripe_of,
)
from ledger.store.repository import summed


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """``head_seq``: the greatest seq; ``shards``: transfers per shard chain (the legacy
    chain under ``None``); ``roots``: sealed roots checked."""

    transfers: int
    head_seq: int
    errors: list[str] = field(default_factory=list)
    shards: dict[int | None, int] = field(default_factory=dict)
    roots: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Walk:
    """Where each chain stands while the transfers stream by."""

    errors: list[str]
    legacy_seq: int = 0
    legacy_hash: str = GENESIS_HASH
    ends: dict[int, tuple[int, str]] = field(default_factory=dict)  # shard → (shard_seq, hash)
    counts: dict[int | None, int] = field(default_factory=dict)
    # (shard, shard_seq) positions the roots name → the hash found there
    wanted: set[tuple[int, int]] = field(default_factory=set)
    found: dict[tuple[int, int], str] = field(default_factory=dict)

    def end(self, shard: int) -> tuple[int, str]:
        return self.ends.get(shard, (0, shard_genesis(self.legacy_hash, shard)))

    def step(self, t: Transfer) -> None:
        label = f"seq {t.seq} ({t.id})"
        if t.content_hash() != t.hash:
            self.errors.append(f"{label}: content does not match its hash")
        self.counts[t.shard] = self.counts.get(t.shard, 0) + 1
        if t.shard is None:
            if self.ends:
                self.errors.append(f"{label}: a legacy transfer after the shard chains began")
            if t.seq != self.legacy_seq + 1:
                self.errors.append(f"{label}: expected seq {self.legacy_seq + 1} (one is missing)")
            if t.prev_hash != self.legacy_hash:
                self.errors.append(f"{label}: prev_hash does not link to the legacy chain")
            self.legacy_seq, self.legacy_hash = t.seq, t.hash
            return
        if t.shard != chain_shard(t.debit, t.credit):
            self.errors.append(f"{label}: on shard {t.shard}, its accounts' chain is another")
        shard_seq, prev_hash = self.end(t.shard)
        if t.shard_seq != shard_seq + 1:
            self.errors.append(f"{label}: shard {t.shard} expected shard_seq {shard_seq + 1}")
        if t.prev_hash != prev_hash:
            self.errors.append(f"{label}: prev_hash does not link to shard {t.shard}'s chain")
        self.ends[t.shard] = (t.shard_seq or 0, t.hash)
        if (t.shard, t.shard_seq or 0) in self.wanted:
            self.found[(t.shard, t.shard_seq or 0)] = t.hash


def verify(uow: LedgerUnitOfWork, *, max_errors: int = 100) -> VerifyReport:
    """Recompute every chain, root and balance from the transfers; report each mismatch."""
    errors: list[str] = []
    replayed: dict[StripeKey, Balance] = {}
    holds: dict[TransferId, Transfer] = {}
    walk, count, last_seq = _Walk(errors), 0, 0
    with uow.reading(snapshot=True):
        repo = uow.ledger
        roots = repo.roots()
        walk.wanted = {(int(s), int(seq)) for root in roots for s, seq, _ in root.heads}
        for t in repo.all_transfers():
            count, last_seq = count + 1, t.seq
            walk.step(t)
            pending = holds.get(t.pending_id) if t.kind in RESOLUTIONS and t.pending_id else None
            if t.kind in RESOLUTIONS and pending is None:
                errors.append(f"seq {t.seq} ({t.id}): resolves unknown hold {t.pending_id!r}")
            else:
                for account, asset, delta in effects(t, pending):
                    key = (account, asset, stripe_of(account, t.shard))
                    replayed[key] = replayed.get(key, Balance()) + delta
            if t.kind is TransferKind.PENDING:
                holds[t.id] = t
        legacy_head = repo.head()
        heads = repo.shard_heads()
        stored = repo.balance_rows()
    _check_heads(walk, legacy_head, heads)
    _check_roots(walk, roots)
    for key in sorted(set(stored) | set(replayed)):
        have, want = stored.get(key, Balance()), replayed.get(key, Balance())
        name = f"{key[0]} {key[1]}" + (f" stripe {key[2]}" if key[2] else "")
        if have != want:
            errors.append(f"balance {name}: stored {have}, transfers give {want}")
        if not may_go_negative(key[0]) and want.available < 0:
            errors.append(f"balance {name} is negative: {want.available}")
    trial = trial_of(summed(replayed))
    errors += [f"asset {a} sums to {total}, not zero" for a, total in trial.totals.items() if total]
    return VerifyReport(
        transfers=count,
        head_seq=last_seq,
        errors=errors[:max_errors],
        shards=walk.counts,
        roots=len(roots),
    )


def _check_heads(
    walk: _Walk, legacy_head: tuple[int, str], heads: dict[int, tuple[int, str]]
) -> None:
    if legacy_head != (walk.legacy_seq, walk.legacy_hash):
        walk.errors.append(
            f"legacy chain head is at seq {legacy_head[0]}, its transfers end at {walk.legacy_seq}"
        )
    if set(heads) != set(range(LEDGER_SHARDS)):
        walk.errors.append(f"shard heads {sorted(heads)}, expected 0..{LEDGER_SHARDS - 1}")
    for shard in sorted(set(heads) | set(walk.ends)):
        if heads.get(shard) != walk.end(shard):
            have = heads.get(shard, (None, None))[0]
            walk.errors.append(
                f"shard {shard} head is at shard_seq {have}, "
                f"its transfers end at {walk.end(shard)[0]}"
            )


def _check_roots(walk: _Walk, roots: list[Root]) -> None:
    """Every root's heads lie on their chains, its hash recomputes, and each links to the
    one before."""
    prev = GENESIS_HASH
    for root in roots:
        if root.prev_root != prev:
            walk.errors.append(f"root {root.id}: does not link to the root before")
        if root_hash(root.prev_root, [list(h) for h in root.heads]) != root.root:
            walk.errors.append(f"root {root.id}: its hash does not recompute")
        for shard, shard_seq, hash_ in root.heads:
            at = walk.found.get((shard, shard_seq))
            if shard_seq == 0:
                at = shard_genesis(walk.legacy_hash, shard)
            if at != hash_:
                walk.errors.append(
                    f"root {root.id}: shard {shard} at shard_seq {shard_seq} is not on its chain"
                )
        prev = root.root
