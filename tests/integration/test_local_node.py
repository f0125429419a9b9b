"""The embedded default chain (contracts/local_node.py): one anvil per data directory, its state
on disk; an owner and its guests; a restart or a crashed owner loses no anchor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web3 import Web3

from contracts import local_node, services
from contracts.local_node import LocalNodeUnavailable, open_node
from contracts.registration import register_content
from contracts.uow import ContentUnitOfWork
from core.db import Database
from core.users.model import Role, User
from tests.chains import anvil_binary, require_or_skip

PAPERLEAGUE = str(Path(sys.executable).parent / "paperleague")
NOTE = b"Copper demand will outrun supply by 2027.\n"


@pytest.fixture
def anvil() -> Path:
    binary = anvil_binary()
    if binary is None:
        require_or_skip("anvil is not installed (run: npm ci --prefix contracts)")
    assert binary is not None
    return binary


@pytest.fixture
def owned(anvil: Path, tmp_path: Path) -> Iterator[local_node.LocalNode]:
    node = open_node(tmp_path / "chain", anvil, own=True)
    yield node
    node.stop()


def _send(node: local_node.LocalNode) -> str:
    chain = node.chain()
    tx = chain.w3.eth.send_transaction({"from": chain.account, "to": chain.account, "data": "0x01"})
    chain.w3.eth.wait_for_transaction_receipt(tx)
    return Web3.to_hex(tx)


def test_a_guest_joins_the_owners_node_and_a_second_owner_is_refused(
    owned: local_node.LocalNode, anvil: Path, tmp_path: Path
) -> None:
    guest = open_node(tmp_path / "chain", anvil, own=False)
    assert (guest.url, guest.owned, owned.owned) == (owned.url, False, True)
    guest.stop()  # a guest's stop leaves the owner's node running
    assert owned.chain().w3.is_connected()
    with pytest.raises(LocalNodeUnavailable, match="held by another process"):
        open_node(tmp_path / "chain", anvil, own=True, wait_seconds=0.3)


def test_a_transaction_survives_a_restart(anvil: Path, tmp_path: Path) -> None:
    first = open_node(tmp_path / "chain", anvil, own=True)
    tx = _send(first)
    first.stop()
    assert not (tmp_path / "chain" / "node.json").exists()
    second = open_node(tmp_path / "chain", anvil, own=True)
    try:
        assert second.chain().w3.eth.get_transaction_receipt(tx)["status"] == 1
    finally:
        second.stop()


def test_an_owner_killed_outright_loses_nothing_dumped(anvil: Path, tmp_path: Path) -> None:
    script = (
        "import sys, time; from pathlib import Path; from contracts.local_node import open_node;"
        f"node = open_node(Path({str(tmp_path / 'chain')!r}), Path({str(anvil)!r}), own=True);"
        "print(node.url, flush=True); time.sleep(600)"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        url = owner.stdout.readline().strip()  # type: ignore[union-attr]
        left_behind = json.loads((tmp_path / "chain" / "node.json").read_text())["anvil_pid"]
        tx = _send(local_node.LocalNode(url, tmp_path / "chain"))
        time.sleep(2.5 * local_node.DUMP_INTERVAL_SECONDS)  # the node dumps its state
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    # The lock died with its owner; the node it left (if it outlived it) is stopped first.
    successor = open_node(tmp_path / "chain", anvil, own=True, wait_seconds=5)
    try:
        assert b"anvil" not in _cmdline(left_behind)  # gone (or a zombie nobody reaped yet)
        assert successor.chain().w3.eth.get_transaction_receipt(tx)["status"] == 1
    finally:
        successor.stop()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_cli_anchors_on_the_local_node_and_its_anchor_becomes_final_in_a_later_process(
    anvil: Path, db_url: str, database: Database, make_user: Callable[..., User], tmp_path: Path
) -> None:
    author = make_user(Role.AUTHOR)
    uow = ContentUnitOfWork(database.sessions)
    piece = register_content(
        uow, author.id, title="Copper", content=NOTE, content_type="text/plain"
    )
    env = os.environ | {
        "PAPERLEAGUE_DATABASE_URL": db_url,
        "PAPERLEAGUE_DATA_DIR": str(tmp_path),
        "PAPERLEAGUE_CHAIN_NODE": "local",
    }

    def cli(*args: str) -> str:
        done = subprocess.run([PAPERLEAGUE, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "anchored batch" in cli("content", "anchor")
    time.sleep(local_node.MINE_AFTER_SECONDS + 0.5)
    # Another process, another start of the node: the batch's block is still there, and the
    # dev node mines the block that confirms it.
    assert "final: [" in cli("content", "anchor")
    certificate = tmp_path / "cert.json"
    certificate.write_text(services.certificate(uow, piece.id, author_id=author.id).dumps())
    content = tmp_path / "note.txt"
    content.write_bytes(NOTE)
    assert "VALID" in cli("verify", str(certificate), "--content", str(content))
