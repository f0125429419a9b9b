"""``OnChainReader``: the ``ChainReader`` of ``contracts.verification`` over a web3 connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contracts import merkle
from contracts.verification import AnchorTransaction, BlockHeader

if TYPE_CHECKING:
    from contracts.chain import Chain

# keccak256("Anchored(bytes32,uint32,address)"): topic 0 of the contract's event.
ANCHORED_TOPIC = merkle.keccak256(b"Anchored(bytes32,uint32,address)")


class OnChainReader:
    """A ``ChainReader`` over a web3 connection (any JSON-RPC node or the in-process chain)."""

    def __init__(self, chain: Chain) -> None:
        self._w3 = chain.w3
        self._chain = chain

    def chain_id(self) -> int:
        return int(self._w3.eth.chain_id)

    def has_code(self, address: str) -> bool:
        return len(self._w3.eth.get_code(self._w3.to_checksum_address(address))) > 0

    def anchored_at(self, address: str, root: bytes) -> int | None:
        from contracts.registry import RegistryClient

        return RegistryClient.at(self._chain, address).anchored_at(root)

    def block(self, number: int) -> BlockHeader | None:
        from web3.exceptions import BlockNotFound

        try:
            block = self._w3.eth.get_block(number)
        except BlockNotFound:
            return None
        return _Block(number=number, hash=_hex(block["hash"]), timestamp=int(block["timestamp"]))

    def transaction(self, tx_hash: bytes) -> AnchorTransaction | None:
        from web3.exceptions import TransactionNotFound

        try:
            receipt = self._w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        return AnchorTransaction(
            block_number=int(receipt["blockNumber"]),
            block_hash=_hex(receipt["blockHash"]),
            to=receipt.get("to"),
            succeeded=receipt["status"] == 1,
            anchored_roots=_anchored_roots(receipt["logs"], receipt.get("to")),
        )


@dataclass(frozen=True, slots=True)
class _Block:
    number: int
    hash: str
    timestamp: int


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


def _anchored_roots(logs: Sequence[Any], contract: str | None) -> tuple[bytes, ...]:
    roots = []
    for log in logs:
        topics = [bytes(t) for t in log["topics"]]
        from_contract = contract is not None and str(log["address"]).lower() == contract.lower()
        if from_contract and len(topics) >= 2 and topics[0] == ANCHORED_TOPIC:
            roots.append(topics[1])
    return tuple(roots)
