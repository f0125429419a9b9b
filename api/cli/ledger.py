"""``paperleague ledger``: audit the points / XP / stock ledger and run its daily expiry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from api.cli.audit import record_cli_action
from api.cli.database import DatabaseUrl, at_head, settings
from ledger import services as ledger_services

ledger_cli = typer.Typer(help="The points / XP / stock ledger.", no_args_is_help=True)


@contextmanager
def _ledger(database_url: str | None) -> Iterator[ledger_services.LedgerUnitOfWork]:
    """The ledger of an existing database; refuses (exit 1) a schema that is not at head."""
    with at_head(settings(database_url)) as database:
        yield ledger_services.LedgerUnitOfWork(database.sessions)


@ledger_cli.command("verify")
def ledger_verify(database_url: DatabaseUrl = None) -> None:
    """Recompute the hash chain and every balance from the transfers; exit 1 on any mismatch."""
    with _ledger(database_url) as uow:
        report = ledger_services.verify(uow)
    if not report.ok:
        for error in report.errors:
            typer.echo(error)
        typer.echo(f"FAILED: {len(report.errors)} errors in {report.transfers} transfers")
        raise typer.Exit(1)
    typer.echo(f"ok: {report.transfers} transfers, head at seq {report.head_seq}")


@ledger_cli.command("seal-root")
def ledger_seal_root(database_url: DatabaseUrl = None) -> None:
    """Seal every shard chain's head into a new root (nothing when no head moved)."""
    with _ledger(database_url) as uow:
        root = ledger_services.seal_root(uow)
    if root is None:
        typer.echo("no shard head moved since the last root: nothing sealed")
        return
    typer.echo(f"root {root.id}: {root.root}")


@ledger_cli.command("trial-balance")
def ledger_trial_balance(database_url: DatabaseUrl = None) -> None:
    """Print posted and pending totals per asset (zero when sound); exit 1 if unbalanced."""
    with _ledger(database_url) as uow:
        trial = ledger_services.trial_balance(uow)
    for asset in sorted(trial.totals):
        typer.echo(f"{asset} posted {trial.totals[asset]} pending {trial.pending_totals[asset]}")
    verdict = "balanced" if trial.balanced else "UNBALANCED"
    typer.echo(f"{verdict}: {len(trial.totals)} assets, {len(trial.accounts)} balances")
    if not trial.balanced:
        raise typer.Exit(1)


@ledger_cli.command("expire")
def ledger_expire(context: typer.Context, database_url: DatabaseUrl = None) -> None:
    """Release lapsed holds and expire points per the earning rules (run it daily)."""
    from ledger import engagement

    with _ledger(database_url) as uow:
        report = engagement.expire_due(uow)
        if report.holds or report.expired:
            after = {"holds_released": len(report.holds), "members_expired": len(report.expired)}
            record_cli_action(
                context, uow.sessions, action="ledger.expire", subject="ledger", after=after
            )
    typer.echo(f"released {len(report.holds)} lapsed holds")
    typer.echo(
        "points never expire (no points_expiry_days in the earning rules)"
        if report.days is None
        else f"expired {report.points_expired} points from {len(report.expired)} members"
    )
