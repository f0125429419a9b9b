"""Certificates: the strict parser, and every tamper case failing its own named check."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from contracts.certificates import Certificate, MalformedCertificate, leaf_of, parse_certificate
from contracts.merkle import MerkleTree
from contracts.normalize import content_hashes
from contracts.verification import CHECK_NAMES, CheckStatus, verify_certificate
from tests.fake_chain import FakeRegistry

CONTENT = b"Foundry capex is underrated.\nThree reasons follow."


def _issue(registry: FakeRegistry, content: bytes = CONTENT, *, neighbours: int = 6) -> Certificate:
    """A certificate for ``content`` anchored in a batch with random neighbours."""
    hashes = content_hashes(content, is_text=True)
    salt = os.urandom(32)
    leaf = leaf_of(hashes.normalized, hashes.raw, salt, 7)
    leaves = [leaf, *(os.urandom(32) for _ in range(neighbours))]
    tree = MerkleTree.of(leaves)
    receipt = registry.anchor(tree.root, len(leaves))
    return Certificate(
        id=1,
        title="Foundry capex",
        content_type="text/plain",
        author_id=7,
        content_sha256=hashes.raw,
        normalized_sha256=hashes.normalized,
        salt=salt,
        leaf=leaf,
        proof=tuple(tree.proof(0)),
        root=tree.root,
        chain_id=registry.chain_id,
        contract_address=registry.address,
        tx_hash=bytes.fromhex(receipt.tx_hash[2:]),
        block_number=receipt.block_number,
        block_hash=bytes.fromhex(receipt.block_hash[2:]),
        block_timestamp=receipt.block_timestamp,
    )


def _statuses(verdict: Any) -> dict[str, CheckStatus]:
    return {check.name: check.status for check in verdict.checks}


def test_a_genuine_certificate_passes_every_check() -> None:
    registry = FakeRegistry()
    certificate = _issue(registry)
    verdict = verify_certificate(certificate, CONTENT, registry.reader())
    assert verdict.valid, verdict
    assert [c.name for c in verdict.checks] == list(CHECK_NAMES)


def test_the_normalized_text_is_accepted_too() -> None:
    registry = FakeRegistry()
    certificate = _issue(registry)
    rewrapped = b"  Foundry capex is underrated.\r\nThree   reasons follow.\r\n"
    verdict = verify_certificate(certificate, rewrapped, registry.reader())
    assert verdict.valid
    assert "normalized" in verdict.checks[0].detail


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


TAMPERS: dict[str, tuple[Callable[[Certificate], Certificate], str]] = {
    "content_sha256": (
        lambda c: dataclasses.replace(c, content_sha256=_flip(c.content_sha256)),
        "leaf",
    ),
    "normalized_sha256": (
        lambda c: dataclasses.replace(c, normalized_sha256=_flip(c.normalized_sha256)),
        "leaf",
    ),
    "salt": (lambda c: dataclasses.replace(c, salt=_flip(c.salt)), "leaf"),
    "author_id": (lambda c: dataclasses.replace(c, author_id=8), "leaf"),
    "leaf": (lambda c: dataclasses.replace(c, leaf=_flip(c.leaf)), "leaf"),
    "proof element": (
        lambda c: dataclasses.replace(c, proof=(_flip(c.proof[0]), *c.proof[1:])),
        "proof",
    ),
    "root": (lambda c: dataclasses.replace(c, root=_flip(c.root)), "proof"),
    "chain id": (lambda c: dataclasses.replace(c, chain_id=1), "chain_id"),
    "contract address": (
        lambda c: dataclasses.replace(c, contract_address="0x" + "ab" * 20),
        "contract",
    ),
    "block timestamp": (
        lambda c: dataclasses.replace(c, block_timestamp=c.block_timestamp + 1),
        "anchor_time",
    ),
    "block hash": (lambda c: dataclasses.replace(c, block_hash=_flip(c.block_hash)), "block_hash"),
    "block number": (
        lambda c: dataclasses.replace(c, block_number=c.block_number - 1),
        "anchor_time",
    ),
    "tx hash": (lambda c: dataclasses.replace(c, tx_hash=_flip(c.tx_hash)), "transaction"),
}


@pytest.mark.parametrize("tampered", TAMPERS)
def test_each_tampered_field_fails_its_own_check(tampered: str) -> None:
    registry = FakeRegistry()
    certificate = _issue(registry)
    change, expected = TAMPERS[tampered]
    verdict = verify_certificate(change(certificate), CONTENT, registry.reader())
    assert not verdict.valid
    assert verdict.failed[0] == expected, verdict.failed


def test_tampered_content_fails_only_the_content_check() -> None:
    registry = FakeRegistry()
    certificate = _issue(registry)
    verdict = verify_certificate(certificate, CONTENT.replace(b"Three", b"Four"), registry.reader())
    assert verdict.failed == ["content_hash"]


def test_a_node_of_another_chain_skips_the_chain_checks() -> None:
    registry = FakeRegistry()
    certificate = _issue(registry)
    verdict = verify_certificate(certificate, CONTENT, registry.reader(chain_id=1))
    statuses = _statuses(verdict)
    assert statuses["chain_id"] is CheckStatus.FAILED
    assert {statuses[name] for name in CHECK_NAMES[4:]} == {CheckStatus.SKIPPED}


def test_a_root_that_was_never_anchored_fails() -> None:
    registry = FakeRegistry()
    certificate = _issue(registry)
    registry.reorg(certificate.block_number)  # the anchoring block is replaced
    verdict = verify_certificate(certificate, CONTENT, registry.reader())
    assert {"anchored", "block_hash", "transaction"} <= set(verdict.failed)


def test_an_inner_node_passed_off_as_the_leaf_fails_the_leaf_check() -> None:
    registry = FakeRegistry()
    certificate = _issue(registry, neighbours=7)
    tree_leaf_parent = MerkleTree.of([certificate.leaf, certificate.proof[0]]).root
    forged = dataclasses.replace(certificate, leaf=tree_leaf_parent, proof=certificate.proof[1:])
    verdict = verify_certificate(forged, CONTENT, registry.reader())
    assert verdict.failed == ["leaf"]  # the shortened path itself does reach the root


# --- parsing ------------------------------------------------------------------------------


def test_json_round_trip() -> None:
    certificate = _issue(FakeRegistry())
    assert parse_certificate(certificate.dumps()) == certificate
    assert parse_certificate(certificate.to_json()) == certificate


MALFORMED: dict[str, tuple[Callable[[dict[str, Any]], Any], str, str]] = {
    "not json": (lambda d: "{not json", "certificate", "json"),
    "not an object": (lambda d: [d], "certificate", "type"),
    "missing field": (lambda d: {k: v for k, v in d.items() if k != "root"}, "root", "required"),
    "unknown field": (lambda d: d | {"extra": 1}, "extra", "unknown_field"),
    "short hex": (lambda d: d | {"salt": "0x1234"}, "salt", "hex32"),
    "hex without 0x": (lambda d: d | {"leaf": d["leaf"][2:] + "00"}, "leaf", "hex32"),
    "bool as int": (lambda d: d | {"chain_id": True}, "chain_id", "type"),
    "string as int": (lambda d: d | {"block_number": "7"}, "block_number", "type"),
    "negative": (lambda d: d | {"block_timestamp": -1}, "block_timestamp", "range"),
    "proof not a list": (lambda d: d | {"proof": "0x00"}, "proof", "type"),
    "bad proof element": (lambda d: d | {"proof": ["0x00"]}, "proof", "hex32"),
    "bad address": (lambda d: d | {"contract_address": "0x1234"}, "contract_address", "address"),
    "other content type": (
        lambda d: d | {"content_type": "image/png"},
        "content_type",
        "allowed_content_type",
    ),
    "future version": (lambda d: d | {"version": 2}, "version", "version"),
    "other leaf encoding": (
        lambda d: d | {"leaf_encoding": ["bytes32"]},
        "leaf_encoding",
        "leaf_encoding",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_certificate_names_the_field(case: str) -> None:
    document = _issue(FakeRegistry()).to_json()
    change, field, rule = MALFORMED[case]
    changed = change(json.loads(json.dumps(document)))
    with pytest.raises(MalformedCertificate) as refused:
        parse_certificate(changed)
    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert field in refused.value.detail
