"""One person, one entry: member sign-in signals, person links, integrity review cases

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-03 12:00:00

- ``member_signals``: address, device id and user-agent hash of each sign-up and login.
- ``person_links``: accounts an operator decided belong to one person.
- ``integrity_cases`` and ``integrity_case_members``: the review queue.

Every user-keyed row cascades with its user, so erasing a member is a delete.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db import UtcDateTime

revision: str = "0014"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_signals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("user_agent_hash", sa.String(length=64), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('sign_up', 'login')", name=op.f("ck_member_signals_known_kind")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_member_signals_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_signals")),
    )
    op.create_index("ix_member_signals_at", "member_signals", ["at"], unique=False)
    op.create_index("ix_member_signals_user_id", "member_signals", ["user_id", "at"], unique=False)
    op.create_table(
        "person_links",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("linked_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_person_links_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_person_links")),
    )
    op.create_index(op.f("ix_person_links_person_id"), "person_links", ["person_id"], unique=False)
    op.create_table(
        "integrity_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("group_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("contest_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('shared_signal', 'mirrored', 'opposite')",
            name=op.f("ck_integrity_cases_known_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'same_person', 'distinct')",
            name=op.f("ck_integrity_cases_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["contest_id"], ["contests.id"], name=op.f("fk_integrity_cases_contest_id_contests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_cases")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_integrity_cases_fingerprint")),
    )
    op.create_index(
        "ix_integrity_cases_group_key", "integrity_cases", ["group_key", "status"], unique=False
    )
    op.create_table(
        "integrity_case_members",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["integrity_cases.id"],
            name=op.f("fk_integrity_case_members_case_id_integrity_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_integrity_case_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_integrity_case_members")),
    )
    op.create_index(
        op.f("ix_integrity_case_members_user_id"),
        "integrity_case_members",
        ["user_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("integrity_case_members")
    op.drop_table("integrity_cases")
    op.drop_table("person_links")
    op.drop_table("member_signals")
