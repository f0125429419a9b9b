"""Typed client of the ContentRegistry contract (the committed build in contracts/build/).

Reads are `.call()`s; writes send a transaction, wait for its receipt and turn a revert into a
domain error, whether the node refused it while estimating gas or mined it with status 0.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_typing import ChecksumAddress
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BlockNotFound, ContractLogicError, Web3Exception
from web3.logs import DISCARD
from web3.types import BlockIdentifier, EventData, RPCEndpoint, TxParams, TxReceipt

from contracts.chain import Chain, ChainError
from core.errors import Conflict, DomainError, NotFound, PermissionDenied, RuleViolation
from core.rule_codes import Rule

__all__ = [
    "ARTIFACT_PATH",
    "AlreadyAnchored",
    "AnchorReceipt",
    "Artifact",
    "BlockInfo",
    "ChainError",
    "ContractNotDeployed",
    "NotAnchorer",
    "NotOwner",
    "RegistryClient",
    "artifact",
]

ARTIFACT_PATH = Path(__file__).with_name("build") / "ContentRegistry.json"
RECEIPT_TIMEOUT_SECONDS = 120
# A node's refusals of a transaction whose nonce another sender from the same account took
# first (two hosts anchoring at once): the transaction was not accepted, so signing it again
# with a fresh nonce cannot send it twice.
NONCE_TAKEN = ("nonce too low", "replacement transaction underpriced")
SEND_ATTEMPTS = 10  # each round of a race lands one sender's transaction at least
UINT32_MAX = 2**32 - 1


class ContractNotDeployed(ChainError):
    """No contract code at the address (wrong address, wrong chain, or a fresh chain)."""


class AlreadyAnchored(Conflict):
    """The root is already anchored; the contract keeps the first anchoring's time."""


class NotAnchorer(PermissionDenied):
    """The sending account lacks the anchorer role."""


class NotOwner(PermissionDenied):
    """Only the contract owner grants and revokes the anchorer role."""


@dataclass(frozen=True, slots=True)
class AnchorReceipt:
    root: bytes  # 32 bytes
    count: int
    tx_hash: str  # 0x-hex
    block_number: int
    block_hash: str  # 0x-hex
    block_timestamp: int  # seconds since epoch, from the block
    gas_used: int


@dataclass(frozen=True, slots=True)
class BlockInfo:
    number: int
    hash: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Artifact:
    """The committed compiler output (`make contracts` writes it)."""

    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    source_sha256: str


@cache
def artifact() -> Artifact:
    """ContentRegistry's ABI and bytecode as committed."""
    build = json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
    return Artifact(
        abi=build["abi"],
        bytecode=build["bytecode"],
        deployed_bytecode=build["deployedBytecode"],
        compiler_version=build["compiler"]["version"],
        source_sha256=build["sourceSha256"],
    )


class RegistryClient:
    """One deployed ContentRegistry, used from `chain.account`."""

    def __init__(self, chain: Chain, address: ChecksumAddress, *, chain_id: int) -> None:
        self.chain = chain
        self.address: ChecksumAddress = address
        self.chain_id = chain_id
        self._contract: Contract = chain.w3.eth.contract(address=address, abi=artifact().abi)

    @classmethod
    def deploy(cls, chain: Chain) -> RegistryClient:
        """Deploys a new registry owned by `chain.account` (also its first anchorer)."""
        build = artifact()
        factory = chain.w3.eth.contract(abi=build.abi, bytecode=build.bytecode)
        receipt = _transact(chain, factory.constructor(), "deploy ContentRegistry")
        address = receipt["contractAddress"]
        with _chain_calls("read the deployed code"):
            code = chain.w3.eth.get_code(address) if address else b""
            chain_id = chain.w3.eth.chain_id
        if address is None or Web3.to_hex(code) != build.deployed_bytecode:
            raise ContractNotDeployed(
                f"deployment transaction {Web3.to_hex(receipt['transactionHash'])} left no "
                "ContentRegistry code behind",
                address=address,
                chain_id=chain_id,
            )
        return cls(chain, address, chain_id=chain_id)

    @classmethod
    def at(cls, chain: Chain, address: str) -> RegistryClient:
        """The registry at `address`; raises `ContractNotDeployed` when there is no code there."""
        checksummed = _address(address, field="address")
        with _chain_calls("read the contract code"):
            code = chain.w3.eth.get_code(checksummed)
            chain_id = chain.w3.eth.chain_id
        if not code:
            raise ContractNotDeployed(
                f"no contract code at {checksummed} on chain {chain_id}",
                address=checksummed,
                chain_id=chain_id,
            )
        return cls(chain, checksummed, chain_id=chain_id)

    # -- roles ---------------------------------------------------------------------------------

    def grant_anchorer(self, account: str) -> None:
        """Owner only: lets `account` anchor roots."""
        function = self._contract.functions.grantAnchorer(_address(account, field="account"))
        _transact(self.chain, function, "grant the anchorer role", replay=function.call)

    def revoke_anchorer(self, account: str) -> None:
        """Owner only: takes the anchorer role from `account`."""
        function = self._contract.functions.revokeAnchorer(_address(account, field="account"))
        _transact(self.chain, function, "revoke the anchorer role", replay=function.call)

    def is_anchorer(self, account: str) -> bool:
        function = self._contract.functions.isAnchorer(_address(account, field="account"))
        with _chain_calls("read the anchorer role"):
            return bool(function.call())

    # -- anchoring -----------------------------------------------------------------------------

    def anchor(self, root: bytes, count: int, *, gas: int | None = None) -> AnchorReceipt:
        """Anchors a Merkle `root` over `count` leaves in one transaction; waits for its receipt.

        `gas` fixes the gas limit instead of estimating it. Raises `AlreadyAnchored`,
        `NotAnchorer`, `RuleViolation` (zero root, count 0) or `ChainError`.
        """
        _bytes32(root, field="root")
        if not 0 <= count <= UINT32_MAX:
            raise RuleViolation(f"count {count} is not a uint32", field="count", rule=Rule.UINT32)
        function = self._contract.functions.anchor(root, count)
        receipt = _transact(self.chain, function, "anchor", gas=gas, replay=function.call)
        events = self._contract.events.Anchored().process_receipt(receipt, errors=DISCARD)
        if len(events) != 1:
            raise ChainError(
                f"anchor transaction {Web3.to_hex(receipt['transactionHash'])} succeeded "
                f"but emitted {len(events)} Anchored events"
            )
        return self._anchor_receipt(receipt, events[0])

    def find_anchor(self, root: bytes, *, from_block: int = 0) -> AnchorReceipt | None:
        """The anchoring of `root`, read back from its `Anchored` event; None if never anchored.

        Recovers a lost receipt: when `anchor()` timed out or the process died after sending,
        a retry raises `AlreadyAnchored` and this gives the transaction and block to certify.
        """
        _bytes32(root, field="root")
        with _chain_calls("find the Anchored event"):
            events = list(
                self._contract.events.Anchored().get_logs(
                    argument_filters={"root": root}, from_block=from_block, to_block="latest"
                )
            )
            if not events:
                return None
            receipt = self.chain.w3.eth.get_transaction_receipt(events[0]["transactionHash"])
        return self._anchor_receipt(receipt, events[0])

    def _anchor_receipt(self, receipt: TxReceipt, event: EventData) -> AnchorReceipt:
        block = self._block(receipt["blockHash"])
        return AnchorReceipt(
            root=bytes(event["args"]["root"]),
            count=int(event["args"]["count"]),
            tx_hash=Web3.to_hex(receipt["transactionHash"]),
            block_number=block.number,
            block_hash=block.hash,
            block_timestamp=block.timestamp,
            gas_used=int(receipt["gasUsed"]),
        )

    def anchored_at(self, root: bytes) -> int | None:
        """The timestamp (seconds) of the block that anchored `root`; None if never anchored."""
        _bytes32(root, field="root")
        with _chain_calls("read anchoredAt"):
            timestamp = int(self._contract.functions.anchoredAt(root).call())
        return timestamp or None

    def verify(self, proof: list[bytes], root: bytes, leaf: bytes) -> bool:
        """The contract's own check that `proof` leads from `leaf` to `root` (sorted pairs)."""
        for index, node in enumerate(proof):
            _bytes32(node, field=f"proof[{index}]")
        _bytes32(root, field="root")
        _bytes32(leaf, field="leaf")
        with _chain_calls("call verify"):
            return bool(self._contract.functions.verify(proof, root, leaf).call())

    # -- blocks --------------------------------------------------------------------------------

    def block(self, number: int) -> BlockInfo:
        """Number, hash and timestamp of block `number`; `NotFound` if not yet mined."""
        return self._block(number)

    def latest_block_number(self) -> int:
        with _chain_calls("read the block number"):
            return int(self.chain.w3.eth.block_number)

    def confirmations(self, block_number: int) -> int:
        """How many blocks, `block_number` included, are on top of the chain; 0 if not mined.
        On a dev node (`Chain.mine_after_seconds`) an old enough head gets one empty block."""
        latest = self.latest_block_number()
        if self.chain.mine_after_seconds is not None and latest == block_number:
            head_age = time.time() - self.block(latest).timestamp
            if head_age >= self.chain.mine_after_seconds:
                with _chain_calls("mine a block"):
                    self.chain.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
                latest = self.latest_block_number()
        return max(0, latest - block_number + 1)

    def _block(self, identifier: BlockIdentifier) -> BlockInfo:
        try:
            with _chain_calls("read a block"):
                block = self.chain.w3.eth.get_block(identifier)
        except ChainError as failure:
            if isinstance(failure.__cause__, BlockNotFound):
                label = identifier if isinstance(identifier, int | str) else Web3.to_hex(identifier)
                raise NotFound(f"block {label} is not on the chain") from failure
            raise
        return BlockInfo(
            number=int(block["number"]),
            hash=Web3.to_hex(block["hash"]),
            timestamp=int(block["timestamp"]),
        )


def _transact(
    chain: Chain,
    function: Any,
    action: str,
    *,
    gas: int | None = None,
    replay: Callable[..., Any] | None = None,
) -> TxReceipt:
    """Sends `function` from the chain's account and waits for a successful receipt."""
    params: TxParams = {"from": chain.account}
    if gas is not None:
        params["gas"] = gas
    with _chain_calls(action):
        tx_hash = _send(function, params)
        receipt = chain.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=RECEIPT_TIMEOUT_SECONDS
        )
    if receipt["status"] != 1:
        raise _mined_revert_cause(chain, receipt, action, replay)
    return receipt


def _send(function: Any, params: TxParams) -> Any:
    """``function.transact(params)``, signed again (fresh nonce) when another sender from the
    same account took its nonce: every host and worker anchors from the one configured key."""
    attempt = 1
    while True:
        try:
            return function.transact(params)
        except Web3Exception as failure:
            refused = str(failure).lower()
            if attempt >= SEND_ATTEMPTS or not any(m in refused for m in NONCE_TAKEN):
                raise
        # Let the winner's transaction reach the pool; the jitter splits senders that lost together.
        time.sleep(random.uniform(0.01, 0.03) * attempt)
        attempt += 1


def _mined_revert_cause(
    chain: Chain, receipt: TxReceipt, action: str, replay: Callable[..., Any] | None
) -> DomainError:
    """Why a mined transaction reverted: receipts carry no revert data, so replay it as a call
    on the state after its block, where whatever made it fail (a root anchored by a competitor
    in the same block, a revoked role) is in place."""
    tx_hash = Web3.to_hex(receipt["transactionHash"])
    if replay is not None:
        try:
            with _chain_calls(action):
                replay({"from": chain.account}, block_identifier=receipt["blockNumber"])
        except DomainError as cause:
            return cause
    return ChainError(
        f"{action}: transaction {tx_hash} reverted in block {receipt['blockNumber']} after "
        f"{receipt['gasUsed']} gas, and replaying it gives no reason (out of gas?)",
        tx_hash=tx_hash,
    )


@contextmanager
def _chain_calls(action: str) -> Iterator[None]:
    """Turns what web3 and the transport raise into domain errors."""
    try:
        yield
    except ContractLogicError as revert:
        raise _revert_error(revert, action) from revert
    except (Web3Exception, OSError) as failure:  # requests' connection errors are OSErrors
        raise ChainError(f"{action} failed: {failure}") from failure


def _revert_error(revert: ContractLogicError, action: str) -> DomainError:
    data = revert.data.get("data") if isinstance(revert.data, dict) else revert.data
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) and data.startswith("0x") else b""
    decoded = _custom_errors().get(raw[:4])
    if decoded is None:
        return ChainError(f"{action}: the contract reverted ({revert.message})")
    name, types = decoded
    try:
        args = abi_decode(types, raw[4:])
    except DecodingError:
        return ChainError(f"{action}: the contract reverted with malformed {name} data")
    return _domain_error(name, args, action)


def _domain_error(name: str, args: tuple[Any, ...], action: str) -> DomainError:
    if name == "AlreadyAnchored":
        root = Web3.to_hex(args[0])
        return AlreadyAnchored(f"root {root} is already anchored", root=root)
    if name == "NotAnchorer":
        account = Web3.to_checksum_address(args[0])
        return NotAnchorer(f"{account} does not have the anchorer role", account=account)
    if name == "NotOwner":
        account = Web3.to_checksum_address(args[0])
        return NotOwner(f"{account} is not the registry owner", account=account)
    if name == "EmptyBatch":
        return RuleViolation(
            "an anchored batch holds at least one leaf", field="count", rule=Rule.MINIMUM
        )
    if name == "ZeroRoot":
        return RuleViolation("the zero root cannot be anchored", field="root", rule=Rule.NON_ZERO)
    if name == "ZeroAddress":
        return RuleViolation("the zero address is refused", field="account", rule=Rule.NON_ZERO)
    return ChainError(f"{action}: the contract reverted with {name}{args}")


@cache
def _custom_errors() -> dict[bytes, tuple[str, list[str]]]:
    """Selector -> (name, argument types) of every custom error in the ABI."""
    errors: dict[bytes, tuple[str, list[str]]] = {}
    for entry in artifact().abi:
        if entry["type"] == "error":
            types = [item["type"] for item in entry["inputs"]]
            selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
            errors[selector] = (entry["name"], types)
    return errors


def _bytes32(value: bytes, *, field: str) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise RuleViolation(f"{field} must be 32 bytes", field=field, rule=Rule.BYTES32)


def _address(value: str, *, field: str) -> ChecksumAddress:
    try:
        return Web3.to_checksum_address(value)
    except (ValueError, TypeError) as failure:
        raise RuleViolation(
            f"{value!r} is not an address", field=field, rule=Rule.ADDRESS
        ) from failure
