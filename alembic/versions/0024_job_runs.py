"""job_runs: the claims of the scheduled jobs' windows (paperleague worker)

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-03 15:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = '0024'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'job_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job', sa.String(length=80), nullable=False),
        sa.Column('series', sa.String(length=120), nullable=False),
        sa.Column('bar', sa.String(length=40), nullable=False),
        sa.Column('due_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('worker', sa.String(length=120), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_at', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('lease_until', core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column('error', sa.String(length=1000), nullable=True),
        sa.CheckConstraint("status IN ('claimed', 'done', 'failed')", name=op.f('ck_job_runs_status')),
        sa.CheckConstraint('attempts >= 1', name=op.f('ck_job_runs_attempts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
        sa.UniqueConstraint('job', 'series', 'bar', name='uq_job_runs_job_series_bar'),
        sqlite_autoincrement=True,
    )
    op.create_index(
        'ix_job_runs_job_status_due_at', 'job_runs', ['job', 'status', 'due_at'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_job_runs_job_status_due_at', table_name='job_runs')
    op.drop_table('job_runs')
