"""audit log: append-only hash-chained operator actions, chain head, retention cutoff

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-03 12:00:00

Triggers, on both databases: ``audit_entries`` refuses every UPDATE, and every DELETE of a row
at or after ``audit_retention.kept_from`` (the retention purge advances it first); TRUNCATE is
refused (PostgreSQL). ``audit_retention`` refuses DELETE and any UPDATE that moves
``kept_from`` back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

GENESIS_HASH = "0" * 64

revision: str = '0012'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_ENTRIES_FUNCTION = """
CREATE FUNCTION audit_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.seq < (SELECT kept_from FROM audit_retention WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
PG_RETENTION_FUNCTION = """
CREATE FUNCTION audit_retention_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.kept_from >= OLD.kept_from THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_retention only moves forward: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
# COALESCE: without the cutoff row nothing may be deleted.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    "WHEN OLD.seq >= COALESCE((SELECT kept_from FROM audit_retention WHERE id = 1), 0) "
    "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only: DELETE refused'); END",
    "CREATE TRIGGER audit_retention_no_delete BEFORE DELETE ON audit_retention "
    "BEGIN SELECT RAISE(ABORT, 'audit_retention only moves forward: DELETE refused'); END",
    "CREATE TRIGGER audit_retention_forward BEFORE UPDATE ON audit_retention "
    "WHEN NEW.id != OLD.id OR NEW.kept_from < OLD.kept_from "
    "BEGIN SELECT RAISE(ABORT, 'audit_retention only moves forward: UPDATE refused'); END",
)
SQLITE_TRIGGER_NAMES = (
    "audit_entries_no_update",
    "audit_entries_no_delete",
    "audit_retention_no_delete",
    "audit_retention_forward",
)


def _create_triggers() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
        return
    op.execute(PG_ENTRIES_FUNCTION)
    op.execute(PG_RETENTION_FUNCTION)
    op.execute(
        "CREATE TRIGGER audit_entries_guard BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_guard()"
    )
    op.execute(
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_guard()"
    )
    op.execute(
        "CREATE TRIGGER audit_retention_guard BEFORE UPDATE OR DELETE ON audit_retention "
        "FOR EACH ROW EXECUTE FUNCTION audit_retention_guard()"
    )
    op.execute(
        "CREATE TRIGGER audit_retention_no_truncate BEFORE TRUNCATE ON audit_retention "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_retention_guard()"
    )


def _drop_triggers() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_entries_guard ON audit_entries")
    op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
    op.execute("DROP TRIGGER IF EXISTS audit_retention_guard ON audit_retention")
    op.execute("DROP TRIGGER IF EXISTS audit_retention_no_truncate ON audit_retention")
    op.execute("DROP FUNCTION IF EXISTS audit_entries_guard()")
    op.execute("DROP FUNCTION IF EXISTS audit_retention_guard()")


def upgrade() -> None:
    op.create_table('audit_entries',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_entries_actor', ['actor_id', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_action', ['action', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_subject', ['subject', 'seq'], unique=False)
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_retention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kept_from', sa.BigInteger(), nullable=False),
    sa.Column('anchor_hash', sa.String(length=64), nullable=False),
    sa.Column('purged_before', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('purged_at', core.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_retention_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_retention'))
    )
    head = sa.table("audit_head", sa.column("id"), sa.column("last_seq"), sa.column("last_hash"))
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}])
    retention = sa.table(
        "audit_retention", sa.column("id"), sa.column("kept_from"), sa.column("anchor_hash")
    )
    op.bulk_insert(retention, [{"id": 1, "kept_from": 1, "anchor_hash": GENESIS_HASH}])
    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    op.drop_table('audit_retention')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_subject')
        batch_op.drop_index('ix_audit_entries_action')
        batch_op.drop_index('ix_audit_entries_actor')
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))
    op.drop_table('audit_entries')
