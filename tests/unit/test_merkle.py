"""Merkle trees as OpenZeppelin's StandardMerkleTree: proofs, layout, and the classic pitfalls."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import merkle
from contracts.merkle import MerkleError, MerkleTree, hash_pair, leaf_hash, standard_tree

nodes = st.binary(min_size=32, max_size=32)
leaf_lists = st.lists(nodes, min_size=1, max_size=70)


@given(st.binary(max_size=200))
def test_the_fast_keccak_is_ethereums(data: bytes) -> None:
    assert merkle.keccak256(data) == keccak(data)


def test_leaf_is_the_double_keccak_of_the_abi_encoding() -> None:
    values = [b"\x11" * 32, 42]
    types = ["bytes32", "uint256"]
    assert leaf_hash(values, types) == keccak(keccak(encode(types, values)))


@settings(max_examples=150, deadline=None)
@given(leaf_lists)
def test_every_leafs_proof_verifies_for_any_tree_size(leaves: list[bytes]) -> None:
    tree = MerkleTree.of(leaves)
    depth = (len(leaves) - 1).bit_length() if len(leaves) > 1 else 0
    for index, leaf in enumerate(leaves):
        proof = tree.proof(index)
        assert tree.leaf(index) == leaf
        assert merkle.verify(proof, tree.root, leaf)
        assert len(proof) in (depth, depth - 1)  # a complete tree: leaves on the last two levels


@settings(max_examples=100, deadline=None)
@given(st.lists(nodes, min_size=2, max_size=40, unique=True), st.data())
def test_a_proof_does_not_verify_another_leaf_or_a_flipped_bit(
    leaves: list[bytes], data: st.DataObject
) -> None:
    tree = MerkleTree.of(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    other = data.draw(st.integers(0, len(leaves) - 1).filter(lambda i: i != index))
    proof = tree.proof(index)
    assert not merkle.verify(proof, tree.root, leaves[other])
    position = data.draw(st.integers(0, len(proof) - 1))
    flipped = bytes([proof[position][0] ^ 1]) + proof[position][1:]
    assert not merkle.verify(
        [*proof[:position], flipped, *proof[position + 1 :]], tree.root, leaves[index]
    )


@given(leaf_lists, st.randoms(use_true_random=False))
def test_the_root_does_not_depend_on_the_order_of_the_leaves(leaves: list[bytes], rng) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(leaves)
    rng.shuffle(shuffled)
    assert MerkleTree.of(shuffled).root == MerkleTree.of(leaves).root


def test_layout_is_openzeppelins_array_tree() -> None:
    a, b, c = (bytes([n]) * 32 for n in (1, 2, 3))
    assert MerkleTree.of([a]).root == a
    assert MerkleTree.of([b, a]).root == hash_pair(a, b)
    # Three leaves, sorted a < b < c, are stored [root, x, c, b, a] (leaf k at index 4 - k):
    # node 1 = hash(b, a), root = hash(node 1, c). The odd leaf c is promoted, not duplicated.
    tree = MerkleTree.of([c, a, b])
    assert tree.nodes[2:] == (c, b, a)
    assert tree.nodes[1] == hash_pair(b, a)
    assert tree.root == hash_pair(hash_pair(a, b), c)
    assert tree.proof(0) == [hash_pair(a, b)]  # c's sibling is node 1
    assert tree.proof(1) == [b, c]


def test_an_odd_leaf_is_never_duplicated() -> None:
    """CVE-2012-2459: Bitcoin pairs an odd node with itself, so [A,B,C] and [A,B,C,C] collide."""
    a, b, c = sorted(leaf_hash([bytes([n]) * 32], ["bytes32"]) for n in (1, 2, 3))
    assert MerkleTree.of([a, b, c]).root != MerkleTree.of([a, b, c, c]).root

    def bitcoin_root(level: list[bytes]) -> bytes:
        while len(level) > 1:
            level = level + level[-1:] if len(level) % 2 else level
            level = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        return level[0]

    assert bitcoin_root([a, b, c]) == bitcoin_root([a, b, c, c])  # the flaw we avoid


def test_an_inner_node_is_not_accepted_as_a_leaf() -> None:
    """openzeppelin-contracts #3091: with single-hashed 64-byte leaves, an inner node (the hash
    of two 32-byte children) would pass as the leaf of the children's concatenation."""
    types = ["bytes32", "bytes32"]
    values = [[bytes([n]) * 32, bytes([n + 100]) * 32] for n in range(8)]
    tree = standard_tree(values, types)
    inner = tree.nodes[1]
    left, right = sorted((tree.nodes[3], tree.nodes[4]))
    inner_proof = [tree.nodes[2]]
    # The raw path check alone accepts the inner node ...
    assert merkle.verify(inner_proof, tree.root, inner)
    # ... and a single hash of its children's ABI encoding IS that node ...
    assert keccak(encode(types, [left, right])) == inner
    # ... but as leaf values they are hashed twice, which no inner node equals.
    assert not merkle.verify_values(inner_proof, tree.root, [left, right], types)
    for index, value in enumerate(values):
        assert merkle.verify_values(tree.proof(index), tree.root, value, types)


def test_bad_input_is_refused() -> None:
    with pytest.raises(MerkleError, match="at least one leaf"):
        MerkleTree.of([])
    with pytest.raises(MerkleError, match="32 bytes"):
        MerkleTree.of([b"short"])
    tree = MerkleTree.of([b"\x01" * 32, b"\x02" * 32])
    with pytest.raises(MerkleError, match="outside"):
        tree.proof(2)
    assert not merkle.verify([b"short"], tree.root, b"\x01" * 32)
    with pytest.raises(MerkleError, match="types"):
        leaf_hash([1, 2], ["uint256"])
