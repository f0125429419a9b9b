"""``paperleague privacy``: a member's data export and erasure (PIPL), for operators."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api import privacy
from api.cli.database import DatabaseUrl, at_head, settings
from core.db import Database
from core.errors import DomainError
from core.page_cache import page_cache_for
from core.privacy.services import PrivacyUnitOfWork
from core.users import services as users
from core.users.model import Role, User

privacy_cli = typer.Typer(help="Member data rights: export and erasure.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(help="The member's username or numeric id.")]


def _user(database: Database, name_or_id: str) -> User:
    uow = users.UsersUnitOfWork(database.sessions)
    found = (
        users.get_user(uow, int(name_or_id))
        if name_or_id.isdigit()
        else users.find_by_username(uow, name_or_id)
    )
    if found is None:
        typer.echo(f"error: no user {name_or_id!r}", err=True)
        raise typer.Exit(1)
    return found


@privacy_cli.command("export")
def privacy_export(
    user: UserArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write everything stored about a member as JSON."""
    with at_head(settings(database_url)) as database:
        try:
            member = _user(database, user)
            name, body = privacy.export_file(PrivacyUnitOfWork(database.sessions), member.id)
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
    if out is None:
        typer.echo(body.decode())
        return
    out.write_bytes(body)
    typer.echo(f"wrote {name} ({len(body)} bytes) to {out}", err=True)


@privacy_cli.command("erase")
def privacy_erase(
    user: UserArg,
    reason: Annotated[str, typer.Option(help="Why (kept on record), e.g. the request id.")],
    operator: Annotated[str, typer.Option(help="The operator executing it (username or id).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Erase a member: personal data deleted, the account pseudonymised, the ledger kept."""
    configured = settings(database_url)
    with at_head(configured) as database:
        try:
            executor = _user(database, operator)
            if not executor.has_any(Role.OPERATOR):
                typer.echo(f"error: {executor.username} is not an operator", err=True)
                raise typer.Exit(1)
            member = _user(database, user)
            outcome = privacy.erase(
                PrivacyUnitOfWork(database.sessions),
                member.id,
                operator_id=executor.id,
                reason=reason,
                pages=page_cache_for(configured),
            )
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc
    changed = ", ".join(f"{t}={n}" for t, n in sorted(outcome.changed.items()) if n)
    verb = "already erased" if outcome.already_erased else "erased"
    typer.echo(f"{verb} user {outcome.user_id} as {outcome.pseudonym} ({changed or 'no rows'})")
