"""Partitioned hash chains: which shard's chain a transfer joins and which stripe of a system
account's balance it moves. Pure code.

One chain for the whole ledger makes every write wait on one head row, so independent members
serialize. The ledger keeps ``LEDGER_SHARDS`` chains instead: an account belongs to the shard
its name hashes to, a transfer joins the chain of its first non-system account, and a write
locks the heads of the shards its non-system accounts fall in, so writes to members in
different shards never wait on each other. ``system:`` accounts (issuance, XP issuance,
redeemed, expired) are debited or credited by nearly every write; they belong to no shard and
their balance is *striped*: the row a transfer of shard ``s`` moves is stripe ``s``, and the
account's balance is the sum of its stripes. The chains began where the one global chain of
earlier versions ended (the legacy chain, kept and verified as it was): each shard's genesis
hash is derived from the legacy head, so the whole history stays one tamper-evident structure.
A periodic root (``ledger.services.roots``) seals the shard heads together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from core.hashchain import chain_hash
from ledger.model import AccountId, Asset, may_go_negative

LEDGER_SHARDS = 16  # recorded in the schema: one ``ledger_heads`` row per shard (migration 0031)
ALL_SHARDS = frozenset(range(LEDGER_SHARDS))
SYSTEM_SHARD = 0  # the chain of a transfer between system accounts only

StripeKey = tuple[AccountId, Asset, int]  # one stored balance row: (account, asset, stripe)
ShardPosition = tuple[int, int, str]  # (shard, shard_seq, hash of the transfer there)


@dataclass(frozen=True, slots=True)
class Root:
    """A seal over every shard head at one moment (``heads`` by shard; shard_seq 0 is the
    chain's genesis), linked to the root before (``GENESIS_HASH`` for the first)."""

    id: int
    created_at: datetime
    heads: tuple[ShardPosition, ...]
    prev_root: str
    root: str


@lru_cache(maxsize=1 << 16)  # a write asks for each account's shard several times
def shard_of(account: AccountId) -> int:
    """The shard of a (non-system) account: the first 8 bytes of the SHA-256 of its name,
    big-endian, modulo ``LEDGER_SHARDS``. Stable across processes and versions (never
    Python's ``hash``), so every writer and the verifier agree."""
    digest = hashlib.sha256(account.encode()).digest()
    return int.from_bytes(digest[:8], "big") % LEDGER_SHARDS


def chain_shard(debit: AccountId, credit: AccountId) -> int:
    """The chain a transfer joins: the shard of its first non-system account (the debit,
    else the credit); a transfer between system accounts joins ``SYSTEM_SHARD``."""
    for account in (debit, credit):
        if not may_go_negative(account):
            return shard_of(account)
    return SYSTEM_SHARD


def stripe_of(account: AccountId, shard: int | None) -> int:
    """The balance row of ``account`` a transfer of chain ``shard`` moves: its stripe
    ``shard`` for a system account, stripe 0 for every other account (and for legacy
    transfers, which belong to no shard)."""
    return shard if shard is not None and may_go_negative(account) else 0


def shards_of(accounts: Iterable[AccountId]) -> frozenset[int]:
    """The shards whose heads a write touching ``accounts`` locks: those of its non-system
    accounts, or ``SYSTEM_SHARD`` when it touches system accounts only."""
    shards = frozenset(shard_of(a) for a in accounts if not may_go_negative(a))
    return shards or frozenset({SYSTEM_SHARD})


def shard_genesis(legacy_hash: str, shard: int) -> str:
    """The ``prev_hash`` of a shard chain's first transfer, derived from the legacy chain's
    last hash, so no shard chain can be rebuilt without the legacy history under it."""
    return chain_hash(legacy_hash, ["shard", shard])


def root_hash(prev_root: str, heads: list[list[Any]]) -> str:
    """The seal over the shard ``heads`` ([shard, shard_seq, hash] by shard), linked to the
    previous root's hash (``GENESIS_HASH`` for the first)."""
    return chain_hash(prev_root, ["root", heads])
