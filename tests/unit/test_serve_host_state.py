"""``paperleague serve`` on PostgreSQL warns of what a host would keep to itself: a generated
signing secret and a local chain node (each host behind a load balancer would have its own)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from api.cli.serve import warn_of_host_local_state
from tests.conftest import TEST_SECRET, make_settings

POSTGRES = "postgresql+psycopg://paperleague@db.internal/paperleague"


def _warnings(caplog: pytest.LogCaptureFixture, tmp_path: Path, url: str, **changes: object) -> str:
    settings = make_settings(url, data_dir=tmp_path, **changes)
    with caplog.at_level(logging.WARNING, logger="paperleague.serve"):
        warn_of_host_local_state(settings)
    return caplog.text


def test_a_generated_secret_and_a_local_node_on_postgresql_are_named(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    text = _warnings(caplog, tmp_path, POSTGRES, jwt_secret=None, chain_node="local")
    assert "PAPERLEAGUE_JWT_SECRET" in text
    assert "PAPERLEAGUE_CHAIN_RPC_URL" in text


def test_a_configured_secret_and_chain_draw_no_warning(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    text = _warnings(
        caplog,
        tmp_path,
        POSTGRES,
        jwt_secret=TEST_SECRET,
        chain_rpc_url="http://chain.internal:8545",
    )
    assert text == ""


def test_sqlite_is_one_host_and_draws_no_warning(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    assert _warnings(caplog, tmp_path, url, jwt_secret=None, chain_node="local") == ""
