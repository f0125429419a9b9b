"""The pure rules of the shard chains: which shard an account belongs to, which chain a
transfer joins, which stripe of a system account it moves, which heads a write locks."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from core.hashchain import GENESIS_HASH
from ledger.model import EXPIRED, ISSUANCE, REDEEMED, points_account, xp_account
from ledger.shards import (
    LEDGER_SHARDS,
    SYSTEM_SHARD,
    chain_shard,
    root_hash,
    shard_genesis,
    shard_of,
    shards_of,
    stripe_of,
)

SYSTEM = st.sampled_from([ISSUANCE, REDEEMED, EXPIRED, "system:xp"])
OTHER = st.one_of(
    st.integers(1, 10**9).map(points_account),
    st.integers(1, 10**9).map(xp_account),
    st.from_regex(r"stock:[a-z0-9]{1,12}", fullmatch=True),
)


def test_shard_of_is_pinned_to_its_documented_formula() -> None:
    """Stable across processes and releases: a change would put accounts on other chains."""
    assert [shard_of(points_account(m)) for m in range(1, 6)] == [7, 15, 11, 12, 2]
    assert shard_of("stock:mug") == 15
    digest = hashlib.sha256(b"member:42:xp").digest()
    assert shard_of("member:42:xp") == int.from_bytes(digest[:8], "big") % LEDGER_SHARDS


@given(OTHER, SYSTEM)
def test_a_transfer_joins_the_chain_of_its_first_non_system_account(
    account: str, system: str
) -> None:
    assert 0 <= shard_of(account) < LEDGER_SHARDS
    assert chain_shard(system, account) == chain_shard(account, system) == shard_of(account)
    assert chain_shard(system, ISSUANCE if system != ISSUANCE else REDEEMED) == SYSTEM_SHARD


@given(OTHER, OTHER)
def test_between_two_accounts_the_debit_picks_the_chain(debit: str, credit: str) -> None:
    assert chain_shard(debit, credit) == shard_of(debit)
    assert shards_of([debit, credit, ISSUANCE]) == {shard_of(debit), shard_of(credit)}


@given(OTHER, SYSTEM, st.integers(0, LEDGER_SHARDS - 1))
def test_only_system_accounts_are_striped(account: str, system: str, shard: int) -> None:
    assert stripe_of(account, shard) == 0
    assert stripe_of(system, shard) == shard
    assert stripe_of(system, None) == 0  # the legacy chain wrote stripe 0
    assert shards_of([system]) == {SYSTEM_SHARD}


def test_each_shard_starts_from_the_legacy_chain_and_roots_link() -> None:
    geneses = {shard_genesis(GENESIS_HASH, s) for s in range(LEDGER_SHARDS)}
    assert len(geneses) == LEDGER_SHARDS  # no two chains share a genesis
    assert shard_genesis("a" * 64, 0) != shard_genesis(GENESIS_HASH, 0)
    heads = [[0, 3, "f" * 64]]
    assert root_hash(GENESIS_HASH, heads) != root_hash("e" * 64, heads)
    assert root_hash(GENESIS_HASH, heads) != root_hash(GENESIS_HASH, [[0, 4, "f" * 64]])
