"""Programmatic Alembic: upgrade, downgrade and "is the schema at head?" for a given engine.

Alembic owns the schema. Upgrades run under a lock (a PostgreSQL advisory lock, SQLite's
write lock) so several workers starting at once apply each migration exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from alembic import command
from core.db import SQLITE_BEGIN_OPTION

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_DIR = PROJECT_ROOT / "alembic"
# Any fixed 64-bit number; every PaperLeague process contends on the same one.
MIGRATION_LOCK_ID = 0x5041504552_4C4541


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine``'s database."""
    _run(engine, lambda config: command.upgrade(config, revision))


def downgrade(engine: Engine, revision: str = "base") -> None:
    _run(engine, lambda config: command.downgrade(config, revision))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def _run(engine: Engine, action: object) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    connection = engine.connect().execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    with connection, sqlite_foreign_keys_off(connection), connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        config.attributes["connection"] = connection
        action(config)  # type: ignore[operator]
        check_sqlite_foreign_keys(connection)


@contextmanager
def sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite's procedure for table rebuilds (batch migrations): foreign keys off around the
    transaction (a PRAGMA inside one is ignored), else dropping the old table cascades to every
    row that references it; ``check_sqlite_foreign_keys`` before the commit."""
    if connection.dialect.name != "sqlite":
        yield
        return
    raw = connection.connection.dbapi_connection  # no autobegin: the PRAGMA runs outside BEGIN
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def check_sqlite_foreign_keys(connection: Connection) -> None:
    """Refuse (roll back) a migration that left a dangling reference on SQLite."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
