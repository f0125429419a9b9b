"""member_events broadcasts: a contest's events (nullable user_id, contest_id) and the minute
live rankings they point at

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table(
        "member_events", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.add_column(sa.Column("contest_id", sa.Integer(), nullable=True))
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            op.f("fk_member_events_contest_id_contests"), "contests", ["contest_id"], ["id"]
        )
        batch.create_index("ix_member_events_contest_id_id", ["contest_id", "id"], unique=False)
    op.create_table(
        "live_rankings",
        sa.Column("contest_id", sa.Integer(), nullable=False),
        sa.Column("bar_start", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("member_ids", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contest_id"], ["contests.id"], name=op.f("fk_live_rankings_contest_id_contests")
        ),
        sa.PrimaryKeyConstraint("contest_id", "bar_start", name=op.f("pk_live_rankings")),
    )


def downgrade() -> None:
    op.drop_table("live_rankings")
    op.execute("DELETE FROM member_events WHERE user_id IS NULL")
    with op.batch_alter_table(
        "member_events", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_index("ix_member_events_contest_id_id")
        batch.drop_constraint(op.f("fk_member_events_contest_id_contests"), type_="foreignkey")
        batch.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("contest_id")
