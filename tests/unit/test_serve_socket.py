"""``paperleague serve --workers N`` binds the workers' shared socket with Nagle's algorithm off."""

from __future__ import annotations

import socket

import uvicorn

from api.cli.serve import listening_socket

APP = "api.http.app:app_from_environment"


def test_the_shared_listening_socket_has_tcp_nodelay() -> None:
    config = uvicorn.Config(APP, host="127.0.0.1", port=0, workers=2)
    plain = config.bind_socket()  # what uvicorn's own --workers path shares
    ours = listening_socket(config)
    try:
        assert plain.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert ours.getsockname()[0] == "127.0.0.1" and ours.getsockname()[1] > 0
    finally:
        plain.close()
        ours.close()


def test_accepted_connections_inherit_tcp_nodelay() -> None:
    config = uvicorn.Config(APP, host="127.0.0.1", port=0, workers=2)
    listener = listening_socket(config)
    listener.listen()
    try:
        with socket.create_connection(listener.getsockname()[:2]) as _client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        listener.close()
