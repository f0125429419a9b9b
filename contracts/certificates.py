"""Certificates: self-contained JSON proving a piece of content was anchored on a chain.

Anyone can check one with the content and a chain node, without our database:

    content ─sha256→ hashes ─(+ salt, author)→ leaf ─proof→ root ─anchored on chain→ block

The leaf is OpenZeppelin's StandardMerkleTree leaf of ``[normalized_sha256, content_sha256,
salt, author_id]`` encoded as ``LEAF_ENCODING``, so ``StandardMerkleTree.verify(root,
leaf_encoding, values, proof)`` in JavaScript or the contract's ``verify(proof, root, leaf)``
agree with ``verify_certificate``. The random salt keeps a proof (which carries neighbours'
hashes) from revealing anything about the neighbours' content. ``title``, ``content_type`` and
``id`` are descriptive: the proof covers the content, the salt and the author only.

This module is pure except for ``OnChainReader``, the web3-backed ``ChainReader``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from contracts import merkle
from contracts.normalize import CONTENT_TYPES, NotText, content_hashes, is_text
from core.errors import RuleViolation
from core.rule_codes import Rule

if TYPE_CHECKING:
    from contracts.chain import Chain

VERSION = 1
LEAF_ENCODING: tuple[str, ...] = ("bytes32", "bytes32", "bytes32", "uint256")
"""ABI types of the leaf values ``[normalized_sha256, content_sha256, salt, author_id]``."""
MAX_PROOF_LENGTH = 64  # a complete tree of 2**64 leaves; anything longer is not ours
MAX_TITLE_LENGTH = 300
# keccak256("Anchored(bytes32,uint32,address)"): topic 0 of the contract's event.
ANCHORED_TOPIC = merkle.keccak256(b"Anchored(bytes32,uint32,address)")

_HEX32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def leaf_of(normalized_sha256: bytes, content_sha256: bytes, salt: bytes, author_id: int) -> bytes:
    """The Merkle leaf committing to a piece's hashes, its salt and its author."""
    return merkle.leaf_hash([normalized_sha256, content_sha256, salt, author_id], LEAF_ENCODING)


@dataclass(frozen=True, slots=True)
class Certificate:
    """One anchored piece. 32-byte values are ``bytes``; JSON carries them as ``0x`` hex."""

    id: int
    title: str
    content_type: str
    author_id: int
    content_sha256: bytes
    normalized_sha256: bytes
    salt: bytes
    leaf: bytes
    proof: tuple[bytes, ...]
    root: bytes
    chain_id: int
    contract_address: str
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    block_timestamp: int
    version: int = VERSION

    def to_json(self) -> dict[str, Any]:
        """The certificate as a JSON object (the downloadable document)."""
        return {
            "version": self.version,
            "id": self.id,
            "title": self.title,
            "content_type": self.content_type,
            "author_id": self.author_id,
            "content_sha256": hex32(self.content_sha256),
            "normalized_sha256": hex32(self.normalized_sha256),
            "salt": hex32(self.salt),
            "leaf_encoding": list(LEAF_ENCODING),
            "leaf": hex32(self.leaf),
            "proof": [hex32(p) for p in self.proof],
            "root": hex32(self.root),
            "chain_id": self.chain_id,
            "contract_address": self.contract_address,
            "tx_hash": hex32(self.tx_hash),
            "block_number": self.block_number,
            "block_hash": hex32(self.block_hash),
            "block_timestamp": self.block_timestamp,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def hex32(value: bytes) -> str:
    return "0x" + value.hex()


class MalformedCertificate(RuleViolation):
    """The certificate document is not one we issue; names the offending field."""

    def __init__(self, field: str, detail: str, *, rule: str) -> None:
        super().__init__(f"certificate field {field!r}: {detail}", field=field, rule=rule)


# --- parsing -------------------------------------------------------------------------------


def parse_certificate(document: Mapping[str, Any] | str | bytes) -> Certificate:
    """A ``Certificate`` from its JSON (text or decoded), or ``MalformedCertificate``."""
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedCertificate("certificate", f"not JSON: {exc}", rule=Rule.JSON) from exc
    if not isinstance(document, Mapping):
        raise MalformedCertificate("certificate", "must be a JSON object", rule=Rule.TYPE)
    unknown = sorted(set(document) - set(_FIELDS))
    if unknown:
        raise MalformedCertificate(unknown[0], "unknown field", rule=Rule.UNKNOWN_FIELD)
    values = {name: _field(document, name, parse) for name, parse in _FIELDS.items()}
    if values.pop("version") != VERSION:
        raise MalformedCertificate("version", f"only version {VERSION} exists", rule=Rule.VERSION)
    if tuple(values.pop("leaf_encoding")) != LEAF_ENCODING:
        raise MalformedCertificate(
            "leaf_encoding", f"must be {list(LEAF_ENCODING)}", rule=Rule.LEAF_ENCODING
        )
    return Certificate(**values)


def _field(document: Mapping[str, Any], name: str, parse: Callable[[Any], Any]) -> Any:
    if name not in document:
        raise MalformedCertificate(name, "is required", rule=Rule.REQUIRED)
    try:
        return parse(document[name])
    except _Invalid as exc:
        raise MalformedCertificate(name, exc.detail, rule=exc.rule) from None


class _Invalid(Exception):
    def __init__(self, detail: str, rule: str) -> None:
        super().__init__(detail)
        self.detail, self.rule = detail, rule


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if type(value) is not int:  # bool is an int subclass, and "7" is not a number
            raise _Invalid("must be an integer", Rule.TYPE)
        if not low <= value <= high:
            raise _Invalid(f"must be between {low} and {high}", Rule.RANGE)
        return value

    return parse


def _bytes32(value: Any) -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise _Invalid("must be 0x followed by 64 hex digits", Rule.HEX32)
    return bytes.fromhex(value[2:])


def _proof(value: Any) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise _Invalid("must be a list of 0x-prefixed 32-byte hex strings", Rule.TYPE)
    if len(value) > MAX_PROOF_LENGTH:
        raise _Invalid(f"has more than {MAX_PROOF_LENGTH} elements", Rule.MAX_ITEMS)
    return tuple(_bytes32(element) for element in value)


def _address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise _Invalid("must be 0x followed by 40 hex digits", Rule.ADDRESS)
    return value


def _title(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TITLE_LENGTH:
        raise _Invalid(f"must be a string of at most {MAX_TITLE_LENGTH} characters", Rule.TYPE)
    return value


def _content_type(value: Any) -> str:
    if value not in CONTENT_TYPES:
        raise _Invalid(f"must be one of {sorted(CONTENT_TYPES)}", Rule.ALLOWED_CONTENT_TYPE)
    return str(value)


def _encoding(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Invalid("must be a list of ABI type names", Rule.TYPE)
    return value


_UINT64 = 2**64 - 1
_FIELDS: dict[str, Callable[[Any], Any]] = {
    "version": _integer(1, 1_000),
    "id": _integer(1, _UINT64),
    "title": _title,
    "content_type": _content_type,
    "author_id": _integer(1, _UINT64),
    "content_sha256": _bytes32,
    "normalized_sha256": _bytes32,
    "salt": _bytes32,
    "leaf_encoding": _encoding,
    "leaf": _bytes32,
    "proof": _proof,
    "root": _bytes32,
    "chain_id": _integer(1, _UINT64),
    "contract_address": _address,
    "tx_hash": _bytes32,
    "block_number": _integer(0, _UINT64),
    "block_hash": _bytes32,
    "block_timestamp": _integer(0, _UINT64),
}


# --- verification --------------------------------------------------------------------------


class BlockHeader(Protocol):
    """What verification needs of a block (``contracts.registry.BlockInfo`` has it)."""

    @property
    def number(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def timestamp(self) -> int: ...


@dataclass(frozen=True, slots=True)
class AnchorTransaction:
    """A mined transaction as far as verification cares: where, to whom, which roots."""

    block_number: int
    block_hash: str
    to: str | None
    succeeded: bool
    anchored_roots: tuple[bytes, ...]  # roots of the Anchored events the contract emitted


class ChainReader(Protocol):
    """Read-only access to a chain, for verifying certificates."""

    def chain_id(self) -> int: ...
    def has_code(self, address: str) -> bool: ...
    def anchored_at(self, address: str, root: bytes) -> int | None: ...
    def block(self, number: int) -> BlockHeader | None: ...
    def transaction(self, tx_hash: bytes) -> AnchorTransaction | None: ...


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # an earlier check failed, so this one has nothing sound to look at


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: CheckStatus
    detail: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every check, in order; the certificate is valid when all of them passed."""

    checks: tuple[Check, ...]

    @property
    def valid(self) -> bool:
        return all(c.status is CheckStatus.PASSED for c in self.checks)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.status is CheckStatus.FAILED]


CHECK_NAMES = (
    "content_hash",  # the content's SHA-256 (raw or normalized) is the certificate's
    "leaf",  # hashes + salt + author give the certificate's leaf
    "proof",  # leaf + proof give the root
    "chain_id",  # the node serves the certificate's chain
    "contract",  # there is code at the contract address
    "anchored",  # the contract has the root anchored
    "anchor_time",  # ... at the certificate's block timestamp, which is its block's timestamp
    "block_hash",  # the block at that height has the certificate's hash
    "transaction",  # the certificate's transaction anchored the root in that block
)


def verify_certificate(certificate: Certificate, content: bytes, reader: ChainReader) -> Verdict:
    """Check ``content`` against ``certificate`` and the certificate against the chain."""
    checks = [*_offline_checks(certificate, content)]
    checks.extend(_chain_checks(certificate, reader))
    return Verdict(tuple(checks))


def _offline_checks(cert: Certificate, content: bytes) -> list[Check]:
    return [
        _content_check(cert, content),
        _check(
            "leaf",
            leaf_of(cert.normalized_sha256, cert.content_sha256, cert.salt, cert.author_id)
            == cert.leaf,
            "hashes, salt and author id give the leaf",
            "hashes, salt and author id do not give the certificate's leaf",
        ),
        _check(
            "proof",
            merkle.verify(cert.proof, cert.root, cert.leaf),
            f"the leaf and {len(cert.proof)} proof hashes lead to the root",
            "the leaf and proof do not lead to the root",
        ),
    ]


def _content_check(cert: Certificate, content: bytes) -> Check:
    try:
        hashes = content_hashes(content, is_text=is_text(cert.content_type))
    except NotText as exc:
        return Check("content_hash", CheckStatus.FAILED, str(exc))
    if hashes.raw == cert.content_sha256:
        return Check("content_hash", CheckStatus.PASSED, "the content's SHA-256 matches")
    if hashes.normalized == cert.normalized_sha256:
        return Check("content_hash", CheckStatus.PASSED, "the normalized text's SHA-256 matches")
    return Check(
        "content_hash", CheckStatus.FAILED, "neither the content's nor its normalized SHA-256 match"
    )


def _chain_checks(cert: Certificate, reader: ChainReader) -> list[Check]:
    names = iter(CHECK_NAMES[3:])
    checks: list[Check] = []

    def skip_rest(reason: str) -> list[Check]:
        return checks + [Check(name, CheckStatus.SKIPPED, reason) for name in names]

    chain_id = reader.chain_id()
    checks.append(
        _check(
            next(names),
            chain_id == cert.chain_id,
            f"the node serves chain {chain_id}",
            f"the node serves chain {chain_id}, the certificate names {cert.chain_id}",
        )
    )
    if checks[-1].status is CheckStatus.FAILED:
        return skip_rest("wrong chain")
    checks.append(
        _check(
            next(names),
            reader.has_code(cert.contract_address),
            f"contract code at {cert.contract_address}",
            f"no contract code at {cert.contract_address}",
        )
    )
    if checks[-1].status is CheckStatus.FAILED:
        return skip_rest("no contract")
    anchored_at = reader.anchored_at(cert.contract_address, cert.root)
    checks.append(
        _check(
            next(names),
            anchored_at is not None,
            f"root anchored at timestamp {anchored_at}",
            "the root is not anchored in the contract",
        )
    )
    block = reader.block(cert.block_number)
    checks.append(_time_check(next(names), cert, anchored_at, block))
    checks.append(
        _check(
            next(names),
            block is not None and _same_hex(block.hash, cert.block_hash),
            f"block {cert.block_number} has the certificate's hash",
            f"block {cert.block_number} "
            + ("does not exist" if block is None else f"has hash {block.hash}"),
        )
    )
    checks.append(_transaction_check(next(names), cert, reader.transaction(cert.tx_hash)))
    return checks


def _time_check(
    name: str, cert: Certificate, anchored_at: int | None, block: BlockHeader | None
) -> Check:
    if block is None:
        return Check(name, CheckStatus.FAILED, f"block {cert.block_number} does not exist")
    if block.timestamp != cert.block_timestamp:
        return Check(
            name,
            CheckStatus.FAILED,
            f"block {cert.block_number} has timestamp {block.timestamp}, "
            f"the certificate says {cert.block_timestamp}",
        )
    if anchored_at is not None and anchored_at != cert.block_timestamp:
        return Check(
            name,
            CheckStatus.FAILED,
            f"the contract anchored the root at {anchored_at}, "
            f"the certificate says {cert.block_timestamp}",
        )
    return Check(name, CheckStatus.PASSED, f"anchored at block timestamp {cert.block_timestamp}")


def _transaction_check(name: str, cert: Certificate, tx: AnchorTransaction | None) -> Check:
    if tx is None:
        return Check(name, CheckStatus.FAILED, f"no mined transaction {hex32(cert.tx_hash)}")
    problems = []
    if tx.block_number != cert.block_number or not _same_hex(tx.block_hash, cert.block_hash):
        problems.append(f"it is in block {tx.block_number}")
    if not tx.succeeded:
        problems.append("it reverted")
    if tx.to is None or tx.to.lower() != cert.contract_address.lower():
        problems.append(f"it was sent to {tx.to}")
    if cert.root not in tx.anchored_roots:
        problems.append("it did not anchor the root")
    if problems:
        return Check(
            name, CheckStatus.FAILED, "the transaction does not match: " + "; ".join(problems)
        )
    return Check(name, CheckStatus.PASSED, "the transaction anchored the root in that block")


def _check(name: str, ok: bool, passed: str, failed: str) -> Check:
    return Check(name, CheckStatus.PASSED if ok else CheckStatus.FAILED, passed if ok else failed)


def _same_hex(a: str, b: bytes) -> bool:
    return a.lower().removeprefix("0x") == b.hex()


# --- a reader over web3 --------------------------------------------------------------------


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
