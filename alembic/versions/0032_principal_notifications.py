"""principal_notifications: PostgreSQL triggers that announce changes to authenticated users

Every write to ``users``, ``user_roles``, ``consent_records`` or ``consent_documents``, by
whatever path (the ORM, bulk SQL, an erasure, psql), does ``pg_notify('paperleague_users',
<user id>)`` in its transaction (an empty payload for a new consent document: every user), so
each process's cache of authenticated users drops the entry as the change commits
(core.users.principals). A bump of ``page_cache_revisions`` announces the scope's new revision
on ``paperleague_boards`` (core.page_cache). SQLite has no other process to tell: nothing.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the notification's payload from the changed row ``r``)
USER_TABLES = (
    ("users", "r.id::text"),
    ("user_roles", "r.user_id::text"),
    ("consent_records", "r.user_id::text"),
    ("consent_documents", "''"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, payload in USER_TABLES:
        op.execute(
            f"""
            CREATE FUNCTION notify_{table}_changed() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE r RECORD;
            BEGIN
                IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
                PERFORM pg_notify('paperleague_users', {payload});
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION notify_{table}_changed()"
        )
    op.execute(
        """
        CREATE FUNCTION notify_board_revision() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('paperleague_boards', NEW.revision::text || ' ' || NEW.scope);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER page_cache_revisions_notify AFTER INSERT OR UPDATE "
        "ON page_cache_revisions FOR EACH ROW EXECUTE FUNCTION notify_board_revision()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER page_cache_revisions_notify ON page_cache_revisions")
    op.execute("DROP FUNCTION notify_board_revision()")
    for table, _ in reversed(USER_TABLES):
        op.execute(f"DROP TRIGGER {table}_notify ON {table}")
        op.execute(f"DROP FUNCTION notify_{table}_changed()")
