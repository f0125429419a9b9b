"""Isolated test databases: one migrated template per session, cloned for every test.

SQLite clones are file copies; PostgreSQL clones are ``CREATE DATABASE … TEMPLATE``, made
one test ahead and dropped in the background (see ``PostgresDatabases``). The
PostgreSQL server comes from ``PAPERLEAGUE_TEST_POSTGRES_URL``; when it cannot be reached,
PostgreSQL cases are skipped with the reason, unless ``REQUIRE_POSTGRES=1`` (set by CI), in
which case the run stops with an error.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from core import migrations
from core.db import make_engine, postgres_admin_connection

POSTGRES_URL = os.environ.get(
    "PAPERLEAGUE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


@cache
def postgres_unavailable_reason() -> str | None:
    """Why PostgreSQL cannot be used, or ``None`` when it can."""
    try:
        with _admin_connection():
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {_safe(POSTGRES_URL)}: {exc}".strip()


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _admin_connection() -> psycopg.Connection:
    return postgres_admin_connection(POSTGRES_URL)  # type: ignore[no-any-return]


def _postgres_url(dbname: str) -> str:
    return make_url(POSTGRES_URL).set(database=dbname).render_as_string(hide_password=False)


class SqliteDatabases:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._template: Path | None = None

    def empty(self) -> str:
        return f"sqlite:///{self.root / f'{uuid.uuid4().hex}.db'}"

    def migrated(self) -> str:
        if self._template is None:
            url = self.empty()
            engine = make_engine(url)
            migrations.upgrade(engine)
            engine.dispose()  # checkpoints the WAL into the main file
            self._template = Path(make_url(url).database or "")
        clone = self.root / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self._template, clone)
        return f"sqlite:///{clone}"

    def drop(self, url: str) -> None:
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresDatabases:
    """Clones of one migrated template, made one test ahead and dropped behind the tests.

    Every ``DROP DATABASE`` forces a checkpoint and waits for it: about half a second alone, and
    over a second when another worker is writing, which made dropping the largest cost of a
    PostgreSQL case. Drops run on a few background connections instead, where concurrent drops
    share their checkpoints; the next clone is created while the current test runs. A test still
    gets a database nobody else has touched, and ``close`` waits for every drop.
    """

    DROPPERS = 4  # concurrent drops share a checkpoint; few enough to spare the server's slots

    def __init__(self) -> None:
        self._prefix = f"pl_test_{uuid.uuid4().hex[:10]}"
        self._template: str | None = None
        self._created: set[str] = set()
        self._lock = threading.Lock()
        self._cloner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-test-clone")
        self._droppers = ThreadPoolExecutor(
            max_workers=self.DROPPERS, thread_name_prefix="pg-test-drop"
        )
        self._next_clone: Future[str] | None = None

    def empty(self) -> str:
        return _postgres_url(self._create())

    def migrated(self) -> str:
        if self._template is None:
            name = self._create(suffix="template")
            engine = make_engine(_postgres_url(name))
            migrations.upgrade(engine)
            engine.dispose()  # a template must have no open connections
            self._template = name
        clone = self._next_clone.result() if self._next_clone else self._clone()
        self._next_clone = self._cloner.submit(self._clone)
        return _postgres_url(clone)

    def drop(self, url: str) -> None:
        """Drops the database in the background (``close`` waits for it)."""
        name = make_url(url).database
        if name:
            self._droppers.submit(self._drop, name)

    def close(self) -> None:
        self._cloner.shutdown(wait=True)
        self._droppers.shutdown(wait=True)
        with self._lock:
            left = sorted(self._created)
        for name in left:
            self._drop(name)

    def _clone(self) -> str:
        assert self._template is not None
        return self._create(template=self._template)

    def _create(self, *, suffix: str | None = None, template: str | None = None) -> str:
        name = f"{self._prefix}_{suffix or uuid.uuid4().hex[:12]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with _admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        with self._lock:
            self._created.add(name)
        return name

    def _drop(self, name: str) -> None:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        with self._lock:
            self._created.discard(name)
