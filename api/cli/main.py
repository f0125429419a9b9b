"""The ``paperleague`` command: every subcommand, wired here and written in its own module."""

from __future__ import annotations

import typer

from api.cli.analytics import analytics_cli
from api.cli.audit import audit_cli
from api.cli.campaigns import campaign_cli, experiment_cli
from api.cli.checks import check
from api.cli.content import content_cli, verify
from api.cli.contests import contest_cli
from api.cli.integrity import integrity_cli
from api.cli.leagues import leagues_cli
from api.cli.ledger import ledger_cli
from api.cli.market import market_cli
from api.cli.privacy import privacy_cli
from api.cli.quizzes import quiz_cli
from api.cli.schema import db_cli
from api.cli.segments import segments_cli
from api.cli.serve import serve
from api.cli.simulate import simulate_season
from api.cli.users import user_cli
from api.cli.webhooks import webhooks_cli
from api.cli.worker import worker

cli = typer.Typer(help="PaperLeague: contest-grade investment simulator.", no_args_is_help=True)
cli.command("verify")(verify)
cli.command("simulate")(simulate_season)
cli.command("serve")(serve)
cli.command("check")(check)
cli.command("worker")(worker)
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")
cli.add_typer(ledger_cli, name="ledger")
cli.add_typer(content_cli, name="content")
cli.add_typer(market_cli, name="market")
cli.add_typer(contest_cli, name="contest")
cli.add_typer(integrity_cli, name="integrity")
cli.add_typer(privacy_cli, name="privacy")
cli.add_typer(quiz_cli, name="quiz")
cli.add_typer(segments_cli, name="segments")
cli.add_typer(campaign_cli, name="campaign")
cli.add_typer(experiment_cli, name="experiment")
cli.add_typer(leagues_cli, name="leagues")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(webhooks_cli, name="webhooks")
cli.add_typer(analytics_cli, name="analytics")


def main() -> None:
    cli()
