"""``paperleague analytics``: the API's bodies as JSON; a reversed window exits 1."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import CliRunner

from api.cli.main import cli
from core.clock import utc_now
from core.users.model import User
from ledger.model import ISSUANCE, POINTS, TransferRequest, points_account
from ledger.services import LedgerUnitOfWork, transfer


def test_analytics_prints_json_and_refuses_a_reversed_window(
    db_url: str, make_user: Callable[..., User], ledger_uow: LedgerUnitOfWork
) -> None:
    members = [make_user(), make_user()]
    transfer(
        ledger_uow,
        TransferRequest("g", ISSUANCE, points_account(members[0].id), POINTS, 70, "grant"),
    )
    runner = CliRunner()
    run = lambda *args: runner.invoke(cli, ["analytics", *args, "--database-url", db_url])  # noqa: E731
    today = utc_now().date().isoformat()

    funnel = run("funnel", "--from", today, "--to", today)
    assert funnel.exit_code == 0, funnel.output
    assert [s["members"] for s in json.loads(funnel.output)["stages"]] == [2, 0, 0, 0, 0]
    overview = json.loads(run("overview").output)
    assert overview["window"]["to"] == today and overview["window"]["days"] == 28
    assert overview["liability"]["spendable"] == 70
    assert json.loads(run("reward-cost").output)["issued"] == [
        {"reason": "grant", "points": 70, "transfers": 1}
    ]
    assert json.loads(run("liability").output)["members"] == 1
    assert json.loads(run("retention").output)["cohorts"][0]["retained"][0] == 0

    reversed_ = run("retention", "--from", "2026-02-02", "--to", "2026-02-01")
    assert reversed_.exit_code == 1 and "is after to" in reversed_.output
