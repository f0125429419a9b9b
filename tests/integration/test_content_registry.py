"""ContentRegistry through its typed client, on the in-process eth-tester chain and on anvil."""

from __future__ import annotations

from typing import cast

import pytest
from eth_account import Account
from eth_typing import HexStr
from eth_utils import keccak
from hexbytes import HexBytes
from pydantic import SecretStr
from web3 import Web3

from contracts.chain import Chain, ChainError, chain_for, connect, in_process_chain
from contracts.registry import (
    AlreadyAnchored,
    ContractNotDeployed,
    NotAnchorer,
    NotOwner,
    RegistryClient,
    artifact,
)
from core.config import Settings
from core.errors import DomainError, NotFound, RuleViolation
from tests.chains import ANVIL_DEV_KEY, AnvilNode, funded_signer, mine

ROOT = keccak(b"batch one")
OTHER_ROOT = keccak(b"batch two")


@pytest.fixture
def registry(chain: Chain) -> RegistryClient:
    return RegistryClient.deploy(chain)


def pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's sorted-pair node, computed by hand."""
    return keccak(min(a, b) + max(a, b))


# -- deployment ------------------------------------------------------------------------------


def test_deploy_leaves_the_committed_code_and_at_finds_it(chain: Chain) -> None:
    registry = RegistryClient.deploy(chain)

    assert registry.address == Web3.to_checksum_address(registry.address)
    assert registry.chain_id == chain.w3.eth.chain_id
    assert chain.w3.eth.get_code(registry.address) == HexBytes(artifact().deployed_bytecode)
    found = RegistryClient.at(chain, registry.address.lower())
    assert found.address == registry.address
    assert found.is_anchorer(chain.account)


def test_at_an_address_without_code_raises_contract_not_deployed(chain: Chain) -> None:
    for address in (Account.create().address, chain.account):  # nobody's, and an account
        with pytest.raises(ContractNotDeployed) as raised:
            RegistryClient.at(chain, address)
        assert raised.value.extensions["address"] == address


def test_at_a_malformed_address_is_a_rule_violation(chain: Chain) -> None:
    with pytest.raises(RuleViolation) as raised:
        RegistryClient.at(chain, "0x1234")
    assert raised.value.field == "address"


# -- roles -----------------------------------------------------------------------------------


def test_only_anchorers_anchor_and_the_owner_grants_and_revokes(
    chain: Chain, registry: RegistryClient
) -> None:
    outsider = funded_signer(chain)
    as_outsider = RegistryClient.at(outsider, registry.address)
    assert not registry.is_anchorer(outsider.account)

    with pytest.raises(NotAnchorer) as raised:
        as_outsider.anchor(ROOT, 1)
    assert raised.value.extensions["account"] == outsider.account

    registry.grant_anchorer(outsider.account)
    assert registry.is_anchorer(outsider.account)
    assert as_outsider.anchor(ROOT, 1).root == ROOT

    registry.revoke_anchorer(outsider.account)
    assert not registry.is_anchorer(outsider.account)
    with pytest.raises(NotAnchorer):
        as_outsider.anchor(OTHER_ROOT, 1)
    assert registry.anchored_at(OTHER_ROOT) is None


def test_only_the_owner_manages_the_role(chain: Chain, registry: RegistryClient) -> None:
    outsider = funded_signer(chain)
    as_outsider = RegistryClient.at(outsider, registry.address)

    with pytest.raises(NotOwner):
        as_outsider.grant_anchorer(outsider.account)
    with pytest.raises(NotOwner):
        as_outsider.revoke_anchorer(chain.account)
    assert registry.is_anchorer(chain.account)
    assert not registry.is_anchorer(outsider.account)


# -- anchoring -------------------------------------------------------------------------------


def test_anchoring_the_same_root_twice_raises_already_anchored(registry: RegistryClient) -> None:
    first = registry.anchor(ROOT, 3)
    height = registry.latest_block_number()

    with pytest.raises(AlreadyAnchored) as raised:
        registry.anchor(ROOT, 3)

    assert raised.value.extensions["root"] == Web3.to_hex(ROOT)
    assert registry.latest_block_number() == height, "refused while estimating gas: not mined"
    assert registry.anchored_at(ROOT) == first.block_timestamp


@pytest.mark.parametrize("cause", ["already_anchored", "not_anchorer"])
def test_a_mined_revert_maps_to_the_same_domain_error(
    chain: Chain, registry: RegistryClient, cause: str
) -> None:
    # A fixed gas limit skips estimation, so the node mines the transaction and it reverts
    # (status 0), as when a competing transaction lands first.
    expected: type[DomainError]
    if cause == "already_anchored":
        registry.anchor(ROOT, 3)
        sender, expected = registry, AlreadyAnchored
    else:
        sender, expected = RegistryClient.at(funded_signer(chain), registry.address), NotAnchorer
    height = registry.latest_block_number()

    with pytest.raises(expected):
        sender.anchor(ROOT, 3, gas=100_000)

    assert registry.latest_block_number() == height + 1, "the reverting transaction was mined"
    (failed,) = chain.w3.eth.get_block(height + 1)["transactions"]
    assert chain.w3.eth.get_transaction_receipt(cast(HexBytes, failed))["status"] == 0


def test_a_mined_revert_without_a_reason_is_a_chain_error(registry: RegistryClient) -> None:
    with pytest.raises(ChainError) as raised:
        registry.anchor(ROOT, 3, gas=23_000)  # enough to be mined, not to run
    assert "reverted" in raised.value.detail
    assert registry.anchored_at(ROOT) is None


def test_an_empty_batch_and_the_zero_root_are_refused(registry: RegistryClient) -> None:
    with pytest.raises(RuleViolation) as empty:
        registry.anchor(ROOT, 0)
    with pytest.raises(RuleViolation) as zero:
        registry.anchor(bytes(32), 1)

    assert (empty.value.field, zero.value.field) == ("count", "root")
    assert registry.anchored_at(ROOT) is None


@pytest.mark.parametrize(
    ("root", "count", "field"),
    [
        (b"short", 1, "root"),
        (ROOT + b"\x00", 1, "root"),
        (ROOT, -1, "count"),
        (ROOT, 2**32, "count"),
    ],
)
def test_malformed_anchor_arguments_are_refused_before_sending(
    registry: RegistryClient, root: bytes, count: int, field: str
) -> None:
    height = registry.latest_block_number()
    with pytest.raises(RuleViolation) as raised:
        registry.anchor(root, count)
    assert raised.value.field == field
    assert registry.latest_block_number() == height


def test_anchored_at_is_the_timestamp_of_the_anchoring_block(registry: RegistryClient) -> None:
    receipt = registry.anchor(ROOT, 7)
    block = registry.block(receipt.block_number)

    assert registry.anchored_at(ROOT) == receipt.block_timestamp == block.timestamp
    assert receipt.block_hash == block.hash
    assert (receipt.root, receipt.count) == (ROOT, 7)
    assert registry.anchored_at(OTHER_ROOT) is None


def test_find_anchor_recovers_the_receipt_of_an_anchoring(
    chain: Chain, registry: RegistryClient
) -> None:
    registry.anchor(OTHER_ROOT, 1)
    receipt = registry.anchor(ROOT, 9)
    mine(chain, 2)

    assert registry.find_anchor(ROOT) == receipt
    assert registry.find_anchor(ROOT, from_block=receipt.block_number + 1) is None
    assert registry.find_anchor(keccak(b"never anchored")) is None


def test_anchor_emits_anchored_with_root_count_and_anchorer(
    chain: Chain, registry: RegistryClient
) -> None:
    receipt = registry.anchor(ROOT, 12)

    contract = chain.w3.eth.contract(address=registry.address, abi=artifact().abi)
    (event,) = contract.events.Anchored().get_logs(
        from_block=receipt.block_number, to_block=receipt.block_number
    )
    assert event["args"] == {"root": ROOT, "count": 12, "anchorer": chain.account}
    assert Web3.to_hex(event["transactionHash"]) == receipt.tx_hash
    (log,) = chain.w3.eth.get_transaction_receipt(HexStr(receipt.tx_hash))["logs"]
    assert log["topics"] == [keccak(b"Anchored(bytes32,uint32,address)"), ROOT]


def test_gas_of_one_anchor_is_a_slot_write_and_an_event(registry: RegistryClient) -> None:
    # 21,000 base + calldata + 2 cold slot reads + a new slot (20,000) + LOG1: about 45-50k.
    gas = [registry.anchor(keccak(bytes([n])), 1_000).gas_used for n in range(3)]
    assert all(45_000 <= used <= 50_000 for used in gas), gas


# -- on-chain verification -------------------------------------------------------------------


def test_verify_agrees_with_a_hand_computed_sorted_pair_tree(registry: RegistryClient) -> None:
    a, b, c, d, e = (keccak(name) for name in (b"a", b"b", b"c", b"d", b"e"))
    ab, cd = pair(a, b), pair(c, d)
    abcd = pair(ab, cd)
    root = pair(abcd, e)  # the odd leaf is carried up, never duplicated
    proofs = {a: [b, cd, e], b: [a, cd, e], c: [d, ab, e], d: [c, ab, e], e: [abcd]}

    for leaf, proof in proofs.items():
        assert registry.verify(proof, root, leaf)
    assert registry.verify([], a, a), "a one-leaf tree's root is the leaf"


def test_verify_rejects_tampering(registry: RegistryClient) -> None:
    a, b, c = (keccak(name) for name in (b"a", b"b", b"c"))
    root = pair(pair(a, b), c)
    tampered = bytes([c[0] ^ 1]) + c[1:]

    assert registry.verify([b, c], root, a)
    assert not registry.verify([b, tampered], root, a)
    assert not registry.verify([b, c], root, keccak(b"x"))
    assert not registry.verify([b, c], tampered, a)
    assert not registry.verify([b], root, a)
    assert not registry.verify([c, b], root, a), "levels must come in order"
    # An inner node with the rest of the path verifies too: only the leaf encoding (a double
    # keccak, 32 bytes hashed, never 64) keeps an inner node from passing as a leaf.
    assert registry.verify([c], root, pair(a, b))


def test_verify_refuses_elements_that_are_not_32_bytes(registry: RegistryClient) -> None:
    with pytest.raises(RuleViolation) as raised:
        registry.verify([b"\x01" * 31], ROOT, ROOT)
    assert raised.value.field == "proof[0]"


# -- blocks and confirmations ----------------------------------------------------------------


def test_confirmations_grow_as_blocks_are_mined(chain: Chain, registry: RegistryClient) -> None:
    receipt = registry.anchor(ROOT, 1)
    assert registry.confirmations(receipt.block_number) == 1

    mine(chain, 2)

    assert registry.latest_block_number() == receipt.block_number + 2
    assert registry.confirmations(receipt.block_number) == 3
    assert registry.confirmations(receipt.block_number + 3) == 0
    assert registry.block(receipt.block_number).hash == receipt.block_hash


def test_a_block_not_yet_mined_is_not_found(registry: RegistryClient) -> None:
    with pytest.raises(NotFound):
        registry.block(registry.latest_block_number() + 10)


# -- connecting ------------------------------------------------------------------------------


def test_the_in_process_chain_is_created_once_per_process() -> None:
    assert connect() is in_process_chain() is in_process_chain()
    assert chain_for(Settings()) is in_process_chain()


def test_settings_name_a_node_and_the_anchorer_key(anvil_node: AnvilNode) -> None:
    settings = Settings(chain_rpc_url=anvil_node.url, chain_private_key=SecretStr(ANVIL_DEV_KEY))

    chain = chain_for(settings)

    assert chain.account == Account.from_key(ANVIL_DEV_KEY).address
    assert RegistryClient.at(chain, RegistryClient.deploy(chain).address).chain_id == 31337


def test_a_node_without_a_key_sends_from_its_first_unlocked_account(
    anvil_node: AnvilNode,
) -> None:
    assert connect(anvil_node.url).account == Account.from_key(ANVIL_DEV_KEY).address


def test_an_unreachable_node_is_a_chain_error() -> None:
    with pytest.raises(ChainError):
        connect("http://127.0.0.1:9")
    with pytest.raises(ChainError):
        RegistryClient.at(connect("http://127.0.0.1:9", ANVIL_DEV_KEY), Account.create().address)


def test_chain_confirmations_setting_is_not_negative() -> None:
    assert Settings().chain_confirmations == 2
    with pytest.raises(ValueError):
        Settings(chain_confirmations=-1)
