"""How every ``paperleague`` command opens the database: settings, ``--database-url``, and the
check that an existing database's schema is at head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError

from core import migrations
from core.config import Settings, get_settings
from core.db import Database

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Overrides PAPERLEAGUE_DATABASE_URL.", show_default=False),
]


def settings(database_url: str | None = None) -> Settings:
    """The environment's settings, with ``database_url`` in place of its own when given; a bad
    setting is a usage error (exit 2)."""
    try:
        found = get_settings()
        if database_url:
            found = Settings(**(found.model_dump() | {"database_url": database_url}))
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return found


def connect(found: Settings) -> Database:
    """The database of ``found``, not yet migrated; the caller disposes of it."""
    return Database.connect(found.database_url, sqlite_busy_timeout_ms=found.sqlite_busy_timeout_ms)


@contextmanager
def at_head(found: Settings) -> Iterator[Database]:
    """The existing database of ``found``, disposed of afterwards; refuses (exit 1) a schema that
    is not at head, so no command writes through an old schema."""
    database = connect(found)
    try:
        current, head = migrations.current_revision(database.engine), migrations.head_revision()
        if current != head:
            typer.echo(f"error: schema at {current}, head is {head}: run `paperleague db upgrade`")
            raise typer.Exit(1)
        yield database
    finally:
        database.dispose()
