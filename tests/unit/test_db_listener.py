"""The process's LISTEN connection (core.db_notifications): when it may be trusted."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from core.db_notifications import Listener


@pytest.fixture
def socket_pair() -> Iterator[tuple[int, int]]:
    """A pipe standing for the listening socket: its read end, and the end the server writes."""
    read_end, write_end = os.pipe()
    yield read_end, write_end
    os.close(read_end)
    os.close(write_end)


@pytest.fixture
def listening(socket_pair: tuple[int, int]) -> Iterator[Listener]:
    """A listener (its thread not started) whose connection is up and quiet."""
    listener = Listener("postgresql://unused")
    listener._fd = socket_pair[0]
    listener.listening.set()
    yield listener
    os.close(listener._wake_r)
    os.close(listener._wake_w)


def test_a_quiet_listening_connection_is_settled_and_one_with_news_waiting_is_not(
    listening: Listener, socket_pair: tuple[int, int]
) -> None:
    assert listening.settled()
    os.write(socket_pair[1], b"x")
    assert not listening.settled()


def test_a_connection_the_server_says_it_closes_is_not_trusted_before_the_close_arrives(
    listening: Listener,
) -> None:
    listening._noticed("WARNING", "some notice")
    assert listening.settled()
    # a terminated backend: libpq hands its FATAL message out as a notice, the EOF comes later
    listening._noticed("FATAL", "terminating connection due to administrator command")
    assert not listening.settled()
