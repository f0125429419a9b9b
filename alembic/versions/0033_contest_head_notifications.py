"""contest_head_notifications: a PostgreSQL trigger that announces a contest's new head

A change to what a leaderboard read needs of a contest (its committed tick ``clock_ticks``, its
day ``clock_day``, its ``invite_code``) or the contest's deletion, by whatever path (the
clock's tick, bulk SQL, psql), does ``pg_notify('paperleague_contests', <contest id>)`` in its
transaction, so each process's kept contest heads (engine.contests.contest_heads) drop the
contest as the change commits. SQLite has no other process to tell: nothing.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION notify_contest_head_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE'
               OR (OLD.clock_ticks, OLD.clock_day, OLD.invite_code)
                  IS DISTINCT FROM (NEW.clock_ticks, NEW.clock_day, NEW.invite_code) THEN
                PERFORM pg_notify('paperleague_contests', OLD.id::text);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER contests_head_notify AFTER UPDATE OR DELETE ON contests "
        "FOR EACH ROW EXECUTE FUNCTION notify_contest_head_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER contests_head_notify ON contests")
    op.execute("DROP FUNCTION notify_contest_head_changed()")
