"""Migration 0009 on a database with users: nothing referencing them is lost, every user gets a
token stamp, and on SQLite the rebuilt table never reuses an id."""

from __future__ import annotations

from sqlalchemy import text

from core import migrations
from core.db import make_engine


def test_0009_keeps_users_and_their_references_and_stops_id_reuse(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrations.upgrade(engine, "0007")
        ids = []
        with engine.begin() as connection:
            for name in ("first", "second"):
                user_id = connection.execute(
                    text(
                        "INSERT INTO users (username, display_name, password_hash, "
                        "is_active, created_at) VALUES (:name, :name, 'x', true, "
                        "CURRENT_TIMESTAMP) RETURNING id"
                    ),
                    {"name": name},
                ).scalar_one()
                ids.append(user_id)
                connection.execute(
                    text(
                        "INSERT INTO user_roles (user_id, role, granted_at) "
                        "VALUES (:id, 'member', CURRENT_TIMESTAMP)"
                    ),
                    {"id": user_id},
                )
        migrations.upgrade(engine)
        with engine.begin() as connection:
            roles = connection.execute(text("SELECT user_id FROM user_roles ORDER BY 1")).all()
            assert [r[0] for r in roles] == ids  # the table rebuild cascaded to nothing
            stamps = connection.execute(text("SELECT token_stamp FROM users")).scalars().all()
            assert len(set(stamps)) == 2 and all(len(s) >= 16 for s in stamps)
            last = {"id": ids[-1]}
            connection.execute(text("DELETE FROM user_roles WHERE user_id = :id"), last)
            connection.execute(text("DELETE FROM users WHERE id = :id"), last)
            new_id = connection.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, is_active, "
                    "created_at, token_stamp) VALUES ('third', 'third', 'x', true, "
                    "CURRENT_TIMESTAMP, 'stamp') RETURNING id"
                )
            ).scalar_one()
            assert new_id > ids[-1]
    finally:
        engine.dispose()
