"""Anchoring and certificates on real chains (eth-tester and anvil) with a real database."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import anchoring, merkle, services
from contracts.chain import Chain, ChainError
from contracts.chain_reader import OnChainReader
from contracts.content import BatchStatus, Registration
from contracts.merkle import MerkleTree
from contracts.registration import register_content
from contracts.registry import AnchorReceipt, RegistryClient
from contracts.uow import ContentUnitOfWork
from contracts.verification import verify_certificate
from core.db import Database
from core.users.model import Role, User
from tests.chains import mine


@pytest.fixture
def registry(chain: Chain) -> RegistryClient:
    return RegistryClient.deploy(chain)


def _register(uow: ContentUnitOfWork, author: User, body: bytes) -> Registration:
    return register_content(uow, author.id, title="note", content=body, content_type="text/plain")


def test_anchored_certificates_verify_on_chain_and_tampering_is_caught(
    database: Database, make_user: Callable[..., User], chain: Chain, registry: RegistryClient
) -> None:
    uow = ContentUnitOfWork(database.sessions)
    author = make_user(Role.AUTHOR)
    pieces = [_register(uow, author, f"Research note {i}".encode()) for i in range(5)]
    batch = anchoring.anchor_pending(uow, registry)
    assert batch is not None and batch.status is BatchStatus.ANCHORED and batch.gas_used
    reader = OnChainReader(chain)
    certificate = services.certificate(uow, pieces[3].id, author_id=author.id)
    assert verify_certificate(certificate, b"Research note 3", reader).valid
    assert registry.verify(list(certificate.proof), certificate.root, certificate.leaf)

    def flip(data: bytes) -> bytes:
        return bytes([data[0] ^ 1]) + data[1:]

    other = RegistryClient.deploy(chain)  # code there, root not anchored
    tampered = {
        "content_hash": (certificate, b"Research note 4"),
        "proof": (dataclasses.replace(certificate, proof=(flip(certificate.proof[0]),)), None),
        "chain_id": (dataclasses.replace(certificate, chain_id=certificate.chain_id + 1), None),
        "contract": (dataclasses.replace(certificate, contract_address="0x" + "12" * 20), None),
        "anchored": (dataclasses.replace(certificate, contract_address=other.address), None),
        "block_hash": (
            dataclasses.replace(certificate, block_hash=flip(certificate.block_hash)),
            None,
        ),
        "transaction": (dataclasses.replace(certificate, tx_hash=flip(certificate.tx_hash)), None),
    }
    for check, (forged, content) in tampered.items():
        verdict = verify_certificate(forged, content or b"Research note 3", reader)
        assert verdict.failed[:1] == [check], (check, verdict)


def test_a_lost_receipt_is_recovered_from_the_event_log(
    database: Database, make_user: Callable[..., User], chain: Chain, registry: RegistryClient
) -> None:
    uow = ContentUnitOfWork(database.sessions)
    author = make_user(Role.AUTHOR)
    piece = _register(uow, author, b"A thesis on memory prices")

    class LosesReceipt(RegistryClient):
        def anchor(self, root: bytes, count: int, *, gas: int | None = None) -> AnchorReceipt:
            super().anchor(root, count, gas=gas)
            raise ChainError("connection reset while waiting for the receipt")

    flaky = LosesReceipt(chain, registry.address, chain_id=registry.chain_id)
    with pytest.raises(ChainError):
        anchoring.anchor_pending(uow, flaky)
    mine(chain, 2)
    batch = anchoring.anchor_pending(uow, registry)  # the contract says AlreadyAnchored
    assert batch is not None and batch.status is BatchStatus.ANCHORED
    assert registry.anchored_at(batch.root) == batch.block_timestamp
    certificate = services.certificate(uow, piece.id, author_id=author.id)
    assert verify_certificate(certificate, b"A thesis on memory prices", OnChainReader(chain)).valid


def test_finality_follows_confirmations(
    database: Database, make_user: Callable[..., User], chain: Chain, registry: RegistryClient
) -> None:
    uow = ContentUnitOfWork(database.sessions)
    _register(uow, make_user(Role.AUTHOR), b"Short the long bond")
    batch = anchoring.anchor_pending(uow, registry)
    assert batch is not None
    assert anchoring.refresh_finality(uow, registry, confirmations=3).finalized == []
    mine(chain, 2)
    assert anchoring.refresh_finality(uow, registry, confirmations=3).finalized == [batch.id]


def test_registry_for_deploys_once_and_redeploys_on_a_fresh_chain(
    database: Database, chain: Chain, eth_tester_chain: Chain
) -> None:
    uow = ContentUnitOfWork(database.sessions)
    first = anchoring.registry_for(uow, chain)
    again = anchoring.registry_for(uow, chain)
    assert again.address == first.address
    with uow.reading():
        assert uow.content.deployment(first.chain_id) == first.address
    if chain is not eth_tester_chain:
        return
    fresh = anchoring.registry_for(uow, _fresh_eth_tester())  # same chain id, no code yet
    assert fresh.chain_id == first.chain_id
    with uow.reading():
        assert uow.content.deployment(first.chain_id) == fresh.address


def _fresh_eth_tester() -> Chain:
    from contracts.chain import new_in_process_chain

    return new_in_process_chain()


class TestOnChainVerifyAgreesWithPython:
    @pytest.fixture
    def client(self, chain: Chain) -> RegistryClient:
        return RegistryClient.deploy(chain)

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(st.integers(1, 40), st.data())
    def test_valid_and_forged_proofs(
        self, client: RegistryClient, size: int, data: st.DataObject
    ) -> None:
        leaves = [os.urandom(32) for _ in range(size)]
        tree = MerkleTree.of(leaves)
        index = data.draw(st.integers(0, size - 1))
        proof = tree.proof(index)
        assert client.verify(proof, tree.root, leaves[index]) is True
        forged_leaf = os.urandom(32)
        assert (
            client.verify(proof, tree.root, forged_leaf)
            is merkle.verify(proof, tree.root, forged_leaf)
            is False
        )
        if proof:
            shortened = proof[1:]  # the parent passed off as a leaf: the raw check accepts it
            parent = merkle.hash_pair(leaves[index], proof[0])
            assert (
                client.verify(shortened, tree.root, parent)
                is merkle.verify(shortened, tree.root, parent)
                is True
            )
