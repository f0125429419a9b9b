"""Certificates: self-contained JSON proving a piece of content was anchored on a chain.

Anyone can check one with the content and a chain node, without our database:

    content ─sha256→ hashes ─(+ salt, author)→ leaf ─proof→ root ─anchored on chain→ block

The leaf is OpenZeppelin's StandardMerkleTree leaf of ``[normalized_sha256, content_sha256,
salt, author_id]`` encoded as ``LEAF_ENCODING``, so ``StandardMerkleTree.verify(root,
leaf_encoding, values, proof)`` in JavaScript or the contract's ``verify(proof, root, leaf)``
agree with ``verify_certificate``. The random salt keeps a proof (which carries neighbours'
hashes) from revealing anything about the neighbours' content. ``title``, ``content_type`` and
``id`` are descriptive: the proof covers the content, the salt and the author only.

Checking a certificate is ``contracts.verification``; ``contracts.chain_reader`` reads a chain
for it over web3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contracts import merkle
from contracts.normalize import CONTENT_TYPES
from core.errors import RuleViolation
from core.rule_codes import Rule

VERSION = 1
LEAF_ENCODING: tuple[str, ...] = ("bytes32", "bytes32", "bytes32", "uint256")
"""ABI types of the leaf values ``[normalized_sha256, content_sha256, salt, author_id]``."""
MAX_PROOF_LENGTH = 64  # a complete tree of 2**64 leaves; anything longer is not ours
MAX_TITLE_LENGTH = 300

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
    values = parse_fields(document, _FIELDS)
    if values.pop("version") != VERSION:
        raise MalformedCertificate("version", f"only version {VERSION} exists", rule=Rule.VERSION)
    if tuple(values.pop("leaf_encoding")) != LEAF_ENCODING:
        raise MalformedCertificate(
            "leaf_encoding", f"must be {list(LEAF_ENCODING)}", rule=Rule.LEAF_ENCODING
        )
    return Certificate(**values)


FieldParser = Callable[[Any], Any]
"""Parses one JSON field's value, raising ``InvalidField`` (detail + rule) when it is wrong."""


def parse_fields(
    document: Mapping[str, Any] | str | bytes, fields: Mapping[str, FieldParser]
) -> dict[str, Any]:
    """Every one of ``fields`` parsed out of a JSON object (text or decoded), or
    ``MalformedCertificate`` naming the first missing, unknown or invalid field."""
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedCertificate("certificate", f"not JSON: {exc}", rule=Rule.JSON) from exc
    if not isinstance(document, Mapping):
        raise MalformedCertificate("certificate", "must be a JSON object", rule=Rule.TYPE)
    unknown = sorted(set(document) - set(fields))
    if unknown:
        raise MalformedCertificate(unknown[0], "unknown field", rule=Rule.UNKNOWN_FIELD)
    return {name: _field(document, name, parse) for name, parse in fields.items()}


def _field(document: Mapping[str, Any], name: str, parse: Callable[[Any], Any]) -> Any:
    if name not in document:
        raise MalformedCertificate(name, "is required", rule=Rule.REQUIRED)
    try:
        return parse(document[name])
    except InvalidField as exc:
        raise MalformedCertificate(name, exc.detail, rule=exc.rule) from None


class InvalidField(Exception):
    def __init__(self, detail: str, rule: str) -> None:
        super().__init__(detail)
        self.detail, self.rule = detail, rule


def integer_field(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if type(value) is not int:  # bool is an int subclass, and "7" is not a number
            raise InvalidField("must be an integer", Rule.TYPE)
        if not low <= value <= high:
            raise InvalidField(f"must be between {low} and {high}", Rule.RANGE)
        return value

    return parse


def bytes32_field(value: Any) -> bytes:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise InvalidField("must be 0x followed by 64 hex digits", Rule.HEX32)
    return bytes.fromhex(value[2:])


def proof_field(value: Any) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise InvalidField("must be a list of 0x-prefixed 32-byte hex strings", Rule.TYPE)
    if len(value) > MAX_PROOF_LENGTH:
        raise InvalidField(f"has more than {MAX_PROOF_LENGTH} elements", Rule.MAX_ITEMS)
    return tuple(bytes32_field(element) for element in value)


def address_field(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise InvalidField("must be 0x followed by 40 hex digits", Rule.ADDRESS)
    return value


def _title(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TITLE_LENGTH:
        raise InvalidField(f"must be a string of at most {MAX_TITLE_LENGTH} characters", Rule.TYPE)
    return value


def _content_type(value: Any) -> str:
    if value not in CONTENT_TYPES:
        raise InvalidField(f"must be one of {sorted(CONTENT_TYPES)}", Rule.ALLOWED_CONTENT_TYPE)
    return str(value)


def encoding_field(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidField("must be a list of ABI type names", Rule.TYPE)
    return value


UINT64 = 2**64 - 1
ANCHOR_FIELDS: dict[str, FieldParser] = {
    "chain_id": integer_field(1, UINT64),
    "contract_address": address_field,
    "tx_hash": bytes32_field,
    "block_number": integer_field(0, UINT64),
    "block_hash": bytes32_field,
    "block_timestamp": integer_field(0, UINT64),
}
"""Where a root was anchored: the fields every certificate (content or attestation) ends with."""
_FIELDS: dict[str, Callable[[Any], Any]] = {
    "version": integer_field(1, 1_000),
    "id": integer_field(1, UINT64),
    "title": _title,
    "content_type": _content_type,
    "author_id": integer_field(1, UINT64),
    "content_sha256": bytes32_field,
    "normalized_sha256": bytes32_field,
    "salt": bytes32_field,
    "leaf_encoding": encoding_field,
    "leaf": bytes32_field,
    "proof": proof_field,
    "root": bytes32_field,
    **ANCHOR_FIELDS,
}
