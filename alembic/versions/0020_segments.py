"""segments: onboarding answers, behavioural tags, segment definitions, target_segment columns

Revision ID: 0020
Revises: 0023
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0020"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TARGETED = ("contests", "quizzes", "ledger_reward_items")


def upgrade() -> None:
    op.create_table(
        "member_onboarding",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("questionnaire_version", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("submitted_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_member_onboarding_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_member_onboarding")),
    )
    op.create_table(
        "member_tags",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("since", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("computed_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_member_tags_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "tag", name=op.f("pk_member_tags")),
    )
    with op.batch_alter_table("member_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_tags_tag"), ["tag"], unique=False)
    op.create_table(
        "segments",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_segments_created_by_users")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_segments")),
    )
    for table in TARGETED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("target_segment", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in reversed(TARGETED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("target_segment")
    op.drop_table("segments")
    with op.batch_alter_table("member_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_tags_tag"))
    op.drop_table("member_tags")
    op.drop_table("member_onboarding")
