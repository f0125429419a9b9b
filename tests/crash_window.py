"""The state a crash leaves between a route's commit and its stored response."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from api.http.store import PENDING, IdempotencyRow
from core.db import Database


def crash_after_commit(database: Database, user_id: int, key: str) -> None:
    """What a crash between a route's commit and its stored response leaves, once the dead
    holder's lock has lapsed: the key pending, no response."""
    with database.sessions() as session:
        session.execute(
            update(IdempotencyRow)
            .where(IdempotencyRow.user_id == user_id, IdempotencyRow.key == key)
            .values(
                status=PENDING,
                response_status=None,
                response_headers=None,
                response_body=None,
                locked_until=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
        session.commit()
