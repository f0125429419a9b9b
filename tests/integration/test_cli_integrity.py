"""``paperleague integrity scan``: the same scan as the operator route, from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli.main import cli
from core.db import Database
from core.integrity.model import ClientSignal
from core.users import services as users
from core.users.services import UsersUnitOfWork
from tests.conftest import PASSWORD

runner = CliRunner()


def test_integrity_scan_opens_cases_once(db_url: str) -> None:
    database = Database.connect(db_url)
    for name in ("fred", "fiona"):
        users.sign_up(
            UsersUnitOfWork(database.sessions),
            username=name,
            password=PASSWORD,
            display_name=name,
            signal=ClientSignal(ip="192.0.2.7", device_id="laptop"),
        )
    database.dispose()

    first = runner.invoke(cli, ["integrity", "scan", "--database-url", db_url])
    assert first.exit_code == 0, first.output
    assert "1 findings, 1 new cases" in first.output
    assert "shared_signal" in first.output

    again = runner.invoke(cli, ["integrity", "scan", "--json", "--database-url", db_url])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output) | {"contest_ids": []} == {
        "contest_ids": [],
        "findings": 1,
        "opened": [],
    }


def test_integrity_scan_of_an_unknown_contest_fails(db_url: str) -> None:
    result = runner.invoke(cli, ["integrity", "scan", "--contest", "999", "--database-url", db_url])
    assert result.exit_code == 1
    assert "contest 999 does not exist" in result.output
