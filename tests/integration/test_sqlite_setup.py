"""SQLite is configured for real use: foreign keys, WAL, busy timeout, BEGIN IMMEDIATE writes."""

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.uow import UnitOfWork


@pytest.fixture
def sqlite_db(sqlite_databases) -> Database:  # type: ignore[no-untyped-def]
    database = Database.connect(sqlite_databases.migrated(), sqlite_busy_timeout_ms=5_000)
    yield database
    database.dispose()


def test_pragmas(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 5_000


def test_foreign_keys_are_enforced(sqlite_db: Database) -> None:
    with UnitOfWork(sqlite_db.sessions) as uow, pytest.raises(IntegrityError):
        uow.session.execute(
            text(
                "INSERT INTO user_roles (user_id, role, granted_at) "
                "VALUES (999, 'member', '2026-01-01')"
            )
        )


def test_write_transactions_take_the_write_lock_up_front(sqlite_db: Database) -> None:
    """A second writer waits at BEGIN (IMMEDIATE) while the first holds its transaction."""
    first_has_lock = threading.Event()
    order: list[str] = []

    def first_writer() -> None:
        with UnitOfWork(sqlite_db.sessions) as uow:
            first_has_lock.set()
            time.sleep(0.5)
            order.append("first commits")
            uow.commit()

    thread = threading.Thread(target=first_writer)
    thread.start()
    first_has_lock.wait()
    with UnitOfWork(sqlite_db.sessions) as uow:  # blocks until the first commits
        order.append("second begins")
        uow.commit()
    thread.join()
    assert order == ["first commits", "second begins"]


def test_readers_do_not_wait_for_writers(sqlite_db: Database) -> None:
    with UnitOfWork(sqlite_db.sessions):
        started = time.monotonic()
        with UnitOfWork(sqlite_db.sessions).reading() as reader:
            reader.session.execute(text("SELECT count(*) FROM users")).scalar()
        assert time.monotonic() - started < 2  # far below the 5 s busy timeout
