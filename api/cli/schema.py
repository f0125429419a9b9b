"""``paperleague db``: the database schema (Alembic)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.database import DatabaseUrl, connect, settings
from core import migrations

db_cli = typer.Typer(help="Database schema (Alembic).", no_args_is_help=True)


@db_cli.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    database_url: DatabaseUrl = None,
) -> None:
    """Upgrade the schema (to head by default)."""
    database = connect(settings(database_url))
    migrations.upgrade(database.engine, revision)
    typer.echo(f"schema at {migrations.current_revision(database.engine)}")


@db_cli.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Downgrade the schema to REVISION."""
    database = connect(settings(database_url))
    migrations.downgrade(database.engine, revision)
    typer.echo(f"schema at {migrations.current_revision(database.engine)}")


@db_cli.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Print the schema's revision and whether it is at head."""
    database = connect(settings(database_url))
    current, head = migrations.current_revision(database.engine), migrations.head_revision()
    typer.echo(f"current {current} head {head}" + ("" if current == head else " (behind)"))
