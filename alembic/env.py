"""Alembic environment: metadata and URL come from PaperLeague's own code."""

from __future__ import annotations

from sqlalchemy import Connection

from alembic import context
from api.http.metadata import metadata
from core.config import get_settings
from core.db import make_engine
from core.migrations import check_sqlite_foreign_keys, sqlite_foreign_keys_off


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    shared = context.config.attributes.get("connection")
    if shared is not None:  # called from core.migrations with an open connection
        run_migrations(shared)
        return
    url = context.config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection, sqlite_foreign_keys_off(connection):
        run_migrations(connection)
        check_sqlite_foreign_keys(connection)
        connection.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_online()
