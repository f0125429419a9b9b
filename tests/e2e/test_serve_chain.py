"""``paperleague serve`` on the embedded default chain: one local anvil node, its state in the
data directory, shared by every worker, so a certificate issued before a restart verifies after
it; and no several workers on per-process in-process chains."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.chains import anvil_binary, require_or_skip

PAPERLEAGUE = str(Path(sys.executable).parent / "paperleague")
PASSWORD = "serve-chain-password-1"
NOTE = "# Capex cycle\n\nOrders lead shipments by two quarters.\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(tmp_path: Path, chain_node: str) -> dict[str, str]:
    return os.environ | {
        "PAPERLEAGUE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "PAPERLEAGUE_CHAIN_NODE": chain_node,
    }


@contextmanager
def _serving(env: dict[str, str], workers: int) -> Iterator[httpx.Client]:
    port = _free_port()
    command = [PAPERLEAGUE, "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "server did not start in 90 s"
                time.sleep(0.3)
            yield client
    finally:
        server.terminate()
        server.communicate(timeout=60)


def _token(client: httpx.Client, username: str) -> dict[str, str]:
    response = client.post("/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _verify(client: httpx.Client, certificate: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/v1/certificates/verify", json={"certificate": certificate, "content": NOTE}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def local_chain_env(tmp_path: Path) -> dict[str, str]:
    if anvil_binary() is None:
        require_or_skip("anvil is not installed (run: npm ci --prefix contracts)")
    env = _environment(tmp_path, "local")
    for username, role in (("operator1", "operator"), ("writer", "author")):
        created = subprocess.run(
            [PAPERLEAGUE, "user", "create", "--username", username, "--role", role,
             "--password", PASSWORD],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert created.returncode == 0, created.stdout + created.stderr
    return env


def test_a_certificate_from_two_workers_verifies_after_a_restart(
    local_chain_env: dict[str, str], tmp_path: Path
) -> None:
    with _serving(local_chain_env, workers=2) as client:
        author, operator = _token(client, "writer"), _token(client, "operator1")
        piece = client.post("/v1/content", json={"title": "Capex", "text": NOTE}, headers=author)
        assert piece.status_code == 201, piece.text
        anchored = client.post("/v1/admin/anchors", headers=operator)
        assert anchored.status_code == 200, anchored.text
        assert anchored.json()["batch"]["chain_id"] == 31337  # anvil, not eth-tester
        certificate = client.get(f"/v1/certificates/{piece.json()['id']}", headers=author).json()
        # Whichever worker answers, it reads the one chain the anchoring worker wrote to.
        for _ in range(4):
            assert _verify(client, certificate)["valid"] is True
    assert (tmp_path / "chain" / "state.json").is_file()
    assert not (tmp_path / "chain" / "node.json").exists()  # the owner stopped its node

    with _serving(local_chain_env, workers=1) as client:
        verdict = _verify(client, certificate)
        assert verdict["valid"] is True, verdict
        # Confirmations arrive on the dev node (an empty block once the head is old enough).
        operator = _token(client, "operator1")
        deadline = time.monotonic() + 90  # a loaded CI machine imports slowly
        while (
            client.get("/v1/admin/anchors", headers=operator).json()["items"][0]["status"]
            != "final"
        ):
            assert time.monotonic() < deadline, "the anchor never became final"
            client.post("/v1/admin/anchors", headers=operator)
            time.sleep(1)


def test_several_workers_on_in_process_chains_are_refused(tmp_path: Path) -> None:
    env = _environment(tmp_path, "in-process")
    command = [PAPERLEAGUE, "serve", "--port", str(_free_port()), "--workers", "2"]
    refused = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert refused.returncode == 1
    assert "--workers > 1 needs one chain every worker shares" in refused.stderr
