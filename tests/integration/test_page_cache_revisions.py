"""The two-level page cache takes its revisions from the bumps' notifications
(core.page_cache.NotifiedRevisions, migration 0032): two workers on one PostgreSQL database, a
bump by one reaches the other as its notification is delivered, and the revision is then read
without asking the database while the listener listens, and from it (as before) while the
listener is down."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event, text

from core.db import Database
from core.db_notifications import LISTENER_NAME, listener_of
from core.page_cache import InProcessPageCache, TwoLevelPageCache
from core.page_cache_postgres import PostgresPageCache

pytestmark = pytest.mark.postgres_only
GENEROUS = 20.0


class Holder:
    """What keeps the listener running (an app, in the service)."""


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GENEROUS
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


@pytest.fixture
def workers(pg_url: str) -> Iterator[tuple[Database, Database]]:
    one, two = Database.connect(pg_url), Database.connect(pg_url)
    yield one, two
    one.dispose()
    two.dispose()


def _statements(database: Database) -> list[str]:
    seen: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_bump_in_one_worker_is_the_next_revision_read_in_the_other_without_a_query(
    workers: tuple[Database, Database],
) -> None:
    one, two = workers
    writer = TwoLevelPageCache(InProcessPageCache(), PostgresPageCache(one.engine))
    reader = TwoLevelPageCache(InProcessPageCache(), PostgresPageCache(two.engine))
    holder = Holder()
    reader.revisions.attach(two, holder)
    try:
        _wait_for(lambda: reader.revisions.known("s") is None and _listening(two), "no listener")
        asked = _statements(two)
        assert reader.revision("s") == 0  # not heard of yet: read once
        assert len(asked) == 1
        assert reader.revision("s") == 0  # then known
        assert len(asked) == 1
        for expected in (1, 2, 3):
            assert writer.bump("s") == expected
            _delivered(reader, "s", expected)
            assert reader.revision("s") == expected
        reader.put_many([("k", b"3\nrows")])
        assert reader.get_many("s", ["k"]) == (3, [b"3\nrows"])
        reads = [q for q in asked if q.lstrip().startswith("SELECT")]
        assert len(reads) == 1  # every revision and value since came without a read
    finally:
        reader.revisions.detach(two, holder)


def test_while_the_listener_is_down_the_revision_is_read_from_the_database(
    workers: tuple[Database, Database],
) -> None:
    one, two = workers
    writer = TwoLevelPageCache(InProcessPageCache(), PostgresPageCache(one.engine))
    reader = TwoLevelPageCache(InProcessPageCache(), PostgresPageCache(two.engine))
    holder = Holder()
    reader.revisions.attach(two, holder)
    try:
        _wait_for(lambda: _listening(two), "no listener")
        reader.revision("s")
        assert reader.revisions.known("s") == 0
        listener = listener_of(two)
        assert listener is not None
        connects = listener.connects
        with one.engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": LISTENER_NAME},
            )
        _wait_for(lambda: reader.revisions.known("s") is None, "still trusted")
        assert writer.bump("s") == 1  # sent while nobody listens: lost
        assert reader.revision("s") == 1  # read
        _wait_for(lambda: listener.connects > connects and _listening(two), "no reconnect")
        assert reader.revisions.known("s") is None  # forgotten on reconnect
        assert reader.revision("s") == 1
        assert writer.bump("s") == 2
        _delivered(reader, "s", 2)
        assert reader.revision("s") == 2
    finally:
        reader.revisions.detach(two, holder)


def _delivered(cache: TwoLevelPageCache, scope: str, revision: int) -> None:
    """PostgreSQL hands a notification to the listening connections as the notifying commit
    returns, not before: the listener has it a moment later (no statement is run to wait)."""
    _wait_for(lambda: cache.revisions.known(scope) == revision, f"revision {revision} unheard")


def _listening(database: Database) -> bool:
    listener = listener_of(database)
    return listener is not None and listener.settled()
