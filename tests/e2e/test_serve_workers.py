"""``paperleague serve --workers 2`` (uvicorn's supervisor with our listening socket) starts,
migrates and answers on keep-alive connections."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.chains import anvil_binary, require_or_skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_with_two_workers_answers(tmp_path: Path) -> None:
    port = _free_port()
    if anvil_binary() is None:
        require_or_skip("anvil is not installed (run: npm ci --prefix contracts)")
    env = os.environ | {
        "PAPERLEAGUE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "PAPERLEAGUE_CHAIN_NODE": "local",  # several workers need one shared chain
    }
    command = [
        str(Path(sys.executable).parent / "paperleague"),
        "serve",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while True:
                try:
                    ready = client.get("/readyz")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
                    assert time.monotonic() < deadline, "server did not start in 90 s"
                    time.sleep(0.3)
            assert ready.json()["status"] == "ready"
            # The same keep-alive connection, request after request.
            assert [client.get("/healthz").json() for _ in range(5)] == [{"status": "ok"}] * 5
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "died" not in output, output  # no worker killed by the supervisor's health check
