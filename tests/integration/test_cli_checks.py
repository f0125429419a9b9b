"""``paperleague check`` on a real database: a table of every check, exit 0 when all hold and 1
when one fails; ``--json`` prints the report as ``GET /v1/admin/checks`` returns it."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from api.checks import registered_checks
from api.cli.main import cli
from core.db import Database
from ledger import services
from ledger.model import ISSUANCE, POINTS, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork

runner = CliRunner()
ALICE = points_account(1)


def test_check_exits_0_when_all_hold_and_1_when_one_fails(db_url: str, database: Database) -> None:
    services.transfer(
        LedgerUnitOfWork(database.sessions),
        TransferRequest("g1", ISSUANCE, ALICE, POINTS, 100, "grant"),
    )
    names = [check.name for check in registered_checks()]
    sound = runner.invoke(cli, ["check", "--database-url", db_url])
    assert sound.exit_code == 0, sound.output
    assert all(name in sound.output for name in names)
    assert "FAIL" not in sound.output
    assert sound.output.rstrip().endswith(f"all {len(names)} hold")

    with database.engine.begin() as connection:  # a stored balance 7 points off its transfers
        connection.execute(
            text(
                "UPDATE ledger_balances SET credits_posted = credits_posted + 7 "
                "WHERE account = :a AND asset = 'POINTS'"
            ),
            {"a": ALICE},
        )
    broken = runner.invoke(cli, ["check", "--database-url", db_url])
    assert broken.exit_code == 1, broken.output
    assert "FAIL" in broken.output
    assert f"balance {ALICE} POINTS: stored" in broken.output
    assert broken.output.rstrip().endswith(f"1 of {len(names)} FAILED: ledger.books")

    as_json = runner.invoke(cli, ["check", "--json", "--database-url", db_url])
    assert as_json.exit_code == 1, as_json.output
    report = json.loads(as_json.output)
    assert report["ok"] is False
    assert [c["name"] for c in report["checks"]] == names
    assert [c["name"] for c in report["checks"] if not c["ok"]] == ["ledger.books"]


def test_check_refuses_a_database_not_at_head(empty_db_url: str) -> None:
    result = runner.invoke(cli, ["check", "--database-url", empty_db_url])
    assert result.exit_code == 1
    assert "run `paperleague db upgrade`" in result.output
