"""The connection to a chain: the in-process eth-tester chain by default, or any JSON-RPC node.

A `Chain` is a `Web3` plus the account that sends transactions. With a private key the
transactions are signed locally (web3's signing middleware) and sent raw, so the node needs no
unlocked account; without one the node signs for its first unlocked account (eth-tester, anvil).
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from eth_typing import ChecksumAddress
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.exceptions import Web3Exception
from web3.middleware import SignAndSendRawMiddlewareBuilder
from web3.types import RPCEndpoint, RPCError, RPCResponse

from core.config import Settings
from core.errors import Unavailable

RPC_TIMEOUT_SECONDS = 30


class ChainError(Unavailable):
    """The chain failed us: no node answers, no account to send from, a transaction failed for
    a reason that is not a rule of the contract. Retry later."""

    title = "Chain unavailable"
    slug = "chain-unavailable"


@dataclass(frozen=True, slots=True)
class Chain:
    """A connected `Web3` and the checksummed address every transaction is sent from."""

    w3: Web3
    account: ChecksumAddress
    # A dev node that mines only on transactions: mine an empty block when the head is older
    # than this many seconds, so confirmations arrive (None: a real chain, never).
    mine_after_seconds: float | None = None

    def signer(self, private_key: str) -> Chain:
        """The same node, sending from the key's account, signed locally."""
        return Chain(
            _signing_web3(self.w3.provider, private_key),
            _address_of(private_key),
            self.mine_after_seconds,
        )


def connect(rpc_url: str | None = None, private_key: str | None = None) -> Chain:
    """A node at `rpc_url` (HTTP JSON-RPC), or the process's in-process chain when it is None.

    With `private_key` transactions come from that key's account; otherwise from the node's
    first unlocked account.
    """
    if rpc_url is None:
        chain = in_process_chain()
        return chain if private_key is None else chain.signer(private_key)
    provider = HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_SECONDS})
    if private_key is not None:
        return Chain(_signing_web3(provider, private_key), _address_of(private_key))
    w3 = Web3(provider)
    try:
        accounts = w3.eth.accounts
    except (OSError, Web3Exception) as failure:  # requests' errors are OSErrors
        raise ChainError(f"no chain node answers at {rpc_url}: {failure}") from failure
    if not accounts:
        raise ChainError(
            f"the node at {rpc_url} has no unlocked account; set PAPERLEAGUE_CHAIN_PRIVATE_KEY"
        )
    return Chain(w3, accounts[0])


def chain_for(settings: Settings) -> Chain:
    """The chain the settings name: `chain_rpc_url` + `chain_private_key`; else the local node
    in the data directory (`contracts.local_node`) unless `chain_node` is `in-process` or, for
    `auto`, anvil is not installed; else the process's in-process chain."""
    # Imported here: local_node builds on this module's `connect`.
    from contracts import local_node

    key = settings.chain_private_key
    private_key = key.get_secret_value() if key else None
    if local_node.uses_local_node(settings):
        chain = local_node.shared_node(settings).chain()
        return chain if private_key is None else chain.signer(private_key)
    return connect(settings.chain_rpc_url, private_key)


@cache
def in_process_chain() -> Chain:
    """The process-wide eth-tester chain, created on first use."""
    return new_in_process_chain()


def new_in_process_chain() -> Chain:
    """A fresh in-memory eth-tester chain (its own genesis), sending from its first account."""
    w3 = Web3(_InProcessProvider())
    return Chain(w3, w3.eth.accounts[0])


def _signing_web3(provider: Any, private_key: str) -> Web3:
    w3 = Web3(provider)
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(private_key), layer=0)
    return w3


def _address_of(private_key: str) -> ChecksumAddress:
    address: ChecksumAddress = Account.from_key(private_key).address
    return address


class _Reverted(Exception):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.data = data


def _surface_revert_data(
    delegator: Callable[[Any, Any], Any],
) -> Callable[[Any, Any], Any]:
    def delegate(tester: Any, params: Any) -> Any:
        try:
            return delegator(tester, params)
        except TransactionFailed as failure:
            data = failure.args[0] if failure.args else None
            if isinstance(data, Exception) and data.args:
                data = data.args[0]
            if isinstance(data, str) and data.startswith(("b'", 'b"')):
                # eth-tester's `call` reports the revert bytes as their repr (web3 parses the
                # same way for panics)
                data = ast.literal_eval(data)
            if isinstance(data, bytes):
                raise _Reverted(data) from failure
            raise

    return delegate


class _InProcessProvider(EthereumTesterProvider):
    """eth-tester answering reverts the way a node does, one request at a time.

    A node answers a reverting `eth_call` / `eth_estimateGas` with error code 3 and the revert
    data as hex, which web3 turns into `ContractCustomError`; eth-tester raises its own exception
    with the bytes in a message instead. Answering like a node gives the client one code path.
    The lock makes the shared chain safe for the API's worker threads.
    """

    def __init__(self) -> None:
        super().__init__()
        endpoints = dict(self.api_endpoints or {})
        eth = dict(endpoints["eth"])
        for method in ("call", "estimateGas"):
            eth[method] = _surface_revert_data(eth[method])
        self.api_endpoints = {**endpoints, "eth": eth}
        self._lock = threading.Lock()

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        with self._lock:
            try:
                return super().make_request(method, params)
            except _Reverted as reverted:
                error = RPCError(
                    code=3, message="execution reverted", data="0x" + reverted.data.hex()
                )
                return {"id": self._current_request_id, "jsonrpc": "2.0", "error": error}
