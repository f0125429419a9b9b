"""``paperleague campaign`` / ``experiment``: set up, grant until the budget is spent (exit 1
naming the rule), list spent/remaining, and the results with lift."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import CliRunner

from api.cli.main import cli
from core.db import Database
from core.users.model import User
from ledger import engagement
from ledger.campaigns.uow import CampaignUnitOfWork


def test_campaign_commands(database: Database, db_url: str, make_user: Callable[..., User]) -> None:
    runner = CliRunner()
    member = make_user()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, [*args, "--database-url", db_url])
        return result.exit_code, result.output

    code, out = run("experiment", "create", "ab", "--variant", "a:1", "--variant", "b:1:7")
    assert code == 0, out
    code, out = run(
        "campaign", "create", "cli", "--budget", "10", "--reward", "4",
        "--starts", "2020-01-01T00:00:00", "--ends", "2100-01-01T00:00:00", "--experiment", "ab",
    )  # fmt: skip
    assert code == 0, out
    assert run("campaign", "set-zone", str(member.id), "Europe/London")[0] == 0
    assert run("campaign", "set-zone", str(member.id), "Nowhere/Land")[0] == 1
    code, out = run("campaign", "grant", "cli", str(member.id), "--operation", "one")
    assert code == 0 and "granted" in out, out
    paid = engagement.points_summary(CampaignUnitOfWork(database.sessions), member.id)
    amount = paid.points.posted
    assert amount in (4, 7)
    # a second grant fits only when the first paid 4 (4 + 4 ≤ 10; 7 + 7 > 10)
    code, out = run("campaign", "grant", "cli", str(member.id), "--operation", "two")
    if amount == 7:
        assert code == 1 and "campaign_budget_exhausted" in out, out
    code, out = run("campaign", "list")
    assert code == 0 and "cli: spent" in out, out
    code, out = run("experiment", "results", "ab")
    assert code == 0 and "a:" in out and "b:" in out and "control" in out, out
    assert run("experiment", "results", "missing")[0] == 1
