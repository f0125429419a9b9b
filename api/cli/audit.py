"""``paperleague audit``: verify the operator audit log's hash chain, purge by retention; and
``record_cli_action``, with which the other commands that change state audit themselves."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from api.cli.database import DatabaseUrl, at_head, settings
from core.audit import services as audit_services
from core.audit.model import MIN_RETENTION_DAYS, AuditDraft, JsonValue, redacted
from core.errors import DomainError

audit_cli = typer.Typer(help="The operator audit log.", no_args_is_help=True)


@contextmanager
def _audit(database_url: str | None) -> Iterator[audit_services.AuditUnitOfWork]:
    """The audit log of an existing database; refuses (exit 1) a schema that is not at head."""
    with at_head(settings(database_url)) as database:
        yield audit_services.AuditUnitOfWork(database.sessions)


@audit_cli.command("verify")
def audit_verify(database_url: DatabaseUrl = None) -> None:
    """Recompute the audit chain from the retention anchor; exit 1 naming each bad entry."""
    with _audit(database_url) as uow:
        report = audit_services.verify_audit_chain(uow)
    if not report.ok:
        for problem in report.problems:
            typer.echo(str(problem))
        typer.echo(f"FAILED: {len(report.problems)} problems in {report.entries} entries")
        raise typer.Exit(1)
    typer.echo(
        f"ok: {report.entries} entries, seq {report.kept_from} to {report.head_seq} "
        "(earlier ones purged)"
        if report.kept_from > 1
        else f"ok: {report.entries} entries, head at seq {report.head_seq}"
    )


@audit_cli.command("purge")
def audit_purge(
    database_url: DatabaseUrl = None,
    retention_days: Annotated[
        int | None,
        typer.Option(
            help=f"Keep this many days (at least {MIN_RETENTION_DAYS}); default "
            "PAPERLEAGUE_AUDIT_RETENTION_DAYS.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Delete audit entries older than the retention; the chain stays verifiable."""
    found = settings(database_url)
    days = found.audit_retention_days if retention_days is None else retention_days
    with _audit(database_url) as uow:
        try:
            result = audit_services.purge(uow, retention_days=days)
        except DomainError as refusal:
            typer.echo(f"error: {refusal.detail}")
            raise typer.Exit(1) from None
    typer.echo(
        f"purged {result.deleted} entries made before {result.cutoff.isoformat()}; "
        f"the chain now starts at seq {result.kept_from}"
    )


def record_cli_action(
    context: typer.Context,
    sessions: sessionmaker[Session],
    *,
    action: str,
    subject: str,
    after: JsonValue = None,
) -> None:
    """Audit an operator action taken from the shell, after it committed: no user id (the
    shell has none), the command, its options (secrets redacted) and the OS user."""
    request = {
        "command": context.command_path,
        "params": redacted(_json_params(context.params)),
        "os_user": _os_user(),
    }
    draft = AuditDraft(None, action, subject, request=request, after=after)
    audit_services.record(audit_services.AuditUnitOfWork(sessions), draft)


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value if isinstance(value, str | int | float | bool | None) else str(value)
        for name, value in params.items()
    }


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a bare container)
        return None
