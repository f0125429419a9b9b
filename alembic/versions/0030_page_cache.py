"""page_cache: the leaderboard page cache shared through PostgreSQL when there is no Redis

UNLOGGED on PostgreSQL: a cache skips the WAL, and a crash (which empties UNLOGGED tables)
only costs recomputing pages (core.page_cache_postgres).

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-04 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0030"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "page_cache_entries",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_page_cache_entries")),
        prefixes=unlogged,
    )
    op.create_index(
        "ix_page_cache_entries_expires_at", "page_cache_entries", ["expires_at"], unique=False
    )
    op.create_table(
        "page_cache_revisions",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_page_cache_revisions")),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("page_cache_revisions")
    op.drop_index("ix_page_cache_entries_expires_at", table_name="page_cache_entries")
    op.drop_table("page_cache_entries")
