"""member_events: a member's own event feed (order fills and statuses) for the live stream

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'member_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('created_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_member_events_user_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_events')),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_member_events_user_id_id', 'member_events', ['user_id', 'id'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_member_events_user_id_id', table_name='member_events')
    op.drop_table('member_events')
