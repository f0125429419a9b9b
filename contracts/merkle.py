"""Merkle trees as OpenZeppelin's ``StandardMerkleTree`` builds them (@openzeppelin/merkle-tree).

A root computed here equals the JavaScript library's for the same values, and a proof from here
verifies with ``MerkleProof.verify`` / the ContentRegistry contract's ``verify``:

- leaf = ``keccak256(bytes.concat(keccak256(abi.encode(values))))``: hashing twice means no leaf
  preimage is 64 bytes, so an inner node can never pass as a leaf (openzeppelin-contracts #3091);
- inner node = ``keccak256`` of the two children in ascending byte order (sorted pairs), so a
  proof is just the list of siblings;
- layout: leaves sorted by hash, stored right to left at the end of one array of ``2n - 1``
  nodes, node ``i`` the parent of ``2i + 1`` and ``2i + 2`` (a complete binary tree). An odd
  node is never paired with a copy of itself, so ``[A, B, C]`` and ``[A, B, C, C]`` have
  different roots (CVE-2012-2459).

Pure code: no I/O. Hashing uses the fastest Keccak-256 available (see ``keccak256``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import keccak as _eth_utils_keccak

NODE_BYTES = 32


def _fastest_keccak() -> Callable[[bytes], bytes]:
    # eth_utils.keccak adds a wrapper and picks pycryptodome; calling a backend directly is
    # 2-13x faster, which is most of the time of a 100,000-leaf tree. Tests check they agree.
    try:
        import sha3  # safe-pysha3, when installed

        keccak_256 = sha3.keccak_256
        return lambda data: keccak_256(data).digest()
    except ImportError:
        pass
    try:
        from Crypto.Hash import keccak as cryptodome_keccak

        new = cryptodome_keccak.new
        return lambda data: new(digest_bits=256, data=data).digest()
    except ImportError:  # pragma: no cover - eth-hash always brings a backend
        return lambda data: bytes(_eth_utils_keccak(data))


keccak256: Callable[[bytes], bytes] = _fastest_keccak()
"""Keccak-256 (Ethereum's, not NIST SHA3-256) of ``data``: 32 bytes."""


class MerkleError(ValueError):
    """A tree cannot be built from the input, or an index is out of range."""


def leaf_hash(values: Sequence[Any], types: Sequence[str]) -> bytes:
    """The StandardMerkleTree leaf of ``values`` ABI-encoded as ``types`` (e.g. ``bytes32``)."""
    if len(values) != len(types):
        raise MerkleError(f"{len(values)} values for {len(types)} types")
    return keccak256(keccak256(encode(list(types), list(values))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """An inner node: Keccak-256 of the two children, smaller first (OpenZeppelin's sorted pair)."""
    return keccak256(a + b if a < b else b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` (sibling hashes, leaf upwards) leads to from ``leaf``."""
    _check_node(leaf, "leaf")
    node = leaf
    for sibling in proof:
        _check_node(sibling, "proof element")
        node = hash_pair(node, sibling)
    return node


def verify(proof: Sequence[bytes], root: bytes, leaf: bytes) -> bool:
    """Whether ``proof`` leads from the leaf hash ``leaf`` to ``root`` (``MerkleProof.verify``).

    ``leaf`` must be a leaf hash computed by ``leaf_hash`` from the values: only that
    derivation, not this function, keeps inner nodes from passing as leaves.
    """
    try:
        return process_proof(leaf, proof) == root
    except MerkleError:
        return False


def verify_values(
    proof: Sequence[bytes], root: bytes, values: Sequence[Any], types: Sequence[str]
) -> bool:
    """Whether ``values`` (encoded as ``types``) are a leaf of the tree with ``root``."""
    return verify(proof, root, leaf_hash(values, types))


def _check_node(node: bytes, what: str) -> None:
    if not isinstance(node, bytes | bytearray) or len(node) != NODE_BYTES:
        raise MerkleError(f"a Merkle {what} must be {NODE_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class MerkleTree:
    """A built tree: ``nodes[0]`` is the root; ``positions[i]`` is where leaf ``i`` (in the
    order given to ``of``) sits in ``nodes``."""

    nodes: tuple[bytes, ...]
    positions: tuple[int, ...]

    @classmethod
    def of(cls, leaves: Sequence[bytes]) -> MerkleTree:
        """Build the tree over leaf hashes (each 32 bytes), as ``StandardMerkleTree.of`` does."""
        if not leaves:
            raise MerkleError("a Merkle tree needs at least one leaf")
        for leaf in leaves:
            _check_node(leaf, "leaf")
        order = sorted(range(len(leaves)), key=leaves.__getitem__)
        size = 2 * len(leaves) - 1
        nodes: list[bytes] = [b""] * (size - len(leaves))
        nodes.extend(bytes(leaves[i]) for i in reversed(order))  # sorted leaf k at size-1-k
        _fill_inner_nodes(nodes, internal=len(leaves) - 1)
        positions = [0] * len(leaves)
        for rank, value_index in enumerate(order):
            positions[value_index] = size - 1 - rank
        return cls(nodes=tuple(nodes), positions=tuple(positions))

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.positions)

    def leaf(self, index: int) -> bytes:
        """The hash of the ``index``-th leaf given to ``of``."""
        return self.nodes[self._position(index)]

    def proof(self, index: int) -> list[bytes]:
        """The siblings from the ``index``-th leaf up to (not including) the root."""
        position = self._position(index)
        proof = []
        while position > 0:
            sibling = position - 1 if position % 2 == 0 else position + 1
            proof.append(self.nodes[sibling])
            position = (position - 1) // 2
        return proof

    def _position(self, index: int) -> int:
        if not 0 <= index < len(self.positions):
            raise MerkleError(f"leaf index {index} is outside 0..{len(self.positions) - 1}")
        return self.positions[index]


def _fill_inner_nodes(nodes: list[bytes], *, internal: int) -> None:
    """Compute nodes ``0 .. internal-1`` from their children, one depth at a time.

    Every node at depth ``d`` depends only on deeper nodes, so each depth is one
    comprehension (no per-node index bookkeeping in the interpreter loop).
    """
    depth_starts = []
    start = 0
    while start < internal:
        depth_starts.append(start)
        start = 2 * start + 1
    for start in reversed(depth_starts):
        stop = min(2 * start + 1, internal)
        nodes[start:stop] = [
            hash_pair(nodes[2 * i + 1], nodes[2 * i + 2]) for i in range(start, stop)
        ]


def standard_tree(values: Sequence[Sequence[Any]], types: Sequence[str]) -> MerkleTree:
    """``StandardMerkleTree.of(values, types)``: the tree over each value's leaf hash."""
    return MerkleTree.of([leaf_hash(v, types) for v in values])
