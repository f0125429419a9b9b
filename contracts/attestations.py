"""Attestations: any list of statements, committed to by one Merkle root anchored on chain.

An attestation is ``(kind, subject, leaf_encoding, leaves)``: ``kind`` names what is attested
(``contest-rules``, ``contest-results``), ``subject`` what it is about (a contest id), and each
leaf is a tuple of values ABI-encoded as ``leaf_encoding``, hashed as OpenZeppelin's
``StandardMerkleTree`` does (``contracts.merkle``). By convention a leaf's first value is the
subject and its last the SHA-256 of the attestation's governing document (the contest's rules),
so a certificate carries that document and proves it byte for byte.

Values travel as OpenZeppelin's JSON dumps them: ``uint256`` as a decimal string, ``bytes32``
as ``0x`` hex, ``string`` as itself, so ``StandardMerkleTree.verify(root, leaf_encoding,
values, proof)`` accepts a certificate's values unchanged.

The root is anchored with ``ContentRegistry.anchor(root, count)`` like a content batch
(``contracts.attesting``); a certificate (``AttestationCertificate``) is checked with the same
chain checks as a content certificate (``contracts.verification.chain_checks``). Pure code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from contracts import merkle
from contracts.certificates import (
    ANCHOR_FIELDS,
    MAX_PROOF_LENGTH,
    FieldParser,
    InvalidField,
    MalformedCertificate,
    bytes32_field,
    encoding_field,
    hex32,
    integer_field,
    parse_fields,
    proof_field,
)
from contracts.content import AnchorBatch, BatchStatus
from contracts.verification import ChainReader, Check, Verdict, chain_checks, check
from core.rule_codes import Rule

VERSION = 1
AttestationId = int
LeafValues = tuple[str, ...]  # one leaf, in OpenZeppelin's JSON form
ABI_TYPES = frozenset({"uint256", "bytes32", "string"})
MAX_DOCUMENT_BYTES = 1_000_000
MAX_STRING_VALUE = 1_000

_KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SUBJECT = re.compile(r"^[1-9][0-9]{0,18}$")
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,77})$")
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")


class AttestationStatus(StrEnum):
    PENDING = "pending"  # root fixed, never sent
    SENDING = "sending"  # sent at least once, not yet known to be on chain
    ANCHORED = "anchored"
    FINAL = "final"


class InvalidLeaf(ValueError):
    """A leaf value that does not fit its ABI type (in OpenZeppelin's JSON form)."""


def abi_value(value: str, abi_type: str) -> Any:
    """A leaf value in OpenZeppelin's JSON form as ``eth_abi`` encodes it (``InvalidLeaf``)."""
    if not isinstance(value, str):
        raise InvalidLeaf(f"a {abi_type} value must be a string")
    if abi_type == "uint256":
        if not _DECIMAL.match(value) or int(value) >= 2**256:
            raise InvalidLeaf(f"{value!r} is not a uint256 decimal")
        return int(value)
    if abi_type == "bytes32":
        if not _HEX32.match(value):
            raise InvalidLeaf(f"{value!r} is not lower-case 0x and 64 hex digits")
        return bytes.fromhex(value[2:])
    if abi_type == "string":
        if len(value) > MAX_STRING_VALUE:
            raise InvalidLeaf(f"a string value is longer than {MAX_STRING_VALUE} characters")
        return value
    raise InvalidLeaf(f"{abi_type!r} is not one of {sorted(ABI_TYPES)}")


def leaf_of(values: Sequence[str], encoding: Sequence[str]) -> bytes:
    """The StandardMerkleTree leaf hash of ``values`` (JSON form) encoded as ``encoding``."""
    if len(values) != len(encoding):
        raise InvalidLeaf(f"{len(values)} values for {len(encoding)} types")
    return merkle.leaf_hash(
        [abi_value(v, t) for v, t in zip(values, encoding, strict=True)], encoding
    )


def tree_of(leaves: Sequence[Sequence[str]], encoding: Sequence[str]) -> merkle.MerkleTree:
    """The tree over ``leaves`` (in the order given), as ``StandardMerkleTree.of``."""
    return merkle.MerkleTree.of([leaf_of(values, encoding) for values in leaves])


def document_sha256(document: str) -> bytes:
    """SHA-256 of a governing document's UTF-8 bytes: 32 bytes."""
    return hashlib.sha256(document.encode("utf-8")).digest()


@dataclass(frozen=True, slots=True)
class Attestation:
    """A stored attestation and the anchoring of its root (chain fields once sent)."""

    id: AttestationId
    kind: str
    subject: int
    leaf_encoding: tuple[str, ...]
    count: int
    root: bytes
    document: str
    status: AttestationStatus
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    chain_id: int | None = None
    contract_address: str | None = None
    from_block: int | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    block_hash: str | None = None
    block_timestamp: int | None = None
    gas_used: int | None = None
    anchored_at: datetime | None = None
    finalized_at: datetime | None = None

    @property
    def on_chain(self) -> bool:
        return self.status in (AttestationStatus.ANCHORED, AttestationStatus.FINAL)

    def as_batch(self) -> AnchorBatch:
        """The anchoring state in the shape content anchoring sends and records."""
        if self.chain_id is None or self.contract_address is None or self.from_block is None:
            raise ValueError(f"attestation {self.id} has not been sent")
        status = {
            AttestationStatus.ANCHORED: BatchStatus.ANCHORED,
            AttestationStatus.FINAL: BatchStatus.FINAL,
        }.get(self.status, BatchStatus.SENDING)
        return AnchorBatch(
            id=self.id,
            root=self.root,
            count=self.count,
            status=status,
            chain_id=self.chain_id,
            contract_address=self.contract_address,
            from_block=self.from_block,
            created_at=self.created_at,
            attempts=self.attempts,
            last_error=self.last_error,
            tx_hash=self.tx_hash,
            block_number=self.block_number,
            block_hash=self.block_hash,
            block_timestamp=self.block_timestamp,
            gas_used=self.gas_used,
            anchored_at=self.anchored_at,
            finalized_at=self.finalized_at,
        )


# --- certificates --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttestationCertificate:
    """One leaf of an anchored attestation, its proof, the governing document and the anchor."""

    kind: str
    subject: int
    document: str
    leaf_encoding: tuple[str, ...]
    values: LeafValues
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
            "kind": self.kind,
            "subject": self.subject,
            "document": self.document,
            "leaf_encoding": list(self.leaf_encoding),
            "values": list(self.values),
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


def certificate_of(
    attestation: Attestation, values: Sequence[str], proof: Sequence[bytes]
) -> AttestationCertificate:
    """The certificate of one leaf of an anchored attestation."""
    batch = attestation.as_batch()
    if batch.tx_hash is None or batch.block_number is None or batch.block_hash is None:
        raise ValueError(f"attestation {attestation.id} is not anchored")
    assert batch.block_timestamp is not None
    return AttestationCertificate(
        kind=attestation.kind,
        subject=attestation.subject,
        document=attestation.document,
        leaf_encoding=attestation.leaf_encoding,
        values=tuple(values),
        leaf=leaf_of(values, attestation.leaf_encoding),
        proof=tuple(proof),
        root=attestation.root,
        chain_id=batch.chain_id,
        contract_address=batch.contract_address,
        tx_hash=bytes.fromhex(batch.tx_hash.removeprefix("0x")),
        block_number=batch.block_number,
        block_hash=bytes.fromhex(batch.block_hash.removeprefix("0x")),
        block_timestamp=batch.block_timestamp,
    )


def _kind(value: Any) -> str:
    if not isinstance(value, str) or not _KIND.match(value):
        raise InvalidField("must be a lower-case kind such as contest-rules", Rule.TYPE)
    return value


def _document(value: Any) -> str:
    if (
        not isinstance(value, str)
        or len(value.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES
    ):
        raise InvalidField(f"must be text of at most {MAX_DOCUMENT_BYTES} bytes", Rule.TYPE)
    return value


def _values(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidField("must be a list of strings (OpenZeppelin's JSON form)", Rule.TYPE)
    if not value or len(value) > MAX_PROOF_LENGTH:
        raise InvalidField(f"must hold 1..{MAX_PROOF_LENGTH} values", Rule.MAX_ITEMS)
    return tuple(value)


_FIELDS: dict[str, FieldParser] = {
    "version": integer_field(1, 1_000),
    "kind": _kind,
    "subject": integer_field(1, 2**63 - 1),
    "document": _document,
    "leaf_encoding": encoding_field,
    "values": _values,
    "leaf": bytes32_field,
    "proof": proof_field,
    "root": bytes32_field,
    **ANCHOR_FIELDS,
}


def parse_attestation_certificate(
    document: Mapping[str, Any] | str | bytes,
) -> AttestationCertificate:
    """An ``AttestationCertificate`` from its JSON, or ``MalformedCertificate`` naming the field."""
    values = parse_fields(document, _FIELDS)
    if values.pop("version") != VERSION:
        raise MalformedCertificate("version", f"only version {VERSION} exists", rule=Rule.VERSION)
    encoding = values["leaf_encoding"]
    if not encoding or not all(t in ABI_TYPES for t in encoding):
        raise MalformedCertificate(
            "leaf_encoding", f"must list types of {sorted(ABI_TYPES)}", rule=Rule.LEAF_ENCODING
        )
    values["leaf_encoding"] = tuple(encoding)
    return AttestationCertificate(**values)


# --- verification --------------------------------------------------------------------------

ATTESTATION_CHECK_NAMES = (
    "kind",  # the leaf encoding is the one this kind of attestation uses
    "subject",  # the leaf's first value is the certificate's subject
    "document",  # the leaf's last value is the SHA-256 of the certificate's document
    "leaf",  # the values encoded as the leaf encoding give the leaf
    "proof",  # leaf + proof give the root
    "chain_id",
    "contract",
    "anchored",
    "anchor_time",
    "block_hash",
    "transaction",
)


def verify_attestation(
    cert: AttestationCertificate,
    reader: ChainReader,
    *,
    encodings: Mapping[str, Sequence[str]],
) -> Verdict:
    """Check an attestation certificate offline and against the chain; ``encodings`` maps each
    kind this installation attests to its leaf encoding."""
    checks = _statement_checks(cert, encodings)
    checks.extend(chain_checks(cert, reader))
    return Verdict(tuple(checks))


def _statement_checks(
    cert: AttestationCertificate, encodings: Mapping[str, Sequence[str]]
) -> list[Check]:
    expected = encodings.get(cert.kind)
    values = cert.values
    try:
        leaf_ok = leaf_of(values, cert.leaf_encoding) == cert.leaf
        leaf_failed = "the values do not give the certificate's leaf"
    except InvalidLeaf as exc:
        leaf_ok, leaf_failed = False, str(exc)
    last = values[-1] if values else ""
    return [
        check(
            "kind",
            expected is not None and tuple(expected) == cert.leaf_encoding,
            f"{cert.kind} leaves are encoded as {list(cert.leaf_encoding)}",
            f"{cert.kind} leaves are not encoded as {list(cert.leaf_encoding)}",
        ),
        check(
            "subject",
            values[0] == str(cert.subject),
            f"the leaf is about {cert.subject}",
            f"the leaf is about {values[0]!r}, the certificate says {cert.subject}",
        ),
        check(
            "document",
            last == hex32(document_sha256(cert.document)),
            "the document's SHA-256 is the leaf's",
            "the document's SHA-256 is not the leaf's last value",
        ),
        check("leaf", leaf_ok, "the values give the certificate's leaf", leaf_failed),
        check(
            "proof",
            merkle.verify(cert.proof, cert.root, cert.leaf),
            f"the leaf and {len(cert.proof)} proof hashes lead to the root",
            "the leaf and proof do not lead to the root",
        ),
    ]
