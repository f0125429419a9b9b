"""``paperleague user``: user accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.audit import record_cli_action
from api.cli.database import DatabaseUrl, connect, settings
from core import migrations
from core.errors import DomainError
from core.users import services
from core.users.model import Role

user_cli = typer.Typer(help="User accounts.", no_args_is_help=True)


@user_cli.command("create")
def user_create(
    context: typer.Context,
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[list[Role], typer.Option(help="Role to grant; repeat for several.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Prompted for when omitted.",
        ),
    ],
    display_name: Annotated[str | None, typer.Option(help="Shown name.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user (e.g. an operator) with the given roles."""
    database = connect(settings(database_url))
    migrations.upgrade(database.engine)
    try:
        user = services.create_user(
            services.UsersUnitOfWork(database.sessions),
            username=username,
            password=password,
            display_name=display_name,
            roles=role,
        )
    except DomainError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
    after = {"id": user.id, "roles": sorted(user.roles), "is_active": user.is_active}
    subject = f"user:{user.id}"
    record_cli_action(
        context, database.sessions, action="user.create", subject=subject, after=after
    )
    roles = ",".join(sorted(user.roles))
    typer.echo(f"created user {user.id} {user.username} roles={roles}")
