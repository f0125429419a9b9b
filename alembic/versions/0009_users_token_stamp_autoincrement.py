"""users: ids never reused (SQLite AUTOINCREMENT), token stamps; failed sign-ins

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 12:00:00.000000

SQLite reuses the largest rowid once its row is deleted, so a deleted user's id (and the tokens
naming it) went to the next sign-up; AUTOINCREMENT needs a rebuild of the table (batch mode,
run by core.migrations with foreign keys off, so the rebuild cascades to nothing).
PostgreSQL sequences never reuse ids. Every user gets a random token stamp: tokens issued
before this revision carry none and stop working (members sign in again).
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('token_stamp', sa.String(length=32), nullable=True))
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('token_stamp', sa.String()))
    bind = op.get_bind()
    for (user_id,) in bind.execute(sa.select(users.c.id)).all():
        bind.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(token_stamp=secrets.token_urlsafe(16))
        )
    with op.batch_alter_table(
        'users', recreate='always' if bind.dialect.name == 'sqlite' else 'auto',
        table_kwargs={'sqlite_autoincrement': True},
    ) as batch_op:
        batch_op.alter_column('token_stamp', existing_type=sa.String(length=32), nullable=False)
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failed_at', core.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    op.create_index('ix_sign_in_failures_failed_at', 'sign_in_failures', ['failed_at'], unique=False)
    op.create_index('ix_sign_in_failures_key_failed_at', 'sign_in_failures', ['key', 'failed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sign_in_failures_key_failed_at', table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_failed_at', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
    bind = op.get_bind()
    with op.batch_alter_table(
        'users', recreate='always' if bind.dialect.name == 'sqlite' else 'auto',
        table_kwargs={'sqlite_autoincrement': False},
    ) as batch_op:
        batch_op.drop_column('token_stamp')
