"""Several processes anchoring from one account at once (two hosts, several workers, one
configured key): a transaction whose nonce another sender took is signed again with a fresh
one, so each anchoring lands once and none fails for the race."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak
from web3.exceptions import Web3RPCError

from contracts import registry as registry_module
from contracts.chain import Chain, connect
from contracts.registry import SEND_ATTEMPTS, RegistryClient
from tests.chains import ANVIL_DEV_KEY, AnvilNode
from tests.concurrency import race

SENDERS = 6


def test_senders_from_one_account_at_once_all_anchor(
    anvil_chain: Chain, anvil_node: AnvilNode
) -> None:
    address = RegistryClient.deploy(anvil_chain).address
    # One client per sender, as separate processes have: each asks the node for its nonce.
    clients = [
        RegistryClient.at(connect(anvil_node.url, ANVIL_DEV_KEY), address) for _ in range(SENDERS)
    ]
    roots = [keccak(f"host {i}".encode()) for i in range(SENDERS)]
    results = race(SENDERS, lambda i: clients[i].anchor(roots[i], 1))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert all(clients[0].anchored_at(root) is not None for root in roots)


class _Function:
    """A contract function whose first ``refusals`` sends are refused with ``message``."""

    def __init__(self, refusals: int, message: str) -> None:
        self.refusals = refusals
        self.message = message
        self.sends = 0

    def transact(self, _params: Any) -> str:
        self.sends += 1
        if self.sends <= self.refusals:
            raise Web3RPCError(self.message)
        return "0xsent"


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module.time, "sleep", lambda _seconds: None)


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize(
    "message",
    ["{'code': -32003, 'message': 'nonce too low'}", "replacement transaction underpriced"],
)
def test_a_taken_nonce_is_signed_again(message: str) -> None:
    function = _Function(2, message)
    assert registry_module._send(function, {}) == "0xsent"
    assert function.sends == 3


@pytest.mark.usefixtures("no_backoff")
def test_other_refusals_are_not_retried() -> None:
    function = _Function(1, "insufficient funds for gas * price + value")
    with pytest.raises(Web3RPCError):
        registry_module._send(function, {})
    assert function.sends == 1


@pytest.mark.usefixtures("no_backoff")
def test_a_nonce_taken_every_time_gives_up() -> None:
    function = _Function(SEND_ATTEMPTS, "nonce too low")
    with pytest.raises(Web3RPCError):
        registry_module._send(function, {})
    assert function.sends == SEND_ATTEMPTS
