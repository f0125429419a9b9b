"""An in-memory stand-in for the ContentRegistry on a chain, with failures on demand.

``FakeRegistry`` implements ``contracts.anchoring.Registry`` (what anchoring needs) and
``reader()`` gives a ``contracts.verification.ChainReader`` over the same fake chain, so
certificates issued against it verify. Failures: ``fail_next`` raises before anything reaches
the chain; ``lose_next_receipt`` anchors and then raises (a receipt lost in transit);
``reorg`` replaces blocks from a height on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from contracts.chain import ChainError
from contracts.registry import AlreadyAnchored, AnchorReceipt, BlockInfo
from contracts.verification import AnchorTransaction, ChainReader
from core.errors import DomainError, NotFound

GENESIS_TIMESTAMP = 1_700_000_000
BLOCK_SECONDS = 12
ANCHOR_GAS = 45_600


@dataclass
class _Anchor:
    root: bytes
    count: int
    tx_hash: str
    block_number: int


@dataclass
class FakeRegistry:
    chain_id: int = 31337
    address: str = "0x" + "c0ffee00" * 5
    blocks: list[BlockInfo] = field(default_factory=list)
    anchors: list[_Anchor] = field(default_factory=list)
    failures: list[DomainError] = field(default_factory=list)
    lost_receipts: int = 0
    sent: int = 0  # anchor() calls, including refused ones
    _forks: int = 0

    def __post_init__(self) -> None:
        if not self.blocks:
            self._mine_block()

    # -- failure injection ------------------------------------------------------------------

    def fail_next(self, error: DomainError | None = None, *, times: int = 1) -> None:
        self.failures.extend([error or ChainError("node unreachable (injected)")] * times)

    def lose_next_receipt(self) -> None:
        self.lost_receipts += 1

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self._mine_block()

    def reorg(self, from_block: int) -> None:
        """Replace every block from ``from_block`` on; anchors in them are gone."""
        self._forks += 1
        height = len(self.blocks)
        del self.blocks[from_block:]
        self.anchors = [a for a in self.anchors if a.block_number < from_block]
        while len(self.blocks) < height:
            self._mine_block()

    # -- services.Registry ------------------------------------------------------------------

    def anchor(self, root: bytes, count: int) -> AnchorReceipt:
        self.sent += 1
        if self.failures:
            raise self.failures.pop(0)
        if self.anchored_at(root) is not None:
            raise AlreadyAnchored(f"root 0x{root.hex()} is already anchored")
        block = self._mine_block()
        tx_hash = "0x" + hashlib.sha256(b"tx" + root + bytes([self._forks])).hexdigest()
        self.anchors.append(_Anchor(root, count, tx_hash, block.number))
        if self.lost_receipts:
            self.lost_receipts -= 1
            raise ChainError("timed out waiting for the receipt (injected)")
        return self._receipt(self.anchors[-1])

    def anchored_at(self, root: bytes) -> int | None:
        anchor = self._anchor(root)
        return None if anchor is None else self.blocks[anchor.block_number].timestamp

    def block(self, number: int) -> BlockInfo:
        if not 0 <= number < len(self.blocks):
            raise NotFound(f"block {number} is not on the chain")
        return self.blocks[number]

    def latest_block_number(self) -> int:
        return len(self.blocks) - 1

    def confirmations(self, block_number: int) -> int:
        return max(0, self.latest_block_number() - block_number + 1)

    def find_anchor(self, root: bytes, *, from_block: int) -> AnchorReceipt | None:
        anchor = self._anchor(root)
        if anchor is None or anchor.block_number < from_block:
            return None
        return self._receipt(anchor)

    # -- a ChainReader over the same chain -------------------------------------------------

    def reader(self, *, chain_id: int | None = None) -> ChainReader:
        return _FakeReader(self, chain_id if chain_id is not None else self.chain_id)

    # -- internals --------------------------------------------------------------------------

    def _anchor(self, root: bytes) -> _Anchor | None:
        return next((a for a in self.anchors if a.root == root), None)

    def _receipt(self, anchor: _Anchor) -> AnchorReceipt:
        block = self.blocks[anchor.block_number]
        return AnchorReceipt(
            root=anchor.root,
            count=anchor.count,
            tx_hash=anchor.tx_hash,
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            gas_used=ANCHOR_GAS,
        )

    def _mine_block(self) -> BlockInfo:
        number = len(self.blocks)
        seed = f"{self.chain_id}:{number}:{self._forks}".encode()
        block = BlockInfo(
            number=number,
            hash="0x" + hashlib.sha256(seed).hexdigest(),
            timestamp=GENESIS_TIMESTAMP + BLOCK_SECONDS * number,
        )
        self.blocks.append(block)
        return block


@dataclass
class _FakeReader:
    registry: FakeRegistry
    served_chain_id: int

    def chain_id(self) -> int:
        return self.served_chain_id

    def has_code(self, address: str) -> bool:
        return address.lower() == self.registry.address.lower()

    def anchored_at(self, address: str, root: bytes) -> int | None:
        return self.registry.anchored_at(root) if self.has_code(address) else None

    def block(self, number: int) -> BlockInfo | None:
        try:
            return self.registry.block(number)
        except NotFound:
            return None

    def transaction(self, tx_hash: bytes) -> AnchorTransaction | None:
        anchor = next((a for a in self.registry.anchors if a.tx_hash == "0x" + tx_hash.hex()), None)
        if anchor is None:
            return None
        block = self.registry.blocks[anchor.block_number]
        return AnchorTransaction(
            block_number=block.number,
            block_hash=block.hash,
            to=self.registry.address,
            succeeded=True,
            anchored_roots=(anchor.root,),
        )
