"""The embedded default chain: one local anvil node whose state lives in the data directory.

An in-process eth-tester chain lives and dies with its process: every API worker would have its
own, and a restart would forget every anchor, so no certificate issued before it verifies after.
The local node is anvil from the pinned npm package (``npm ci --prefix contracts``), started on a
free loopback port with ``--state <data_dir>/chain/state.json``: it loads that file on start and
dumps its blocks, receipts and accounts there every ``DUMP_INTERVAL_SECONDS`` and on exit.

One process *owns* the node (``paperleague serve``'s supervisor, or a CLI command when no server
runs): it holds an exclusive lock on ``chain/node.lock`` for the node's lifetime and records the
node's address in ``chain/node.json``. Every other process (the API workers, a CLI command beside
a running server) is a *guest*: it finds the lock taken and connects to the recorded address.
On Linux the node is stopped with its owner (``PR_SET_PDEATHSIG``), and a node an owner left
behind is stopped by the next owner before it starts its own on the same state file.

A dev node mines only when a transaction arrives, so an anchor would wait for confirmations
forever; the ``Chain`` this module returns mines one empty block when the head is older than
``MINE_AFTER_SECONDS`` (``contracts.registry.RegistryClient.confirmations``). By then the anchor's
block has been dumped, so a crash cannot make a final anchor disappear; an anchor lost in the
last second before a crash is a reorganisation, which anchoring already recovers from.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import fcntl
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from web3 import HTTPProvider, Web3

from contracts.chain import Chain, ChainError, connect
from core.config import Settings

logger = logging.getLogger("paperleague.chain")

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
DUMP_INTERVAL_SECONDS = 1
MINE_AFTER_SECONDS = 3 * DUMP_INTERVAL_SECONDS
STARTUP_SECONDS = 20.0
STOP_SECONDS = 10.0
OWNER_WAIT_SECONDS = 30.0

_PLATFORMS = {"linux": "linux", "darwin": "darwin", "win32": "win32"}
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "arm64": "arm64", "aarch64": "arm64"}
_PR_SET_PDEATHSIG = 1


class LocalNodeUnavailable(ChainError):
    """The local node cannot run here (no anvil installed) or did not start."""


def anvil_binary(override: Path | None = None) -> Path | None:
    """``override`` if given and present; else the anvil npm installed under contracts/ (the
    platform package ``@foundry-rs/anvil-<os>-<cpu>``); else ``anvil`` on the PATH; else None."""
    if override is not None:
        return override if override.is_file() else None
    arch = _ARCHES.get(platform.machine().lower())
    system = _PLATFORMS.get(sys.platform)
    name = "anvil.exe" if sys.platform == "win32" else "anvil"
    candidates = [
        NODE_MODULES / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / name,
        NODE_MODULES / ".bin" / name,
    ]
    found = next((path for path in candidates if path.is_file()), None)
    on_path = shutil.which(name)
    return found or (Path(on_path) if on_path else None)


@dataclass(slots=True)
class LocalNode:
    """A running local node: its JSON-RPC address and, for its owner, the process and lock."""

    url: str
    state_dir: Path
    process: subprocess.Popen[bytes] | None = None  # None: a guest of another owner's node
    lock: IO[str] | None = None

    @property
    def owned(self) -> bool:
        return self.process is not None

    def chain(self) -> Chain:
        """The node's first dev account sending, with empty blocks mined for confirmations."""
        return replace(connect(self.url), mine_after_seconds=MINE_AFTER_SECONDS)

    def stop(self) -> None:
        """The owner stops the node (anvil dumps its state on SIGTERM); a guest does nothing."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        (self.state_dir / "node.json").unlink(missing_ok=True)
        if self.lock is not None:
            self.lock.close()  # releases the flock
        self.process = self.lock = None


def state_dir_of(settings: Settings) -> Path:
    """Where the node keeps its state, lock, address and log: ``<data_dir>/chain``."""
    return settings.data_directory / "chain"


def open_node(
    state_dir: Path,
    binary: Path | None,
    *,
    own: bool,
    wait_seconds: float = OWNER_WAIT_SECONDS,
) -> LocalNode:
    """The node for ``state_dir``: started and owned by this process if nobody holds the lock;
    otherwise, unless ``own`` (the owner must outlive its guests), the running owner's node.
    With ``own``, waits up to ``wait_seconds`` for a guest-owner (a CLI command) to finish."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = (state_dir / "node.lock").open("a+")
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as busy:
            if busy.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            url = None if own else _recorded_url(state_dir)
            if url is not None:
                lock.close()
                return LocalNode(url, state_dir)
            if time.monotonic() > deadline:
                lock.close()
                raise LocalNodeUnavailable(
                    f"the local chain node in {state_dir} is held by another process "
                    f"({_recorded(state_dir).get('owner_pid', 'unknown pid')})"
                ) from busy
            time.sleep(0.1)
            continue
        try:
            return _start(state_dir, binary, lock)
        except BaseException:
            lock.close()
            raise


def _start(state_dir: Path, binary: Path | None, lock: IO[str]) -> LocalNode:
    if binary is None:
        raise LocalNodeUnavailable(
            "anvil is not installed (run: npm ci --prefix contracts, or set PAPERLEAGUE_ANVIL_PATH)"
        )
    _stop_left_behind(state_dir)
    log_path = state_dir / "anvil.log"
    command = [
        str(binary),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--state",
        str(state_dir / "state.json"),
        "--state-interval",
        str(DUMP_INTERVAL_SECONDS),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,  # a file: a pipe nobody drains would stall anvil once its buffer fills
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    node = LocalNode(_wait_until_listening(process, log_path), state_dir, process, lock)
    record = {"url": node.url, "anvil_pid": process.pid, "owner_pid": os.getpid()}
    (state_dir / "node.json").write_text(json.dumps(record))
    logger.info("local chain node at %s, state in %s", node.url, state_dir / "state.json")
    return node


def _die_with_parent() -> None:
    # In the child, before exec: SIGTERM when the owner dies, so anvil dumps state and exits.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop_left_behind(state_dir: Path) -> None:
    """An anvil an earlier owner left running (it was killed before it could stop it) would keep
    dumping its older state over the file the new node writes: stop it first."""
    pid = _recorded(state_dir).get("anvil_pid")
    if not isinstance(pid, int) or not _is_anvil(pid):
        return
    logger.warning("stopping the local chain node pid %s an earlier owner left running", pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while _is_anvil(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _is_anvil(pid):
        os.kill(pid, signal.SIGKILL)


def _is_anvil(pid: int) -> bool:
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"anvil" in cmdline.read_bytes()
    except OSError:
        return False


def _recorded(state_dir: Path) -> dict[str, object]:
    try:
        found = json.loads((state_dir / "node.json").read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _recorded_url(state_dir: Path) -> str | None:
    url = _recorded(state_dir).get("url")
    if not isinstance(url, str):
        return None
    with contextlib.suppress(OSError, ValueError):
        if Web3(HTTPProvider(url, request_kwargs={"timeout": 2})).is_connected():
            return url
    return None


def _wait_until_listening(process: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalNodeUnavailable(
                f"anvil exited with {process.returncode}: {log_path.read_text(errors='replace')}"
            )
        found = re.search(r"Listening on (\S+:\d+)", log_path.read_text(errors="replace"))
        if found:
            url = f"http://{found.group(1)}"
            if Web3(HTTPProvider(url)).is_connected():
                return url
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise LocalNodeUnavailable(f"anvil did not answer within {STARTUP_SECONDS} s")


_nodes: dict[Path, LocalNode] = {}


def shared_node(settings: Settings, *, own: bool = False) -> LocalNode:
    """This process's local node for the settings' data directory, opened once: owned (and
    stopped when the process exits) or a guest of the running owner's."""
    state_dir = state_dir_of(settings).resolve()
    node = _nodes.get(state_dir)
    if node is not None and (node.owned or not own):
        return node
    node = _nodes[state_dir] = open_node(state_dir, anvil_binary(settings.anvil_path), own=own)
    if node.owned:
        atexit.register(node.stop)
    return node


def uses_local_node(settings: Settings) -> bool:
    """Whether the settings' chain is the local node: no RPC URL, and ``chain_node`` is
    ``local``, or ``auto`` with anvil installed."""
    if settings.chain_rpc_url is not None or settings.chain_node == "in-process":
        return False
    return settings.chain_node == "local" or anvil_binary(settings.anvil_path) is not None
