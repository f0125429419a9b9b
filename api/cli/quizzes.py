"""``paperleague quiz``: settle a closed quiz by hand or from cron (the scheduler later)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.database import DatabaseUrl, at_head, settings
from core.errors import DomainError
from ledger.quizzes import services as quizzes
from ledger.quizzes.uow import QuizUnitOfWork

quiz_cli = typer.Typer(help="Quiz competitions: settlement.", no_args_is_help=True)


@quiz_cli.command("settle")
def settle(
    quiz_id: Annotated[int, typer.Argument(help="A closed quiz.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Pay the quiz's reward tiers into the ledger (safe to rerun: each prize is paid once)."""
    with at_head(settings(database_url)) as database:
        try:
            report = quizzes.settle_quiz(QuizUnitOfWork(database.sessions), quiz_id)
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(
        f"quiz {quiz_id}: {len(report.prizes)} prizes; "
        f"paid now {report.paid_now}, already paid {report.already_paid}"
    )
    for award_id, rule in report.refused:
        typer.echo(f"refused: {award_id} ({rule})", err=True)
    if report.settled_at is None:
        typer.echo("not settled yet: rerun once the refusals are resolved", err=True)
