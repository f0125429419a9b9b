"""Chain fixtures: the in-process eth-tester chain and a real anvil node from npm.

anvil comes from `npm ci --prefix contracts` (the npm package `@foundry-rs/anvil-linux-amd64`
holds the binary itself). Without it the anvil cases are skipped with the reason shown, unless
REQUIRE_ANVIL=1 (CI), which makes them fail instead; the same holds for the solcjs rebuild check.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from web3 import HTTPProvider, Web3

from contracts import local_node
from contracts.chain import Chain, connect, new_in_process_chain

__all__ = [
    "ANVIL_DEV_KEY",
    "AnvilNode",
    "CHAINS",
    "REQUIRE_ANVIL",
    "anvil_binary",
    "anvil_chain",
    "anvil_node",
    "chain",
    "eth_tester_chain",
    "funded_signer",
    "mine",
    "require_or_skip",
]

REQUIRE_ANVIL = os.environ.get("REQUIRE_ANVIL") == "1"
NODE_MODULES = local_node.NODE_MODULES
# anvil's first dev account (mnemonic "test test ... junk"); public, funded on every anvil.
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
CHAINS = ["eth_tester", "anvil"]
STARTUP_SECONDS = 15.0



def anvil_binary() -> Path | None:
    """The anvil executable npm installed under contracts/ (or on the PATH), or None."""
    return local_node.anvil_binary()


def require_or_skip(reason: str) -> None:
    """Skips the test for a missing npm tool, or fails it when CI promised the tools."""
    if REQUIRE_ANVIL:
        pytest.fail(f"REQUIRE_ANVIL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True, slots=True)
class AnvilNode:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="session")
def anvil_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    """One anvil per test session (per xdist worker) on a free loopback port."""
    binary = anvil_binary()
    if binary is None:
        require_or_skip(
            f"anvil is not installed under {NODE_MODULES} (run: npm ci --prefix contracts)"
        )
        return
    log_path = tmp_path_factory.mktemp("anvil") / "anvil.log"
    # Output goes to a file: a pipe nobody drains would stall anvil once its buffer fills.
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(binary), "--host", "127.0.0.1", "--port", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        url = _wait_until_listening(process, log_path)
        yield AnvilNode(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_listening(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"anvil exited with {process.returncode}:\n{log_path.read_text()}")
        found = re.search(r"Listening on (\S+:\d+)", log_path.read_text(errors="replace"))
        if found:
            url = f"http://{found.group(1)}"
            if Web3(HTTPProvider(url)).is_connected():
                return url
        time.sleep(0.05)
    pytest.fail(f"anvil did not answer within {STARTUP_SECONDS} s:\n{log_path.read_text()}")


@pytest.fixture
def anvil_chain(anvil_node: AnvilNode) -> Iterator[Chain]:
    """The shared anvil, sending signed transactions from dev account 0; every test's changes
    are reverted after it (evm_snapshot / evm_revert)."""
    chain = connect(anvil_node.url, ANVIL_DEV_KEY)
    snapshot = chain.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield chain
    chain.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.fixture
def eth_tester_chain() -> Chain:
    """A fresh in-process eth-tester chain (a few milliseconds to create)."""
    return new_in_process_chain()


@pytest.fixture(params=CHAINS)
def chain(request: pytest.FixtureRequest) -> Chain:
    """Each test runs on eth-tester and on anvil."""
    return request.getfixturevalue(f"{request.param}_chain")


def mine(chain: Chain, blocks: int = 1) -> None:
    """Mines empty blocks (both eth-tester and anvil take `evm_mine` without parameters)."""
    for _ in range(blocks):
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def funded_signer(chain: Chain, ether: int = 1) -> Chain:
    """A new random account funded from `chain.account`, sending locally signed transactions."""
    account = Account.create()
    tx_hash = chain.w3.eth.send_transaction(
        {"from": chain.account, "to": account.address, "value": Web3.to_wei(ether, "ether")}
    )
    chain.w3.eth.wait_for_transaction_receipt(tx_hash)
    return chain.signer(account.key.to_0x_hex())
