"""``paperleague leagues``: open this week's cohorts and close ended weeks, by hand or from
cron (each is safe to rerun: a week opens once and pays each reward once)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.database import DatabaseUrl, at_head, settings
from core.errors import DomainError
from engine.leagues import services as leagues
from engine.leagues.services import WeekClosing
from engine.leagues.uow import LeagueUnitOfWork

leagues_cli = typer.Typer(help="Weekly leagues: open and close weeks.", no_args_is_help=True)


@leagues_cli.command("open-week")
def open_week(database_url: DatabaseUrl = None) -> None:
    """Open the current week and form its cohorts (answers the week if it is open already)."""
    with at_head(settings(database_url)) as database:
        try:
            week = leagues.open_week(LeagueUnitOfWork(database.sessions))
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(
        f"week {week.id} ({week.starts_at:%Y-%m-%d} … {week.ends_at:%Y-%m-%d}): "
        f"{week.members} members in {week.cohorts} cohorts"
    )


@leagues_cli.command("close-week")
def close_week(
    week_id: Annotated[
        int | None, typer.Argument(help="A week that has ended; every ended week when left out.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rank, promote, demote and pay an ended week (safe to rerun: each reward is paid once)."""
    with at_head(settings(database_url)) as database:
        uow = LeagueUnitOfWork(database.sessions)
        try:
            closings = (
                leagues.close_ended_weeks(uow)
                if week_id is None
                else [leagues.close_week(uow, week_id)]
            )
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
    if not closings:
        typer.echo("no ended week is left to close")
    for closing in closings:
        _report(closing)


def _report(closing: WeekClosing) -> None:
    moved = ", ".join(
        f"tier {m.tier}: +{m.promoted} ={m.stayed} -{m.demoted}" for m in closing.movements
    )
    typer.echo(
        f"week {closing.week_id}: {len(closing.payouts)} rewards; paid now {closing.paid_now}, "
        f"already paid {closing.already_paid}; {moved or 'nobody ranked'}"
    )
    for award_id, rule in closing.refused:
        typer.echo(f"refused: {award_id} ({rule})", err=True)
    if closing.closed_at is None:
        typer.echo("not closed yet: rerun once the refusals are resolved", err=True)
