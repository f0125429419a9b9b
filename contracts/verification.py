"""Verifying a certificate: the content against the certificate (offline), and the certificate
against the chain through a ``ChainReader``; every check is reported, in order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from contracts import merkle
from contracts.certificates import Certificate, hex32, leaf_of
from contracts.normalize import NotText, content_hashes, is_text


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


CHAIN_CHECK_NAMES = (
    "chain_id",  # the node serves the certificate's chain
    "contract",  # there is code at the contract address
    "anchored",  # the contract has the root anchored
    "anchor_time",  # ... at the certificate's block timestamp, which is its block's timestamp
    "block_hash",  # the block at that height has the certificate's hash
    "transaction",  # the certificate's transaction anchored the root in that block
)
CHECK_NAMES = (
    "content_hash",  # the content's SHA-256 (raw or normalized) is the certificate's
    "leaf",  # hashes + salt + author give the certificate's leaf
    "proof",  # leaf + proof give the root
    *CHAIN_CHECK_NAMES,
)


class AnchoredRoot(Protocol):
    """What the chain checks read of a certificate: a root and where it was anchored."""

    @property
    def root(self) -> bytes: ...
    @property
    def chain_id(self) -> int: ...
    @property
    def contract_address(self) -> str: ...
    @property
    def tx_hash(self) -> bytes: ...
    @property
    def block_number(self) -> int: ...
    @property
    def block_hash(self) -> bytes: ...
    @property
    def block_timestamp(self) -> int: ...


def verify_certificate(certificate: Certificate, content: bytes, reader: ChainReader) -> Verdict:
    """Check ``content`` against ``certificate`` and the certificate against the chain."""
    checks = [*_offline_checks(certificate, content)]
    checks.extend(chain_checks(certificate, reader))
    return Verdict(tuple(checks))


def _offline_checks(cert: Certificate, content: bytes) -> list[Check]:
    return [
        _content_check(cert, content),
        check(
            "leaf",
            leaf_of(cert.normalized_sha256, cert.content_sha256, cert.salt, cert.author_id)
            == cert.leaf,
            "hashes, salt and author id give the leaf",
            "hashes, salt and author id do not give the certificate's leaf",
        ),
        check(
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


def chain_checks(cert: AnchoredRoot, reader: ChainReader) -> list[Check]:
    """The checks of ``CHAIN_CHECK_NAMES``, in order: the root is anchored where ``cert`` says."""
    names = iter(CHAIN_CHECK_NAMES)
    checks: list[Check] = []

    def skip_rest(reason: str) -> list[Check]:
        return checks + [Check(name, CheckStatus.SKIPPED, reason) for name in names]

    chain_id = reader.chain_id()
    checks.append(
        check(
            next(names),
            chain_id == cert.chain_id,
            f"the node serves chain {chain_id}",
            f"the node serves chain {chain_id}, the certificate names {cert.chain_id}",
        )
    )
    if checks[-1].status is CheckStatus.FAILED:
        return skip_rest("wrong chain")
    checks.append(
        check(
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
        check(
            next(names),
            anchored_at is not None,
            f"root anchored at timestamp {anchored_at}",
            "the root is not anchored in the contract",
        )
    )
    block = reader.block(cert.block_number)
    checks.append(_time_check(next(names), cert, anchored_at, block))
    checks.append(
        check(
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
    name: str, cert: AnchoredRoot, anchored_at: int | None, block: BlockHeader | None
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


def _transaction_check(name: str, cert: AnchoredRoot, tx: AnchorTransaction | None) -> Check:
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


def check(name: str, ok: bool, passed: str, failed: str) -> Check:
    return Check(name, CheckStatus.PASSED if ok else CheckStatus.FAILED, passed if ok else failed)


def _same_hex(a: str, b: bytes) -> bool:
    return a.lower().removeprefix("0x") == b.hex()
